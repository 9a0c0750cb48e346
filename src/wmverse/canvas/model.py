"""The canvas world model: per-field encoders/decoders with semantic field embeddings and a
transformer backbone over (time, canvas position) tokens.

Shapes: ``values``/``state`` are ``(B, T, n)`` where ``n`` positions are selected by
``field_ids`` (``(n,)`` canvas positions; all ``N`` when None). ``state`` says what each
position holds: 0 hidden (value ignored, a learned mask token instead), 1 observed clean
value, 2 noisy value (diffusion). ``semantic_type`` (``(B, n, SEMANTIC_TYPE_DIM)``, optional)
is the hashed ``semantic_type`` of the dataset column at each position (what a sample's
dataset says the number means); its projection is added to the position's identity, so the
same field fed by two datasets with different meanings (units, transforms) is told apart.
The model returns ``(B, T, n)`` predictions of the clean canvas.

The *shared regime latent* (``CanvasModelConfig.n_regime`` tokens) sits beside the field
positions at every time step: learned tokens that no dataset observes or supervises, read
and written by the field attention of every dataset's samples and carried through time by
the time attention. With zero field overlap between datasets, this is where their gradients
meet (the seed's "all datasets train the shared regime latent"). :meth:`CanvasWorldModel.regime`
returns its state for a window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wmverse.canvas.schema import BoundSchema, PeriodClass
from wmverse.canvas.semantics import SEMANTIC_TYPE_DIM, hash_texts

HIDDEN, OBSERVED, NOISY = 0, 1, 2


@dataclass
class CanvasModelConfig:
    """Size of the canvas world model."""

    d_model: int = 64
    """Width of every canvas token."""
    n_layers: int = 3
    """Transformer blocks."""
    n_heads: int = 4
    """Attention heads per block."""
    ff_mult: int = 4
    """Feed-forward width as a multiple of ``d_model``."""
    dropout: float = 0.1
    """Dropout in attention and feed-forward."""
    max_time: int = 64
    """Longest window the time embedding supports."""
    semantic_dim: int = 32
    """Size of the hashed bag-of-words description vector behind each field's semantic embedding."""
    persistence_skip: bool = True
    """Predict each position as its field's latest visible value (same or earlier step) plus a
    decoded correction, so the network learns changes rather than levels."""
    n_regime: int = 4
    """Tokens of the shared regime latent beside the canvas at every time step (0: none)."""
    semantic_type_embedding: bool = True
    """Add a projection of each sample's per-position ``semantic_type`` vector to the field identity."""


def semantic_vectors(bound: BoundSchema, dim: int) -> torch.Tensor:
    """(N, dim) fixed description vectors: signed hashing of the words of each field's path and
    description, L2-normalised. Fields with similar words get similar vectors, so the learned
    projection gives related fields related identities before any training."""
    return torch.from_numpy(hash_texts([f"{f.path} {f.description}" for f in bound.fields], dim))


class FieldEncoder(nn.Module):
    """Scalar value -> ``d_model`` token, per field, plus the field's identity.

    token = value * w_f + b_f (or a custom encoder for that field) for visible positions, a
    learned mask token for hidden ones, + semantic embedding (projected description vector
    + learned per-field vector) + period-class embedding + state embedding + the projected
    ``semantic_type`` of the sample's dataset at that position (when given).
    """

    def __init__(
        self, bound: BoundSchema, cfg: CanvasModelConfig, custom: Mapping[str, nn.Module] | None = None
    ) -> None:
        super().__init__()
        n, d = bound.n_fields, cfg.d_model
        self.weight = nn.Parameter(torch.randn(n, d) / math.sqrt(d))
        self.bias = nn.Parameter(torch.zeros(n, d))
        self.register_buffer("semantic", semantic_vectors(bound, cfg.semantic_dim), persistent=False)
        self.semantic_proj = nn.Linear(cfg.semantic_dim, d)
        self.field_embed = nn.Parameter(torch.zeros(n, d))
        periods = list(PeriodClass)
        self.register_buffer(
            "period_id", torch.tensor([periods.index(f.period) for f in bound.fields]), persistent=False
        )
        self.period_embed = nn.Embedding(len(periods), d)
        self.state_embed = nn.Embedding(3, d)
        self.mask_token = nn.Parameter(torch.zeros(d))
        self.custom = nn.ModuleDict({str(bound.position(p)): m for p, m in (custom or {}).items()})
        # zero-initialised (and drawing no random numbers): a model starts as if it had no semantic
        # types, and learns from them only what helps
        self.type_weight = (
            nn.Parameter(torch.zeros(SEMANTIC_TYPE_DIM, d)) if cfg.semantic_type_embedding else None
        )

    def identity(self, field_ids: torch.Tensor) -> torch.Tensor:
        """(n, d) field identity: semantic + learned + period embeddings."""
        return (
            self.semantic_proj(self.semantic[field_ids])
            + self.field_embed[field_ids]
            + self.period_embed(self.period_id[field_ids])
        )

    def forward(
        self,
        values: torch.Tensor,
        state: torch.Tensor,
        field_ids: torch.Tensor,
        semantic_type: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T, n) values and states (+ (B, n, SEMANTIC_TYPE_DIM) semantic types) -> (B, T, n, d) tokens."""
        tok = values.unsqueeze(-1) * self.weight[field_ids] + self.bias[field_ids]
        for key, module in self.custom.items():
            hit = (field_ids == int(key)).nonzero()
            if hit.numel():
                j = int(hit[0, 0])
                tok[..., j, :] = module(values[..., j : j + 1])
        visible = (state != HIDDEN).unsqueeze(-1)
        tok = torch.where(visible, tok, self.mask_token.expand_as(tok))
        tok = tok + self.identity(field_ids) + self.state_embed(state)
        if semantic_type is not None and self.type_weight is not None:
            tok = tok + (semantic_type @ self.type_weight).unsqueeze(1)
        return tok


class FieldDecoder(nn.Module):
    """``d_model`` token -> scalar, per field (or a custom decoder for that field)."""

    def __init__(
        self, bound: BoundSchema, cfg: CanvasModelConfig, custom: Mapping[str, nn.Module] | None = None
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(bound.n_fields, cfg.d_model) / math.sqrt(cfg.d_model))
        self.bias = nn.Parameter(torch.zeros(bound.n_fields))
        self.custom = nn.ModuleDict({str(bound.position(p)): m for p, m in (custom or {}).items()})

    def forward(self, tokens: torch.Tensor, field_ids: torch.Tensor) -> torch.Tensor:
        """(B, T, n, d) -> (B, T, n)."""
        out = (tokens * self.weight[field_ids]).sum(-1) + self.bias[field_ids]
        for key, module in self.custom.items():
            hit = (field_ids == int(key)).nonzero()
            if hit.numel():
                j = int(hit[0, 0])
                out = out.clone()
                out[..., j] = module(tokens[..., j, :]).squeeze(-1)
        return out


class _Attention(nn.Module):
    """Multi-head self-attention over the second-to-last axis of ``(S, L, d)`` (no attention dropout:
    the CPU kernels are several times faster without it)."""

    def __init__(self, d: int, n_heads: int) -> None:
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d_model {d} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, length, d = x.shape
        q, k, v = self.qkv(x).view(s, length, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v)
        return self.proj(att.transpose(1, 2).reshape(s, length, d))


class CanvasBlock(nn.Module):
    """Axial pre-norm block on ``(B, T, n, d)``: attention across canvas positions within each
    time step, then across time within each position, then a GELU MLP. Cost grows as
    ``T n^2 + n T^2`` instead of ``(T n)^2`` for full attention over all tokens."""

    def __init__(self, cfg: CanvasModelConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.norm_f, self.norm_t, self.norm_m = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.field_attn = _Attention(d, cfg.n_heads)
        self.time_attn = _Attention(d, cfg.n_heads)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.ff_mult * d), nn.GELU(), nn.Linear(cfg.ff_mult * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, n, d = x.shape
        x = x + self.drop(self.field_attn(self.norm_f(x).reshape(b * t, n, d))).view(b, t, n, d)
        xt = self.norm_t(x).transpose(1, 2).reshape(b * n, t, d)
        x = x + self.drop(self.time_attn(xt)).view(b, n, t, d).transpose(1, 2)
        return x + self.drop(self.mlp(self.norm_m(x)))


class CanvasBackbone(nn.Module):
    """Transformer over canvas positions and time: adds a time embedding, applies axial blocks,
    returns tokens of the same shape ``(B, T, n, d)``."""

    def __init__(self, cfg: CanvasModelConfig) -> None:
        super().__init__()
        self.time_embed = nn.Parameter(torch.randn(cfg.max_time, cfg.d_model) * 0.02)
        self.blocks = nn.ModuleList(CanvasBlock(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, tokens: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """``cond`` (B, d), e.g. a diffusion-step embedding, is added to every token."""
        t = tokens.shape[1]
        if t > self.time_embed.shape[0]:
            raise ValueError(f"window {t} exceeds max_time {self.time_embed.shape[0]}")
        x = tokens + self.time_embed[:t, None, :]
        if cond is not None:
            x = x + cond[:, None, None, :]
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


def last_visible(values: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """(B, T, n): for each step the field's most recent visible value at that or an earlier step (0 if none)."""
    t = values.shape[1]
    steps = torch.arange(t).view(1, t, 1).expand_as(values)
    idx = torch.where(visible, steps, torch.full_like(steps, -1)).cummax(dim=1).values
    filled = values.gather(1, idx.clamp_min(0))
    return torch.where(idx >= 0, filled, torch.zeros_like(filled))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (B,) diffusion times in [0, 1] -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    ang = t.float()[:, None] * 1000.0 * freqs[None]
    return torch.cat([ang.sin(), ang.cos()], dim=1)


class CanvasWorldModel(nn.Module):
    """Encoder + backbone + decoder on one bound schema, with the shared regime latent; predicts the
    clean canvas."""

    def __init__(
        self,
        bound: BoundSchema,
        cfg: CanvasModelConfig | None = None,
        seed: int = 0,
        backbone: nn.Module | None = None,
        custom_encoders: Mapping[str, nn.Module] | None = None,
        custom_decoders: Mapping[str, nn.Module] | None = None,
    ) -> None:
        """``seed`` fixes the initial weights (a local generator; global RNG state is restored)."""
        super().__init__()
        self.bound, self.cfg = bound, cfg or CanvasModelConfig()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.encoder = FieldEncoder(bound, self.cfg, custom_encoders)
            self.backbone = backbone if backbone is not None else CanvasBackbone(self.cfg)
            self.decoder = FieldDecoder(bound, self.cfg, custom_decoders)
            d = self.cfg.d_model
            self.noise_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
            self.regime_tokens = nn.Parameter(torch.randn(self.cfg.n_regime, d) * 0.02)

    def _hidden(self, values, state, field_ids, noise_level, semantic_type) -> torch.Tensor:
        """Backbone output ``(B, T, n + n_regime, d)``: the field positions, then the regime latent."""
        tokens = self.encoder(values, state.long(), field_ids, semantic_type)
        b, t, _, d = tokens.shape
        if self.cfg.n_regime:
            tokens = torch.cat([tokens, self.regime_tokens.expand(b, t, -1, d)], dim=2)
        cond = (
            None if noise_level is None else self.noise_mlp(timestep_embedding(noise_level, self.cfg.d_model))
        )
        return self.backbone(tokens, cond)

    def forward(
        self,
        values: torch.Tensor,
        state: torch.Tensor,
        field_ids: torch.Tensor | None = None,
        noise_level: torch.Tensor | None = None,
        semantic_type: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T, n) values/states -> (B, T, n) clean-canvas predictions; ``noise_level`` (B,) in [0, 1];
        ``semantic_type`` (B, n, SEMANTIC_TYPE_DIM) or None."""
        if field_ids is None:
            field_ids = torch.arange(self.bound.n_fields)
        n = field_ids.numel()
        out = self.decoder(
            self._hidden(values, state, field_ids, noise_level, semantic_type)[:, :, :n], field_ids
        )
        if self.cfg.persistence_skip:
            out = out + last_visible(values, state == OBSERVED)
        return out

    def regime(
        self,
        values: torch.Tensor,
        state: torch.Tensor,
        field_ids: torch.Tensor | None = None,
        semantic_type: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The shared regime latent after reading the window: ``(B, T, n_regime, d)``."""
        if field_ids is None:
            field_ids = torch.arange(self.bound.n_fields)
        return self._hidden(values, state, field_ids, None, semantic_type)[:, :, field_ids.numel() :]


def custom_modules_from_specs(specs) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
    """Collect ``InputSpec.encoder`` / ``OutputSpec.decoder`` modules by field path across datasets.

    Two datasets giving *different* modules for one field is an error (the model has one
    encoder per field)."""
    enc: dict[str, nn.Module] = {}
    dec: dict[str, nn.Module] = {}
    for spec in specs:
        for s in spec.input_specs:
            if s.encoder is not None:
                if enc.setdefault(s.field_path, s.encoder) is not s.encoder:
                    raise ValueError(f"two different custom encoders for field {s.field_path!r}")
        for o in spec.output_specs:
            if o.decoder is not None:
                if dec.setdefault(o.field_path, o.decoder) is not o.decoder:
                    raise ValueError(f"two different custom decoders for field {o.field_path!r}")
    return enc, dec
