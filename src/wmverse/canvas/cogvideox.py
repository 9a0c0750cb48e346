"""Optional backbone: graft the canvas onto a frozen, pretrained CogVideoX transformer.

Canvas tokens ``(B, T, n, d)`` are projected into the video transformer's width, run
through its frozen blocks as if they were latent video patches (time = frames, canvas =
spatial patches), and projected back. Only the two projections, a learned time embedding
(the video blocks get no positions: the graft bypasses the patch embedding) and a learned
text-conditioning token are trainable. Requires ``diffusers`` and the weights already on
disk (``local_files_only``; a hub id in the local cache or a directory holding
``transformer/``); nothing is downloaded. Otherwise :class:`BackboneUnavailableError` says
what is missing. ``transformer=`` takes a ready ``CogVideoXTransformer3DModel`` instead.

Tested with a tiny randomly initialised CogVideoX transformer (built from a config, saved to
and loaded from a local directory, one training step on CPU); never with the pretrained
CogVideoX-2b weights, which no test here downloads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn


class BackboneUnavailableError(RuntimeError):
    """The requested pretrained backbone cannot be built offline."""


def _check_available(model_id: str) -> None:
    if importlib.util.find_spec("diffusers") is None:
        raise BackboneUnavailableError(
            "backbone='cogvideox' needs the 'diffusers' package (pip install diffusers) and the "
            f"{model_id} weights on disk; use backbone='canvas' otherwise"
        )
    if Path(model_id).is_dir():
        return
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(model_id, local_files_only=True, allow_patterns=["transformer/*"])
    except Exception as exc:  # huggingface_hub raises several types for "not cached"
        raise BackboneUnavailableError(
            f"CogVideoX weights {model_id!r} are not available locally ({type(exc).__name__}); download them "
            "beforehand or pass a local directory as pretrained_model_id"
        ) from None


class CogVideoXGraft(nn.Module):
    """Frozen CogVideoX transformer blocks between trainable in/out projections."""

    def __init__(
        self,
        d_model: int,
        pretrained_model_id: str = "THUDM/CogVideoX-2b",
        transformer: nn.Module | None = None,
        max_time: int = 64,
    ) -> None:
        super().__init__()
        if transformer is None:
            _check_available(pretrained_model_id)
            from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel

            transformer = CogVideoXTransformer3DModel.from_pretrained(
                pretrained_model_id, subfolder="transformer", local_files_only=True, torch_dtype=torch.float32
            )
        video = transformer
        video.requires_grad_(False)
        self.blocks = video.transformer_blocks
        width = video.config.num_attention_heads * video.config.attention_head_dim
        self.temb_dim = video.config.time_embed_dim
        self.time_embed = nn.Parameter(torch.randn(max_time, d_model) * 0.02)
        self.inp = nn.Linear(d_model, width)
        self.out = nn.Linear(width, d_model)
        proj = getattr(getattr(video, "patch_embed", None), "text_proj", None)
        self.text_proj = proj if proj is not None else nn.Identity()
        self.text_token = nn.Parameter(
            torch.zeros(1, 1, video.config.text_embed_dim if proj is not None else width)
        )

    def forward(self, tokens: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        b, t, n, d = tokens.shape
        x = self.inp((tokens + self.time_embed[:t, None, :]).reshape(b, t * n, d))
        enc = self.text_proj(self.text_token.expand(b, -1, -1))
        temb = torch.zeros(b, self.temb_dim, dtype=x.dtype)
        for blk in self.blocks:
            x, enc = blk(x, enc, temb)
        return self.out(x).view(b, t, n, d)
