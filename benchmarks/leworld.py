"""LeWorld throughput: phase-2 training steps/s, and vectorised memory population and
reads against per-word Python loops (the seed's way).

Run: ``python benchmarks/leworld.py``. Single-threaded torch (as the CLI runs); the
figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import torch

from wmverse.leworld import (
    DEMO_MEMORY,
    ArtificialMemory,
    MemoryPopulator,
    Phase2Trainer,
    default_system,
    demo_config,
    make_datasets,
)


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ------------------------------------------------------------------ per-word references
def structured_patterns_loop(
    memory: ArtificialMemory, seed: int = 0, block_words: int = 32, flip_prob: float = 0.1
):
    """The seed's per-word loops (same layout as MemoryPopulator.structured_patterns)."""
    n, w = memory.config.num_words, memory.config.word_size
    q = n // 4
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randint(0, 2, (-(-q // block_words), w), generator=g)
    flips = torch.rand(q, w, generator=g) < flip_prob
    m = memory.memory
    with torch.no_grad():
        for i in range(q):
            pattern = torch.zeros(w)
            pattern[i % w] = 1.0
            m[i] = pattern
        for i in range(q, 2 * q):
            m[i] = (patterns[(i - q) // block_words] ^ flips[i - q].long()).float()
        for i in range(2 * q, 3 * q):
            binary = torch.zeros(w)
            val = i - 2 * q
            for bit in range(min(w, 16)):
                binary[bit] = float((val >> bit) & 1)
            m[i] = binary
        for i in range(3 * q, n):
            m[i] = (m[i % q] + m[q + i % q]) % 2


def read_loop(memory: ArtificialMemory, starts: list[int], ends: list[int]) -> torch.Tensor:
    """Mean bits of each range by accumulating word after word."""
    out = torch.zeros(len(starts), memory.config.word_size)
    for r, (s, e) in enumerate(zip(starts, ends, strict=True)):
        acc = torch.zeros(memory.config.word_size)
        for word in range(s, e):
            acc += memory.memory[word]
        out[r] = acc / max(1, e - s)
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help; no options
    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, 1 thread; memory {DEMO_MEMORY.num_words} x {DEMO_MEMORY.word_size} bits"
    )

    # population
    mem_vec, mem_loop = ArtificialMemory(DEMO_MEMORY), ArtificialMemory(DEMO_MEMORY)
    t_vec = best_of(lambda: MemoryPopulator.structured_patterns(mem_vec))
    t_loop = best_of(lambda: structured_patterns_loop(mem_loop), repeats=1)
    assert torch.equal(mem_vec.memory, mem_loop.memory), "loop and vectorised population differ"
    print(
        f"structured population: vectorised {t_vec * 1e3:.2f} ms, per-word loop {t_loop * 1e3:.0f} ms -> {t_loop / t_vec:.0f}x"
    )

    exp = torch.randn(DEMO_MEMORY.num_words, 48)
    t_vec = best_of(lambda: MemoryPopulator.from_experience(mem_vec, exp))

    def exp_loop():
        w = DEMO_MEMORY.word_size
        for i in range(exp.shape[0]):
            feat = exp[i, :w]
            mem_loop.memory[i] = (feat > feat.median()).float()

    t_loop = best_of(exp_loop, repeats=1)
    assert torch.equal(mem_vec.memory, mem_loop.memory)
    print(
        f"from_experience population: vectorised {t_vec * 1e3:.2f} ms, per-word loop {t_loop * 1e3:.0f} ms -> {t_loop / t_vec:.0f}x"
    )

    # reads: 32 sequences x 3 SLMs = 96 ranges of up to 64 words
    MemoryPopulator.structured_patterns(mem_vec)
    g = torch.Generator().manual_seed(0)
    starts = torch.randint(0, DEMO_MEMORY.num_words - 64, (32, 3), generator=g)
    ends = starts + torch.randint(8, 65, (32, 3), generator=g)
    mem_vec.read(starts, ends)  # build the prefix sums once (rebuilt only when the memory changes)
    with torch.no_grad():
        t_vec = best_of(lambda: mem_vec.read(starts, ends).bits, repeats=20)
        t_bits = best_of(lambda: mem_vec.range_mean(starts, ends), repeats=20)
    t_loop = best_of(
        lambda: read_loop(mem_vec, starts.flatten().tolist(), ends.flatten().tolist()), repeats=1
    )
    ref = read_loop(mem_vec, starts.flatten().tolist(), ends.flatten().tolist()).view(32, 3, -1)
    torch.testing.assert_close(mem_vec.range_mean(starts, ends), ref)
    print(
        f"read of 96 ranges (mean bits): vectorised {t_bits * 1e6:.0f} us ({t_vec * 1e6:.0f} us with checks + encoder), "
        f"per-word loop {t_loop * 1e3:.0f} ms -> {t_loop / t_bits:.0f}x ({t_loop / t_vec:.0f}x with encoder)"
    )

    # phase-2 training steps/s
    config = demo_config("medium", seed=0)
    system = default_system(config, memory=DEMO_MEMORY)
    MemoryPopulator.structured_patterns(system.memory)
    train, _ = make_datasets(system, config, 128, 8, "medium")
    trainer = Phase2Trainer(system, config, train)
    batches = list(train.batches(config.phase2_batch_size))
    trainer.train_step(batches[0])
    n = 12
    t0 = time.perf_counter()
    for i in range(n):
        trainer.train_step(batches[i % len(batches)])
    dt = time.perf_counter() - t0
    print(
        f"phase-2 training: {n / dt:.2f} steps/s (batch {config.phase2_batch_size}, {config.sequence_length - 1} "
        f"transitions per sequence, 3 SLMs, {sum(p.numel() for p in system.parameters()):,} parameters)"
    )


if __name__ == "__main__":
    main()
