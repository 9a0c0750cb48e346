"""The big LeWorld model (BLM): routes over the SLMs' reads and predicts the next state.

Each SLM slot contributes a value built from its hidden state, the encoding of what it
read and its confidence. A :class:`Router` scores every slot; its gate is a sigmoid at an
annealed temperature, made hard (> 0.5, and at most ``router_top_k`` per input when set)
in the forward pass with a straight-through gradient. The gated values are summed, and an MLP over (past, current, summed values)
predicts the state change and an info request for the SLMs at the next step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import BLMConfig


class Router(nn.Module):
    """Straight-through sigmoid gates with an annealed temperature and an optional top-k cap.

    ``forward(logits)`` -> ``(mask, probs)``; ``probs = sigmoid(logits / T)``, ``mask``
    equals ``probs > 0.5`` in value (and, with ``top_k > 0``, only for the ``top_k``
    highest gates of each input) and has the gradient of ``probs``.
    """

    def __init__(self, temperature_init: float = 1.0, top_k: int = 0) -> None:
        super().__init__()
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        self.temperature_init = float(temperature_init)
        self.top_k = int(top_k)
        self.register_buffer("temperature", torch.tensor(float(temperature_init)))

    def forward(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        probs = torch.sigmoid(logits / self.temperature)
        hard = probs > 0.5
        if 0 < self.top_k < probs.shape[-1]:
            keep = torch.zeros_like(hard).scatter_(-1, probs.topk(self.top_k, dim=-1).indices, True)
            hard = hard & keep
        hard = hard.to(probs.dtype)
        return hard + probs - probs.detach(), probs

    def anneal_temperature(self, step: int, rate: float, t_min: float) -> float:
        """Set ``T = max(t_min, T0 * exp(-rate * step))`` and return it."""
        if rate < 0:
            raise ValueError(f"anneal rate must be >= 0, got {rate}")
        value = max(float(t_min), self.temperature_init * math.exp(-rate * step))
        self.temperature.fill_(value)
        return value


class BigLeWorldModel(nn.Module):
    """The BLM.

    ``forward(past_state, current_state, slm_outputs, reads)``: states ``(B, state_dim)``,
    ``slm_outputs`` a list of ``n_slms`` dicts holding ``hidden`` (B, slm_hidden_dim) and
    ``confidence`` (B,), ``reads`` a list of ``n_slms`` encodings (B, read_dim). Returns
    ``next_state`` (B, state_dim), ``mask`` and ``router_probs`` (B, n_slms),
    ``info_query`` (B, info_dim) and ``hidden`` (B, d_model).
    """

    def __init__(
        self, config: BLMConfig, slm_hidden_dim: int, read_dim: int, *, seed: int | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.slm_hidden_dim = slm_hidden_dim
        self.read_dim = read_dim
        d = config.d_model
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.value = nn.Linear(read_dim + 1, d)
            # zero-initialised: phase 1 trains the BLM with blank SLM hidden states, so the
            # SLMs' hidden states join smoothly when phase 2 starts
            self.value_hidden = nn.Linear(slm_hidden_dim, d, bias=False)
            nn.init.zeros_(self.value_hidden.weight)
            self.slot_embedding = nn.Parameter(torch.randn(config.n_slms, d) * 0.02)
            self.context = nn.Linear(2 * config.state_dim, d)
            self.gate = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, 1))
            self.router = Router(config.temperature_init, config.router_top_k)
            self.trunk = nn.Sequential(
                nn.Linear(2 * config.state_dim + d, d), nn.GELU(), nn.Linear(d, d), nn.GELU()
            )
            self.next_state_head = nn.Linear(d, config.state_dim)
            self.info_request = nn.Sequential(nn.Linear(d, config.info_dim), nn.Tanh())

    def forward(
        self,
        past_state: Tensor,
        current_state: Tensor,
        slm_outputs: list[dict[str, Tensor]],
        reads: list[Tensor],
    ) -> dict[str, Tensor]:
        c = self.config
        if len(slm_outputs) != c.n_slms or len(reads) != c.n_slms:
            raise ValueError(
                f"BLM expects {c.n_slms} SLM outputs and reads, got {len(slm_outputs)} and {len(reads)}"
            )
        if past_state.shape[-1] != c.state_dim or current_state.shape[-1] != c.state_dim:
            raise ValueError(f"BLM expects states with last dimension {c.state_dim}")
        hidden = torch.stack([o["hidden"] for o in slm_outputs], dim=1)  # (B, n, h)
        conf = torch.stack([o["confidence"].to(hidden.dtype) for o in slm_outputs], dim=1).unsqueeze(-1)
        read = torch.stack(reads, dim=1)  # (B, n, r)
        if hidden.shape[-1] != self.slm_hidden_dim or read.shape[-1] != self.read_dim:
            raise ValueError(
                f"BLM expects SLM hidden {self.slm_hidden_dim} and reads {self.read_dim}, "
                f"got {hidden.shape[-1]} and {read.shape[-1]}"
            )
        values = self.value(torch.cat([read, conf], dim=-1)) + self.value_hidden(hidden) + self.slot_embedding
        ctx = self.context(torch.cat([past_state, current_state], dim=-1))  # (B, d)
        logits = self.gate(torch.cat([values, ctx.unsqueeze(1).expand_as(values)], dim=-1)).squeeze(-1)
        mask, probs = self.router(logits)
        routed = (mask.unsqueeze(-1) * values).sum(1)
        h = self.trunk(torch.cat([past_state, current_state, routed], dim=-1))
        return {
            "next_state": current_state + self.next_state_head(h),
            "mask": mask,
            "router_probs": probs,
            "info_query": self.info_request(h),
            "hidden": h,
        }
