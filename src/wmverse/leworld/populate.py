"""Memory population strategies (all vectorised: no loop over words).

``structured_patterns`` lays the memory out in four quarters:
dynamics (cyclic single-bit words), context, history (binary counting) and associations
(XOR of the first two quarters). The context quarter is made of blocks of
``block_words`` words that share one random pattern with ``flip_prob`` of their bits
flipped (rather than every word drawn independently: blocks make a read's mean bits carry
information that is specific to where it was read, which is what the dataset needs).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .memory import ArtificialMemory


class MemoryPopulator:
    """Fill an :class:`ArtificialMemory` in place; every strategy is seeded."""

    @staticmethod
    def random_bits(memory: ArtificialMemory, *, seed: int = 0) -> None:
        """Independent fair bits."""
        g = torch.Generator().manual_seed(seed)
        bits = torch.randint(0, 2, tuple(memory.memory.shape), generator=g)
        with torch.no_grad():
            memory.memory.copy_(bits.to(memory.memory.dtype))

    @staticmethod
    def structured_patterns(
        memory: ArtificialMemory, *, seed: int = 0, block_words: int = 32, flip_prob: float = 0.1
    ) -> None:
        """Four quarters: dynamics, context, history, associations (see the module doc)."""
        if block_words < 1 or not 0 <= flip_prob <= 1:
            raise ValueError("block_words must be >= 1 and flip_prob in [0, 1]")
        n, w = memory.config.num_words, memory.config.word_size
        q = n // 4
        g = torch.Generator().manual_seed(seed)
        out = torch.empty(n, w, dtype=torch.bool)
        # dynamics: word i has only bit i % W set
        out[:q] = torch.eye(w, dtype=torch.bool).repeat(-(-q // w), 1)[:q]
        # context: random block patterns with bit flips
        n_blocks = -(-q // block_words)
        patterns = torch.randint(0, 2, (n_blocks, w), generator=g).bool()
        flips = torch.rand(q, w, generator=g) < flip_prob
        words = patterns.repeat_interleave(block_words, dim=0)[:q]
        torch.ne(words, flips, out=out[q : 2 * q])
        # history: binary counting in the low 16 bits
        nbits = min(w, 16)
        out[2 * q : 3 * q] = False
        out[2 * q : 3 * q, :nbits] = (torch.arange(q).unsqueeze(1) >> torch.arange(nbits)) & 1 == 1
        # associations: XOR of the dynamics and context quarters
        rest = torch.arange(3 * q, n) % q
        if n - 3 * q == q:
            torch.ne(out[:q], out[q : 2 * q], out=out[3 * q :])
        else:
            out[3 * q :] = out[rest] != out[q + rest]
        with torch.no_grad():
            memory.memory.copy_(out)

    @staticmethod
    def from_experience(memory: ArtificialMemory, experiences: Tensor) -> int:
        """Store observed feature vectors as words: bit = feature above the row's median.

        ``experiences`` (N, F); rows past ``num_words`` are dropped, features past
        ``word_size`` truncated, short rows zero-padded (median over the row). Returns the
        number of words written.
        """
        if experiences.dim() != 2:
            raise ValueError(f"experiences must be (N, features), got {tuple(experiences.shape)}")
        n_words, w = memory.config.num_words, memory.config.word_size
        x = experiences[:n_words, :w].float().contiguous()
        # lower median of each row (as torch.median) by a partial sort, much faster on short rows;
        # a short row's median is over its own features (then zero-padded)
        k = (x.shape[1] - 1) // 2
        median = torch.from_numpy(np.partition(x.numpy(), k, axis=1)[:, k : k + 1])
        with torch.no_grad():
            target = memory.memory[: x.shape[0]]
            if x.shape[1] == w:
                target.copy_(x > median)
            else:
                target.zero_()
                target[:, : x.shape[1]] = x > median
        return int(x.shape[0])
