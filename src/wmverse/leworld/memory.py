"""The artificial bit memory and its reads.

A read of the half-open word range ``[start, end)`` returns the mean of those words'
bits. Reads go through a prefix sum of the memory (``C[k] = sum of words < k``), so any
batch of ranges costs one gather of two rows each: no loop over words, and the cost
does not grow with the range length. The prefix sum is cached and rebuilt whenever the
memory buffer is changed in place (its version counter moves).

Gradients: the bits are a fixed buffer, the read *encoder* is trained, and
:meth:`ArtificialMemory.read_straight_through` gives the SLMs' address logits a
gradient: its forward value is exactly the hard read, its backward pass is that of the
probability-weighted reads over every alternative value of each address component.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .config import MemoryConfig


class MemoryRead(NamedTuple):
    """What one read returns; unpacks as ``bits, encoded, mask``."""

    #: (..., word_size) mean bit of the words read (zeros for an empty range)
    bits: Tensor
    #: (..., encoder_dim) the encoder's view of the read
    encoded: Tensor
    #: (..., max_read_range) 1 at the offsets that were read
    mask: Tensor


def _rows(table: Tensor, index: Tensor) -> Tensor:
    """``table[index]`` for a long ``index`` of any shape, through ``index_select`` (same values, fewer
    dispatch steps than advanced indexing)."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[-1])


class _StraightThroughRead(torch.autograd.Function):
    """Forward: the hard read. Backward: the gradient of ``sum_k p_k * mean(alt_k)`` w.r.t. ``p``.

    ``d/dp_k = <g, C[end_k] - C[start_k]> / len_k``: one gather of prefix-sum rows and one
    batched dot product, in the backward pass only (the forward pass reads one range).
    """

    @staticmethod
    def forward(ctx, p_all, hard, alt_start, alt_end, prefix):  # noqa: D102
        ctx.save_for_backward(alt_start, alt_end, prefix)
        return hard.clone()

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        alt_start, alt_end, prefix = ctx.saved_tensors
        k = alt_start.shape[-1]
        g = grad.reshape(-1, grad.shape[-1], 1)  # (M, W, 1)
        idx = torch.cat([alt_end.reshape(-1, k), alt_start.reshape(-1, k)], dim=1)  # (M, 2K)
        rows = _rows(prefix, idx)  # (M, 2K, W)
        dots = torch.bmm(rows, g).squeeze(-1)  # (M, 2K): <g, C[i]>
        length = (idx[:, :k] - idx[:, k:]).clamp(min=1).to(dots.dtype)
        grad_p = (dots[:, :k] - dots[:, k:]) / length
        return grad_p.reshape(alt_start.shape), None, None, None, None


class ArtificialMemory(nn.Module):
    """``num_words x word_size`` bits plus a trained encoder of what is read.

    Contract: ``memory`` is a float buffer of 0/1 values; populate it in place (see
    :class:`~wmverse.leworld.populate.MemoryPopulator`). ``read(start, end)`` takes long
    tensors of any equal shape ``S`` and returns a :class:`MemoryRead` whose fields have
    shape ``S + (...)``.
    """

    def __init__(self, config: MemoryConfig | None = None, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = config or MemoryConfig()
        c = self.config
        self.register_buffer("memory", torch.zeros(c.num_words, c.word_size))
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = nn.Sequential(
                nn.Linear(c.word_size + 1, c.encoder_hidden),
                nn.GELU(),
                nn.Linear(c.encoder_hidden, c.encoder_dim),
            )
        self._prefix: Tensor | None = None
        self._prefix_key: tuple[int, int] | None = None

    # ------------------------------------------------------------------ reads
    def prefix_sums(self) -> Tensor:
        """(num_words + 1, word_size) cumulative sums of the words (cached)."""
        key = (self.memory._version, self.memory.data_ptr())
        if self._prefix is None or self._prefix_key != key:
            zeros = self.memory.new_zeros(1, self.config.word_size)
            self._prefix = torch.cat([zeros, self.memory.cumsum(0)], dim=0)
            self._prefix_key = key
        return self._prefix

    def check_range(self, start: Tensor, end: Tensor) -> None:
        """Raise ``ValueError`` unless ``0 <= start <= end <= num_words`` and lengths fit."""
        if start.shape != end.shape:
            raise ValueError(
                f"start and end must have the same shape, got {tuple(start.shape)} and {tuple(end.shape)}"
            )
        if start.dtype.is_floating_point or end.dtype.is_floating_point:
            raise ValueError("start and end must be integer tensors")
        if start.numel() == 0:
            return
        n, r = self.config.num_words, self.config.max_read_range
        length = end - start
        if not bool(((start < 0) | (end > n) | (length < 0) | (length > r)).any()):
            return
        if int(start.min()) < 0:
            raise ValueError(f"read starts before the memory: min start {int(start.min())}")
        if int(end.max()) > n:
            raise ValueError(f"read range goes past the memory: end {int(end.max())} > num_words {n}")
        if int(length.min()) < 0:
            raise ValueError("read range has end < start")
        raise ValueError(f"read range of {int(length.max())} words exceeds max_read_range {r}")

    def range_mean(self, start: Tensor, end: Tensor) -> Tensor:
        """Mean bits of ``[start, end)`` (unchecked; ranges must be valid). Shape ``S + (W,)``."""
        prefix = self.prefix_sums()
        total = _rows(prefix, end) - _rows(prefix, start)
        length = (end - start).clamp(min=1).unsqueeze(-1).to(total.dtype)
        return total / length

    def encode(self, bits: Tensor, length: Tensor) -> Tensor:
        """Encoder of a read: mean bits mapped to [-1, 1] plus the relative length."""
        rel = (length.to(bits.dtype) / self.config.max_read_range).unsqueeze(-1)
        return self.encoder(torch.cat([bits * 2 - 1, rel], dim=-1))

    def offsets_mask(self, start: Tensor, end: Tensor) -> Tensor:
        offsets = torch.arange(self.config.max_read_range, device=start.device)
        return (offsets < (end - start).unsqueeze(-1)).to(self.memory.dtype)

    def read(self, start: Tensor, end: Tensor) -> MemoryRead:
        """Read ``[start, end)`` for every element of ``start``/``end`` (validated)."""
        start, end = torch.as_tensor(start), torch.as_tensor(end)
        self.check_range(start, end)
        start, end = start.long(), end.long()
        bits = self.range_mean(start, end)
        return MemoryRead(bits, self.encode(bits, end - start), self.offsets_mask(start, end))

    def read_words(self, start: Tensor, end: Tensor) -> tuple[Tensor, Tensor]:
        """The words themselves: ``(S + (max_read_range, W), mask S + (max_read_range,))``.

        One gather; offsets past ``end`` are zeroed by the mask.
        """
        start, end = torch.as_tensor(start).long(), torch.as_tensor(end).long()
        self.check_range(start, end)
        offsets = torch.arange(self.config.max_read_range, device=start.device)
        idx = (start.unsqueeze(-1) + offsets).clamp(max=self.config.num_words - 1)
        mask = self.offsets_mask(start, end)
        return self.memory[idx] * mask.unsqueeze(-1), mask

    def read_straight_through(
        self,
        high: Tensor,
        low: Tensor,
        length: Tensor,
        p_high: Tensor,
        p_low: Tensor,
        p_range: Tensor,
    ) -> MemoryRead:
        """Hard read at ``high * half + low`` for ``length`` words with a soft backward path.

        ``high``, ``low``, ``length`` (shape ``S``, long; ``1 <= length <= max_read_range``)
        are the hard choices; ``p_high``, ``p_low`` (``S + (half,)``) and ``p_range``
        (``S + (max_read_range,)``, index ``k`` means ``k + 1`` words) their probabilities.
        A range that would run past the memory is cut at its end.
        Forward: the hard read. Backward: d/dp of ``sum_k p_k * read(alternative k)`` for
        each component, the others held at their hard values.
        """
        c = self.config
        half, n = c.half_space, c.num_words
        start = high * half + low
        end = (start + length).clamp(max=n)
        hard = self.range_mean(start, end)

        values = torch.arange(half, device=high.device)
        starts_h = values * half + low.unsqueeze(-1)  # vary the high byte
        starts_l = high.unsqueeze(-1) * half + values  # vary the low byte
        lengths = torch.arange(1, c.max_read_range + 1, device=high.device)
        starts_r = start.unsqueeze(-1).expand(*start.shape, c.max_read_range)
        alt_start = torch.cat([starts_h, starts_l, starts_r], -1)
        lens = torch.cat([length.unsqueeze(-1).expand_as(starts_h), length.unsqueeze(-1).expand_as(starts_l),
                          lengths.expand_as(starts_r)], -1)  # fmt: skip
        alt_end = (alt_start + lens).clamp(max=n)
        p_all = torch.cat([p_high, p_low, p_range], -1)
        bits = _StraightThroughRead.apply(p_all, hard, alt_start, alt_end, self.prefix_sums())

        eff_len = end - start
        ends_r = alt_end[..., 2 * half :]
        soft_len = (p_range * (ends_r - starts_r).to(p_range.dtype)).sum(-1)
        length_st = eff_len.to(bits.dtype) + (soft_len - soft_len.detach())
        rel = (length_st / c.max_read_range).unsqueeze(-1)
        encoded = self.encoder(torch.cat([bits * 2 - 1, rel], dim=-1))
        return MemoryRead(bits, encoded, self.offsets_mask(start, end))
