"""LeWorld throughput: the world's configuration phase by phase, training steps/s, memory population and reads.

Also phase-2 training steps/s and vectorised memory population and reads against per-word Python loops.

    python benchmarks/leworld.py [--world] [--threads N] [--repeats R] [--seed S] [--against REV]
    python benchmarks/leworld.py --quality [--seeds 0,1,2] [--difficulty medium]
    python benchmarks/leworld.py --info-ablation [--seeds 0,1,2] [--difficulty medium]

``--quality`` prints ``wmverse.leworld.quality.leworld_quality``: held-out MSE of LeWorld, memory-free
and oracle per seed at the world learner's size, mean, 95% interval and a one-sided paired t-test of
LeWorld < memory-free (about 25 s per seed at 1 thread on an idle core). ``--info-ablation`` prints
phase 3 with the info request (paired objective; the reference's detached one) against phase 3 without
it, same budget (about 15 s per seed).

``--world`` prints only the per-phase figure: wall time of phases 1, 2, 3 and the evaluation for the
configuration the world's ``leworld`` learner runs (difficulty medium, epochs 12/6/2, 256 training and 64
held-out sequences, LeWorld plus its memory-free baseline, the learner's default specialty layout and
presence-aware phase 1), best of ``--repeats``. ``--against REV`` also times the ``wmverse.leworld``
package as it was at git revision ``REV`` in the same process, runs interleaved, and checks that both
give the same per-epoch losses and held-out metrics, bit for bit; both then run the reference
configuration (columns layout, reference phase 1 and phase 3), which an older package also has.
Torch runs ``--threads`` threads (default 1, as the CLI runs). Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import importlib.util
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

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
    """Per-word loops (the same layout as MemoryPopulator.structured_patterns)."""
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


# ------------------------------------------------------------------ the world's configuration
REPO = Path(__file__).resolve().parents[1]
#: what the world's ``leworld`` learner builds (LeWorldLearnerConfig's defaults and LeWorldRunner)
WORLD = dict(difficulty="medium", epochs=(12, 6, 2), num_train=256, num_val=64, eval_horizon=3)
STAGES = ("phase 1", "phase 2", "phase 3", "evaluate")


def world_setup(lw: ModuleType, seed: int, reference: bool = False):
    """LeWorld and its memory-free baseline, data and training config, as the world's learner builds them
    (``reference``: the reference configuration, columns layout, which older packages also have)."""
    if not reference:
        from agents.learners.leworld import LeWorldLearnerConfig, LeWorldRunner

        runner = LeWorldRunner(LeWorldLearnerConfig(seed=seed))
        return runner.train_config, runner.systems, runner.train, runner.val
    e1, e2, e3 = WORLD["epochs"]
    extra = {}
    if hasattr(lw.TrainingConfig, "phase3_info_objective"):
        extra["phase3_info_objective"] = "detached"
    config = lw.TrainingConfig.preset(
        "demo", seed=seed, state_dim=16, char_dim=24, sequence_length=6,
        phase1_epochs=e1, phase2_epochs=e2, phase3_epochs=e3, **extra,
    )  # fmt: skip
    mem = lw.MemoryConfig(num_words=256, word_size=16, max_read_range=8, encoder_dim=32, encoder_hidden=64)
    slm = lw.SLMConfig(state_dim=16, char_dim=24, d_model=32, info_dim=16)
    blm = lw.BLMConfig(state_dim=16, d_model=32, n_slms=3, info_dim=16)
    systems = {"leworld": lw.LeWorldSystem(mem, slm, blm, seed=seed)}
    lw.MemoryPopulator.structured_patterns(systems["leworld"].memory, seed=seed)
    free = lw.LeWorldSystem(mem, slm, blm, read_mode="zero", seed=seed)
    with torch.no_grad():
        free.memory.memory.copy_(systems["leworld"].memory.memory)
    systems["memory_free"] = free
    train, val = lw.make_datasets(
        systems["leworld"], config, WORLD["num_train"], WORLD["num_val"], WORLD["difficulty"]
    )
    return config, systems, train, val


def world_run(lw: ModuleType, seed: int, reference: bool = False) -> tuple[dict[str, float], dict]:
    """One run of the world's plan: ``(seconds per stage, per-epoch metrics and evaluation)``."""
    config, systems, train, val = world_setup(lw, seed, reference)
    seconds: dict[str, float] = {}
    results: dict = {}
    trainers = (lw.Phase1Trainer, lw.Phase2Trainer, lw.Phase3Trainer)
    for stage, trainer_cls, epochs in zip(STAGES, trainers, WORLD["epochs"], strict=False):
        t0 = time.perf_counter()
        for name, system in systems.items():
            trainer = trainer_cls(system, config, train)
            results[f"{stage} {name}"] = [trainer.train_epoch() for _ in range(epochs)]
        seconds[stage] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results["evaluate"] = lw.Evaluator.evaluate(
        systems["leworld"], val, WORLD["eval_horizon"], memory_free=systems["memory_free"]
    )
    seconds["evaluate"] = time.perf_counter() - t0
    return seconds, results


def package_at(rev: str) -> ModuleType:
    """``wmverse.leworld`` as it was at git revision ``rev``, imported under another name."""
    src = "src/wmverse/leworld"
    try:
        names = subprocess.run(
            ["git", "ls-tree", "--name-only", f"{rev}:{src}"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"--against {rev}: {exc.stderr.strip()}") from None
    name = "_leworld_at_" + "".join(c if c.isalnum() else "_" for c in rev)
    tmp = tempfile.mkdtemp(prefix="leworld-bench-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    root = Path(tmp) / name
    root.mkdir()
    for file in (n for n in names if n.endswith(".py")):
        text = subprocess.run(
            ["git", "show", f"{rev}:{src}/{file}"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout
        (root / file).write_text(text)
    spec = importlib.util.spec_from_file_location(
        name, root / "__init__.py", submodule_search_locations=[str(root)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its relative imports resolve inside this copy
    spec.loader.exec_module(module)
    return module


#: metrics whose definition changed (routing entropy: of the load shares, no longer of the raw usage)
REDEFINED = {"routing_entropy"}


def _same(a, b) -> bool:
    """Exact equality of nested results (NaN equals NaN) over the keys both have, but :data:`REDEFINED`
    (an earlier package reports fewer metrics; each shared one must match bit for bit)."""
    if isinstance(a, dict):
        shared = (a.keys() & b.keys()) - REDEFINED if isinstance(b, dict) else set()
        return isinstance(b, dict) and bool(shared or not a) and all(_same(a[k], b[k]) for k in shared)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def world_figure(threads: int, repeats: int, seed: int, against: str | None) -> bool:
    """Print the per-stage figure; returns False when ``against`` gives different numbers."""
    import wmverse.leworld as current

    packages = {"this tree": current}
    if against:
        packages[f"at {against}"] = package_at(against)
    best = {label: dict.fromkeys(STAGES, math.inf) for label in packages}
    results = {}
    for r in range(repeats):
        order = list(packages.items())
        for label, lw in order[::-1] if r % 2 else order:  # interleaved, alternating who goes first
            gc.collect()
            seconds, results[label] = world_run(lw, seed, reference=against is not None)
            best[label] = {k: min(best[label][k], seconds[k]) for k in STAGES}
    e1, e2, e3 = WORLD["epochs"]
    print(
        f"world's LeWorld configuration ({WORLD['difficulty']}, epochs {e1}/{e2}/{e3}, {WORLD['num_train']} + "
        f"{WORLD['num_val']} sequences, LeWorld + memory-free, seed {seed}), {threads} thread(s), "
        f"best of {repeats}, seconds:"
    )
    labels = list(packages)
    print(f"{'stage':<10}" + "".join(f"{label:>16}" for label in labels) + ("   speed-up" if against else ""))
    for stage in (*STAGES, "total"):
        row = [sum(best[label].values()) if stage == "total" else best[label][stage] for label in labels]
        line = f"{stage:<10}" + "".join(f"{v:16.3f}" for v in row)
        print(line + (f"   {row[1] / row[0]:8.2f}x" if against else ""))
    ev = results["this tree"]["evaluate"]
    print(f"held-out MSE: LeWorld {ev['leworld']['mse']!r}, memory-free {ev['memory_free']['mse']!r}")
    if not against:
        return True
    same = _same(results["this tree"], results[labels[1]])
    verdict = "yes, bit for bit (shared metrics)" if same else "NO"
    print(f"same per-epoch metrics and held-out metrics as {against}: {verdict}")
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--world", action="store_true", help="only the per-phase figure of the world's configuration"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--repeats", type=int, default=3, help="runs of the world's configuration (best is shown)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--against", metavar="REV", help="also time (and compare with) the package at git REV")
    ap.add_argument("--quality", action="store_true", help="LeWorld vs memory-free vs oracle over --seeds")
    ap.add_argument("--info-ablation", action="store_true", help="phase 3 with vs without the info request")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of --quality / --info-ablation (default 0,1,2)")
    ap.add_argument("--difficulty", choices=("easy", "medium", "hard"), default="medium")
    args = ap.parse_args()
    if args.threads < 1 or args.repeats < 1:
        ap.error("--threads and --repeats must be >= 1")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    if args.quality or args.info_ablation:
        try:
            seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
        except ValueError:
            ap.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
        if not seeds:
            ap.error("--seeds needs at least one seed")
        from wmverse.leworld.quality import (
            format_ablation,
            format_quality,
            info_request_ablation,
            leworld_quality,
        )

        if args.quality:
            print(format_quality(leworld_quality(seeds, args.difficulty)))
        if args.info_ablation:
            print(format_ablation(info_request_ablation(seeds, args.difficulty)))
        return 0
    same = world_figure(args.threads, args.repeats, args.seed, args.against)
    if not args.world:
        micro()
    return 0 if same else 1


def micro() -> None:
    print(f"memory {DEMO_MEMORY.num_words} x {DEMO_MEMORY.word_size} bits")

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
    sys.exit(main())
