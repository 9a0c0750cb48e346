"""Small LeWorld models (SLMs): from (past, current, characteristics) to a memory range.

An SLM is an MLP trunk whose hidden state can be modulated (FiLM) by the BLM's info
request of the previous step, followed by an :class:`AddressHead` that scores the high
byte, the low byte and the length of the range to read. The hard address is the argmax
of each score; the soft probabilities give it a straight-through gradient (see
:meth:`~wmverse.leworld.memory.ArtificialMemory.read_straight_through`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import MemoryConfig, SLMConfig


def _bit_codes(n: int) -> Tensor:
    """(n, bits) 0/1 binary codes of 0..n-1."""
    nbits = max(1, math.ceil(math.log2(n)))
    return ((torch.arange(n).unsqueeze(1) >> torch.arange(nbits)) & 1).float()


class AddressHead(nn.Module):
    """Logits of the start address (high byte, low byte), the range length and a confidence.

    Each logit vector is bit-factorised: the head predicts one Bernoulli per bit of the
    value, and the logit of value ``k`` is ``sum_b log p(bit_b = k_b)``. Cross-entropy on
    these logits is the sum of the per-bit log-losses, so an address never seen in
    training is as reachable as a seen one (a plain per-class softmax can only memorise).
    """

    def __init__(self, d_model: int, half_space: int, max_read_range: int) -> None:
        super().__init__()
        self.half_space = half_space
        self.max_read_range = max_read_range
        self.register_buffer("address_codes", _bit_codes(half_space), persistent=False)
        self.register_buffer("range_codes", _bit_codes(max_read_range), persistent=False)
        # complements of the codes, built once rather than at every call
        self.register_buffer("address_zeros", 1 - self.address_codes, persistent=False)
        self.register_buffer("range_zeros", 1 - self.range_codes, persistent=False)
        self.high = nn.Linear(d_model, self.address_codes.shape[1])
        self.low = nn.Linear(d_model, self.address_codes.shape[1])
        self.range = nn.Linear(d_model, self.range_codes.shape[1])
        self.confidence = nn.Linear(d_model, 1)

    @staticmethod
    def _logits(z: Tensor, ones: Tensor, zeros: Tensor) -> Tensor:
        """``sum_b log p(bit_b = k_b)`` for every value ``k``: ``ones`` its 0/1 codes, ``zeros = 1 - ones``."""
        return F.logsigmoid(z) @ ones.T + F.logsigmoid(-z) @ zeros.T

    def forward(self, hidden: Tensor) -> dict[str, Tensor]:
        return {
            "start_logits_high": self._logits(self.high(hidden), self.address_codes, self.address_zeros),
            "start_logits_low": self._logits(self.low(hidden), self.address_codes, self.address_zeros),
            "range_logits": self._logits(self.range(hidden), self.range_codes, self.range_zeros),
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
        return self.from_input(self.trunk_input(past_state, current_state, characteristics), modulation)

    def trunk_input(self, past_state: Tensor, current_state: Tensor, characteristics: Tensor) -> Tensor:
        """The trunk's input ``[past, current, characteristics]`` (checked). Every SLM of a system
        takes the same one, so the system builds it once per step."""
        c = self.config
        for name, x, dim in (
            ("past_state", past_state, c.state_dim),
            ("current_state", current_state, c.state_dim),
            ("characteristics", characteristics, c.char_dim),
        ):
            if x.shape[-1] != dim:
                raise ValueError(f"SLM expects {name} with last dimension {dim}, got {tuple(x.shape)}")
        return torch.cat([past_state, current_state, characteristics], dim=-1)

    def from_input(self, x: Tensor, modulation: Tensor | None = None) -> dict[str, Tensor]:
        """``forward`` from the trunk input ``x`` of :meth:`trunk_input`."""
        hidden = self.norm(self.trunk(x))
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
