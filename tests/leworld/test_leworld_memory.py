"""ArtificialMemory: reads against a naive reference, validation, gradients; populators."""

import pytest
import torch

from wmverse.leworld import ArtificialMemory, MemoryConfig, MemoryPopulator

SMALL = MemoryConfig(num_words=1024, word_size=16, max_read_range=16, encoder_dim=8, encoder_hidden=16)


def make_memory(seed: int = 0) -> ArtificialMemory:
    mem = ArtificialMemory(SMALL, seed=seed)
    MemoryPopulator.random_bits(mem, seed=seed)
    return mem


def naive_mean(mem: ArtificialMemory, start: int, end: int) -> torch.Tensor:
    acc = torch.zeros(mem.config.word_size)
    for w in range(start, end):
        acc += mem.memory[w]
    return acc / max(1, end - start)


def test_read_matches_naive_reference_over_batch_and_ranges():
    mem = make_memory()
    g = torch.Generator().manual_seed(1)
    start = torch.randint(0, 1024 - 16, (5, 3), generator=g)
    end = start + torch.randint(0, 17, (5, 3), generator=g)
    bits, encoded, mask = mem.read(start, end)
    assert bits.shape == (5, 3, 16) and encoded.shape == (5, 3, 8) and mask.shape == (5, 3, 16)
    for i in range(5):
        for j in range(3):
            s, e = int(start[i, j]), int(end[i, j])
            torch.testing.assert_close(bits[i, j], naive_mean(mem, s, e))
            assert int(mask[i, j].sum()) == e - s


def test_read_words_gathers_the_words():
    mem = make_memory()
    words, mask = mem.read_words(torch.tensor([10, 1000]), torch.tensor([13, 1008]))
    assert words.shape == (2, 16, 16)
    torch.testing.assert_close(words[0, :3], mem.memory[10:13])
    assert words[0, 3:].abs().sum() == 0 and mask[1].sum() == 8


def test_prefix_cache_follows_in_place_changes():
    mem = make_memory()
    before = mem.read(torch.tensor([0]), torch.tensor([4])).bits.clone()
    mem.memory[:4] = 1 - mem.memory[:4]
    after = mem.read(torch.tensor([0]), torch.tensor([4])).bits
    torch.testing.assert_close(after, 1 - before)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ([1020], [1030], "past the memory"),
        ([-1], [3], "before the memory"),
        ([5], [4], "end < start"),
        ([0], [40], "max_read_range"),
    ],
)
def test_bad_ranges_fail_clearly(start, end, message):
    with pytest.raises(ValueError, match=message):
        make_memory().read(torch.tensor(start), torch.tensor(end))


def test_bad_memory_configs_fail_clearly():
    with pytest.raises(ValueError, match="perfect square"):
        MemoryConfig(num_words=1000)
    with pytest.raises(ValueError, match="past the memory"):
        MemoryConfig(num_words=64, max_read_range=128)


def test_encoder_gets_gradients_and_straight_through_reaches_logits():
    mem = make_memory()
    mem.read(torch.tensor([3, 7]), torch.tensor([9, 20])).encoded.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mem.encoder.parameters())

    half, r = SMALL.half_space, SMALL.max_read_range
    logits = [torch.randn(4, half, requires_grad=True), torch.randn(4, half, requires_grad=True)]
    logits.append(torch.randn(4, r, requires_grad=True))
    probs = [lg.softmax(-1) for lg in logits]
    high, low, length = (lg.argmax(-1) for lg in logits)
    length = length + 1
    st = mem.read_straight_through(high, low, length, *probs)
    # forward value is exactly the hard read (cut at the memory's end)
    start = high * half + low
    hard = mem.read(start, (start + length).clamp(max=SMALL.num_words))
    torch.testing.assert_close(st.bits, hard.bits)
    (st.bits * torch.randn_like(st.bits)).sum().backward()
    assert all(lg.grad is not None and lg.grad.abs().sum() > 0 for lg in logits)


def test_structured_patterns_layout_and_determinism():
    mem_a, mem_b = ArtificialMemory(SMALL), ArtificialMemory(SMALL)
    MemoryPopulator.structured_patterns(mem_a, seed=3)
    MemoryPopulator.structured_patterns(mem_b, seed=3)
    assert torch.equal(mem_a.memory, mem_b.memory)
    m, q = mem_a.memory, 256
    assert torch.equal(m[:q].sum(1), torch.ones(q))  # cyclic single-bit words
    assert m[q + 5, 5 % 16] >= 0 and set(m.unique().tolist()) <= {0.0, 1.0}
    val = 77  # counting quarter, low bits hold the counter
    assert sum(int(m[2 * q + val, b]) << b for b in range(16)) == val
    torch.testing.assert_close(m[3 * q + 9], (m[9] + m[q + 9]) % 2)
    MemoryPopulator.structured_patterns(mem_b, seed=4)
    assert not torch.equal(mem_a.memory, mem_b.memory)


def test_from_experience_matches_per_row_median_rule():
    mem = ArtificialMemory(SMALL)
    exp = torch.randn(10, 20, generator=torch.Generator().manual_seed(0))
    assert MemoryPopulator.from_experience(mem, exp) == 10
    for i in range(10):
        feat = exp[i, :16]
        torch.testing.assert_close(mem.memory[i], (feat > feat.median()).float())
    short = torch.randn(3, 5)
    MemoryPopulator.from_experience(mem, short)
    assert mem.memory[0, 5:].sum() == 0
    with pytest.raises(ValueError, match="experiences"):
        MemoryPopulator.from_experience(mem, torch.randn(5))
