"""Synthetic state-transition sequences whose dynamics depend on memory content.

Every sequence has static characteristics and ``n_relevant`` (1/2/3 for easy/medium/hard)
relevant memory ranges; ``seed_k = 2 * mean_bits(range_k) - 1`` tiled to the state size,
and ``s[t] = 0.8 s[t-1] + 0.15 * sum_k seed_k + 0.05 * chars + 0.1 noise``.

Two choices make the task learnable (the reference procedure differs on both):
- every relevant range adds its influence (the reference keeps only the last one);
- the characteristics carry the relevant ranges as +/-1 codes (for each range: the bits
  of the high byte, of the low byte and of ``length - 1``), the rest is Gaussian. An SLM
  can therefore learn *where* to read from what it sees, while *what* is there must be
  read: held-out sequences point at ranges never seen in training.

Two layouts place the ranges (``layout``):
- ``"columns"``: range ``k`` of a sequence is column ``k`` (SLM ``k`` is taught to find it
  in phase 1); columns past ``n_relevant`` are empty, so some SLMs are never needed.
- ``"specialty"``: the memory is cut into ``MAX_REGIONS`` equal specialty regions and
  column ``i`` can only hold a range inside region ``i``. Each sequence draws which
  ``n_relevant`` of the specialties it uses; the others' columns (and their codes in the
  characteristics) are empty/zero. Which SLMs a sequence needs then varies from input to
  input, so a router that turns the unneeded ones off for that input is rewarded: what
  an SLM with nothing to find reads is a distractor.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .config import MemoryConfig
from .memory import ArtificialMemory

DIFFICULTY_REGIONS = {"easy": 1, "medium": 2, "hard": 3}
#: relevant ranges are padded to this many columns (the largest difficulty's count)
MAX_REGIONS = 3


def _bits(values: Tensor, nbits: int) -> Tensor:
    return ((values.unsqueeze(-1) >> torch.arange(nbits)) & 1).float() * 2 - 1


def _tile(x: Tensor, dim: int) -> Tensor:
    reps = math.ceil(dim / x.shape[-1])
    return x.repeat(*([1] * (x.dim() - 1)), reps)[..., :dim]


LAYOUTS = ("columns", "specialty")


def code_size(memory: ArtificialMemory | MemoryConfig, n_relevant: int, layout: str = "columns") -> int:
    """Characteristic dimensions used by the address codes of ``n_relevant`` ranges (every
    specialty column has a code in the ``"specialty"`` layout, zero when unused)."""
    c = memory.config if isinstance(memory, ArtificialMemory) else memory
    hb = max(1, math.ceil(math.log2(c.half_space)))
    rb = max(1, math.ceil(math.log2(c.max_read_range)))
    return (MAX_REGIONS if layout == "specialty" else n_relevant) * (2 * hb + rb)


class StateTransitionDataset(Dataset):
    """Sequences of states driven by memory content (see the module doc).

    Items are dicts: ``states`` (T, state_dim), ``characteristics`` (char_dim,),
    ``relevant_starts`` / ``relevant_ends`` (3,) long (zero-padded: ``end == start`` marks
    an empty column), ``n_relevant``. Same arguments and ``seed`` -> same data. The memory
    must be populated first.
    """

    def __init__(
        self,
        num_sequences: int,
        seq_length: int,
        state_dim: int,
        char_dim: int,
        memory: ArtificialMemory,
        difficulty: str = "easy",
        *,
        seed: int = 0,
        layout: str = "columns",
    ) -> None:
        if difficulty not in DIFFICULTY_REGIONS:
            raise ValueError(f"difficulty must be one of {sorted(DIFFICULTY_REGIONS)}, got {difficulty!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        region = memory.config.num_words // MAX_REGIONS
        if layout == "specialty" and region < memory.config.max_read_range:
            raise ValueError(
                f"specialty layout: a region of {region} words cannot hold a read of max_read_range "
                f"{memory.config.max_read_range}"
            )
        if num_sequences < 1 or seq_length < 2 or state_dim < 1:
            raise ValueError("need num_sequences >= 1, seq_length >= 2, state_dim >= 1")
        self.num_sequences, self.seq_length = num_sequences, seq_length
        self.state_dim, self.char_dim = state_dim, char_dim
        self.memory, self.difficulty, self.layout = memory, difficulty, layout
        self.n_relevant = DIFFICULTY_REGIONS[difficulty]
        needed = code_size(memory, self.n_relevant, layout)
        if char_dim < needed:
            raise ValueError(
                f"char_dim {char_dim} too small: {difficulty} ({layout}) needs {needed} dimensions to "
                f"encode the relevant range(s) of this memory"
            )
        self._generate(torch.Generator().manual_seed(seed))

    def _generate(self, g: torch.Generator) -> None:
        c = self.memory.config
        s, k, r = self.num_sequences, self.n_relevant, c.max_read_range
        if self.layout == "specialty":
            region = c.num_words // MAX_REGIONS
            offsets = torch.arange(MAX_REGIONS) * region
            starts = offsets + torch.randint(0, region - r + 1, (s, MAX_REGIONS), generator=g)
            lengths = torch.randint(max(1, r // 8), r + 1, (s, MAX_REGIONS), generator=g)
            used = torch.rand(s, MAX_REGIONS, generator=g).argsort(1)[:, :k]
            active = torch.zeros(s, MAX_REGIONS, dtype=torch.bool).scatter_(1, used, True)
            starts, lengths = starts * active, lengths * active
            k = MAX_REGIONS
        else:
            starts = torch.randint(0, c.num_words - r + 1, (s, k), generator=g)
            lengths = torch.randint(max(1, r // 8), r + 1, (s, k), generator=g)
            active = torch.ones(s, k, dtype=torch.bool)
        ends = starts + lengths
        hb = max(1, math.ceil(math.log2(c.half_space)))
        rb = max(1, math.ceil(math.log2(r)))
        code = torch.cat(
            [_bits(starts // c.half_space, hb), _bits(starts % c.half_space, hb), _bits((lengths - 1).clamp(min=0), rb)],
            dim=-1,
        )  # fmt: skip
        code = (code * active.unsqueeze(-1)).reshape(s, -1)  # an unused specialty's code is all zeros
        chars = torch.randn(s, self.char_dim, generator=g)
        chars[:, : code.shape[1]] = code
        with torch.no_grad():
            mem_bits = self.memory.range_mean(starts, ends)  # (s, k, W)
        seeds = _tile(mem_bits * 2 - 1, self.state_dim)
        transition_seed = seeds.sum(1) if bool(active.all()) else (seeds * active.unsqueeze(-1)).sum(1)
        char_padded = _tile(chars, self.state_dim)
        states = torch.zeros(s, self.seq_length, self.state_dim)
        states[:, 0] = torch.randn(s, self.state_dim, generator=g)
        noise = torch.randn(s, self.seq_length, self.state_dim, generator=g) * 0.1
        for t in range(1, self.seq_length):
            states[:, t] = 0.8 * states[:, t - 1] + 0.15 * transition_seed + 0.05 * char_padded + noise[:, t]
        pad = torch.zeros(s, MAX_REGIONS - k, dtype=torch.long)
        self.states, self.characteristics = states, chars
        self.relevant_starts = torch.cat([starts, pad], 1)
        self.relevant_ends = torch.cat([ends, pad], 1)

    def __len__(self) -> int:
        return self.num_sequences

    def __getitem__(self, idx: int) -> dict:
        return {
            "states": self.states[idx],
            "characteristics": self.characteristics[idx],
            "relevant_starts": self.relevant_starts[idx],
            "relevant_ends": self.relevant_ends[idx],
            "n_relevant": self.n_relevant,
        }

    def batch(self, indices: Tensor) -> dict:
        """A batch dict (as the default DataLoader would collate it) for ``indices``."""
        return {
            "states": self.states[indices],
            "characteristics": self.characteristics[indices],
            "relevant_starts": self.relevant_starts[indices],
            "relevant_ends": self.relevant_ends[indices],
            "n_relevant": torch.full((len(indices),), self.n_relevant),
        }

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[dict]:
        """Iterate over batches by slicing the stored tensors (no per-item collation)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for i in range(0, len(self), batch_size):
            yield self.batch(order[i : i + batch_size])
