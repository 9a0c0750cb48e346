"""Small LeWorld models (SLMs): from (past, current, characteristics) to a memory range.

An SLM is an MLP trunk whose hidden state can be modulated (FiLM) by the BLM's info
request of the previous step, followed by an :class:`AddressHead` that scores the high
byte, the low byte and the length of the range to read. The hard address is the argmax
of each score; the soft probabilities give it a straight-through gradient (see
:meth:`~wmverse.leworld.memory.ArtificialMemory.read_straight_through`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import MemoryConfig, SLMConfig


class AddressHead(nn.Module):
    """Logits of the start address (high byte, low byte), the range length and a confidence."""

    def __init__(self, d_model: int, half_space: int, max_read_range: int) -> None:
        super().__init__()
        self.half_space = half_space
        self.max_read_range = max_read_range
        self.high = nn.Linear(d_model, half_space)
        self.low = nn.Linear(d_model, half_space)
        self.range = nn.Linear(d_model, max_read_range)
        self.confidence = nn.Linear(d_model, 1)

    def forward(self, hidden: Tensor) -> dict[str, Tensor]:
        return {
            "start_logits_high": self.high(hidden),
            "start_logits_low": self.low(hidden),
            "range_logits": self.range(hidden),
            "confidence": torch.sigmoid(self.confidence(hidden)).squeeze(-1),
        }


class SmallLeWorldModel(nn.Module):
    """One SLM.

    ``forward(past_state, current_state, characteristics, modulation=None)`` with states
    ``(B, state_dim)``, characteristics ``(B, char_dim)`` and an optional FiLM
    ``modulation`` ``(B, 2, d_model)`` (scale offset, shift) returns a dict with
    ``hidden`` (B, d_model), the three logit tensors, ``confidence`` (B,), and the hard
    choice: ``start_high``, ``start_low``, ``range_len`` (1..max_read_range),
    ``start_addr`` and ``end_addr`` (end cut at the memory's end), all long (B,).
    """

    def __init__(self, config: SLMConfig, memory_config: MemoryConfig, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.memory_config = memory_config
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            d_in = 2 * config.state_dim + config.char_dim
            layers: list[nn.Module] = []
            for i in range(config.n_layers):
                layers += [nn.Linear(d_in if i == 0 else config.d_model, config.d_model), nn.GELU()]
            self.trunk = nn.Sequential(*layers)
            self.norm = nn.LayerNorm(config.d_model)
            self.address_head = AddressHead(
                config.d_model, memory_config.half_space, memory_config.max_read_range
            )

    def forward(
        self,
        past_state: Tensor,
        current_state: Tensor,
        characteristics: Tensor,
        modulation: Tensor | None = None,
    ) -> dict[str, Tensor]:
        c = self.config
        for name, x, dim in (
            ("past_state", past_state, c.state_dim),
            ("current_state", current_state, c.state_dim),
            ("characteristics", characteristics, c.char_dim),
        ):
            if x.shape[-1] != dim:
                raise ValueError(f"SLM expects {name} with last dimension {dim}, got {tuple(x.shape)}")
        hidden = self.norm(self.trunk(torch.cat([past_state, current_state, characteristics], dim=-1)))
        if modulation is not None:
            hidden = hidden * (1 + modulation[..., 0, :]) + modulation[..., 1, :]
        out = self.address_head(hidden)
        high = out["start_logits_high"].argmax(-1)
        low = out["start_logits_low"].argmax(-1)
        length = out["range_logits"].argmax(-1) + 1
        start = high * self.address_head.half_space + low
        out.update(
            hidden=hidden,
            start_high=high,
            start_low=low,
            range_len=length,
            start_addr=start,
            end_addr=(start + length).clamp(max=self.memory_config.num_words),
        )
        return out
