"""Transition networks: one module per backend, all with a joint obs/reward/done head.

Every network maps input features to ``(members, batch, obs_dim + 2)``: the normalised
observation delta, the normalised reward and the done logit. Memoryless networks take
features of shape (B, F) or, for per-member minibatches, (E, B, F); sequence networks
take a left-padded window (B, W, F) plus a validity mask (B, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .types import TransitionBackend, WorldModelConfig


class EnsembleLinear(nn.Module):
    """``E`` independent affine maps evaluated as one batched matmul (weights (E, in, out))."""

    def __init__(self, members: int, fan_in: int, fan_out: int, generator: torch.Generator) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(fan_in)
        w = (torch.rand(members, fan_in, fan_out, generator=generator) * 2 - 1) * bound
        b = (torch.rand(members, 1, fan_out, generator=generator) * 2 - 1) * bound
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (E, B, in) -> (E, B, out)."""
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """``members`` MLPs with SiLU activations, vectorised over members.

    With ``members == 1`` this is the plain MLP backend. Input (B, F) is shared by all
    members; input (E, B, F) gives each member its own batch (bootstrapped training).
    """

    def __init__(
        self, members: int, in_dim: int, hidden: int, out_dim: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.members = members
        dims = [in_dim] + [hidden] * layers + [out_dim]
        self.layers = nn.ModuleList(
            EnsembleLinear(members, a, b, generator) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):  # direct calls: no per-layer Module dispatch
            x = torch.baddbmm(layer.bias, x, layer.weight)
            if i < last:
                x = F.silu(x, inplace=not torch.is_grad_enabled())  # in place only when no graph is kept
        return x

    def member_weights(self, member: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight (in, out), bias (out,)) per layer of one member (for loop baselines)."""
        return [(layer.weight[member], layer.bias[member, 0]) for layer in self.layers]


def _init_from(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise torch's default-initialised parameters from the model's generator."""
    for p in module.parameters():
        with torch.no_grad():
            if p.dim() >= 2:
                bound = 1.0 / math.sqrt(p.shape[1])
            else:
                bound = 1.0 / math.sqrt(max(p.shape[0], 1))
            p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)


class LSTMTransition(nn.Module):
    """LSTM over a window of (obs, action, valid) steps; the last step's state feeds the head."""

    def __init__(
        self, in_dim: int, hidden: int, out_dim: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.members = 1
        self.proj = nn.Linear(in_dim + 1, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, out_dim))
        _init_from(self, generator)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool)
        valid = mask.unsqueeze(-1).to(x.dtype)
        h = self.proj(torch.cat([x * valid, valid], dim=-1))
        out, _ = self.lstm(h)
        return self.head(out[:, -1]).unsqueeze(0)


class TransformerTransition(nn.Module):
    """Transformer encoder over a window of steps with learned positions; reads the last token."""

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        layers: int,
        heads: int,
        window: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.members = 1
        self.proj = nn.Linear(in_dim, hidden)
        self.pos = nn.Parameter(torch.zeros(window, hidden))
        block = nn.TransformerEncoderLayer(
            hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(block, num_layers=layers, enable_nested_tensor=False)
        self.head = nn.Sequential(
            nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, out_dim)
        )
        _init_from(self, generator)
        with torch.no_grad():  # LayerNorms start as identity maps
            for m in self.modules():
                if isinstance(m, nn.LayerNorm):
                    m.weight.fill_(1.0)
                    m.bias.zero_()
            self.pos.mul_(0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool)
        w = x.shape[1]
        h = self.proj(x) + self.pos[-w:]
        h = self.encoder(h, src_key_padding_mask=~mask)
        return self.head(h[:, -1]).unsqueeze(0)


def build_network(config: WorldModelConfig, generator: torch.Generator) -> nn.Module:
    """The transition network for ``config.backend`` (in = obs_dim + action_dim features)."""
    in_dim = config.obs_dim + config.action_dim
    out_dim = config.obs_dim + 2
    backend = config.backend
    if backend in (TransitionBackend.MLP, TransitionBackend.ENSEMBLE):
        return EnsembleMLP(config.members, in_dim, config.hidden_dim, out_dim, config.num_layers, generator)
    if backend is TransitionBackend.LSTM:
        return LSTMTransition(in_dim, config.hidden_dim, out_dim, config.num_layers, generator)
    if backend is TransitionBackend.TRANSFORMER:
        return TransformerTransition(
            in_dim, config.hidden_dim, out_dim, config.num_layers, config.num_heads, config.window, generator
        )
    raise ValueError(f"unknown backend {backend!r}")
