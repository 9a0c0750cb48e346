"""LeWorld against its memory-free and oracle baselines over seeds: small, seeded, fast.

:func:`small_run` trains LeWorld and its two baselines (same architecture, phases, budget
and data; the memory-free one reads zeros, the oracle reads the true ranges) at the size of
the world's learner (a 256 x 16-bit memory, width 32, 256 training and 64 held-out
sequences of 6 steps, phase epochs 12/6/2) and evaluates them on the held-out sequences.
:func:`leworld_quality` repeats it over seeds and adds the mean, a 95% interval and a
one-sided paired t-test of "LeWorld's held-out MSE is below the memory-free one's".
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch

from .config import BLMConfig, MemoryConfig, SLMConfig, TrainingConfig
from .data import DIFFICULTY_REGIONS, code_size
from .evaluate import Evaluator
from .pipeline import make_datasets
from .populate import MemoryPopulator
from .system import LeWorldSystem
from .trainers import Phase1Trainer, Phase2Trainer, Phase3Trainer

#: the memory of the small configuration (the world's learner's)
SMALL_MEMORY = MemoryConfig(num_words=256, word_size=16, max_read_range=8, encoder_dim=32, encoder_hidden=64)
#: models compared: name -> read mode
MODELS = {"leworld": "slm", "memory_free": "zero", "oracle": "oracle"}


def small_char_dim(difficulty: str, layout: str, memory: MemoryConfig = SMALL_MEMORY) -> int:
    """24, or the address codes' size plus 7 Gaussian dimensions when the codes need more."""
    needed = code_size(memory, DIFFICULTY_REGIONS[difficulty], layout)
    return 24 if needed <= 24 else needed + 7


def small_configs(
    seed: int = 0,
    difficulty: str = "medium",
    *,
    epochs: tuple[int, int, int] = (12, 6, 2),
    n_slms: int = 3,
    router_top_k: int = 0,
    **training,
) -> tuple[TrainingConfig, MemoryConfig, SLMConfig, BLMConfig]:
    """The small configuration: the ``routed`` preset (the world learner's) at the world learner's
    sizes, then the ``training`` overrides (``data_layout="columns", lambda_confidence=0,
    router_lr_scale=1`` give the reference)."""
    base = TrainingConfig.preset("routed", seed=seed, state_dim=16, sequence_length=6)
    tc = replace(base, phase1_epochs=epochs[0], phase2_epochs=epochs[1], phase3_epochs=epochs[2], **training)
    if "char_dim" not in training:
        tc = replace(tc, char_dim=small_char_dim(difficulty, tc.data_layout))
    slm = SLMConfig(state_dim=16, char_dim=tc.char_dim, d_model=32, info_dim=16)
    blm = BLMConfig(state_dim=16, d_model=32, n_slms=n_slms, info_dim=16, router_top_k=router_top_k)
    return tc, SMALL_MEMORY, slm, blm


def _build(seed, difficulty, models, num_train, num_val, **config):
    """``(training config, systems by name, train data, held-out data)``: one memory content for all."""
    unknown = set(models) - set(MODELS)
    if "leworld" not in models or unknown:
        raise ValueError(f"models must include 'leworld' and come from {tuple(MODELS)}, got {models}")
    tc, mc, sc, bc = small_configs(seed, difficulty, **config)
    systems = {name: LeWorldSystem(mc, sc, bc, read_mode=MODELS[name], seed=seed) for name in models}
    MemoryPopulator.structured_patterns(systems["leworld"].memory, seed=seed)
    with torch.no_grad():
        for system in systems.values():
            system.memory.memory.copy_(systems["leworld"].memory.memory)
    train, val = make_datasets(systems["leworld"], tc, num_train, num_val, difficulty)
    return tc, systems, train, val


def _train(system: LeWorldSystem, config: TrainingConfig, train, phases=(1, 2, 3)) -> None:
    trainers = {1: Phase1Trainer, 2: Phase2Trainer, 3: Phase3Trainer}
    for phase in phases:
        trainer = trainers[phase](system, config, train)
        for _ in range(getattr(config, f"phase{phase}_epochs")):
            trainer.train_epoch()


def small_run(
    seed: int = 0,
    difficulty: str = "medium",
    *,
    models: tuple[str, ...] = tuple(MODELS),
    num_train: int = 256,
    num_val: int = 64,
    eval_horizon: int = 3,
    **config,
) -> dict:
    """Train ``models`` (of :data:`MODELS`) alike on one seed; ``Evaluator.evaluate``'s result
    plus ``seconds``. ``config`` goes to :func:`small_configs`."""
    t0 = time.perf_counter()
    tc, systems, train, val = _build(seed, difficulty, models, num_train, num_val, **config)
    for system in systems.values():
        _train(system, tc, train)
    others = {k: v for k, v in systems.items() if k != "leworld"}
    result = Evaluator.evaluate(systems["leworld"], val, eval_horizon, **others)
    result["seconds"] = time.perf_counter() - t0
    return result


def mean_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval of the mean (``low = high = mean`` for one value)."""
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def leworld_quality(seeds=(0, 1, 2), difficulty: str = "medium", **config) -> dict:
    """Held-out MSE of LeWorld, memory-free and oracle per seed, mean and 95% interval, and a
    one-sided paired t-test of LeWorld < memory-free over the seeds.

    Returns ``{"difficulty", "seeds", "per_seed": {model: [mse...]}, "mean": {model: m},
    "ci95": {model: [low, high]}, "difference": {"mean", "ci95"} (LeWorld - memory-free),
    "p_value", "beats_memory_free" (p < 0.05 and mean difference < 0), "routing":
    {"routing_entropy", "routing_entropy_input", "slms_per_input"} (LeWorld, mean over seeds),
    "seconds"}``. ``config`` goes to :func:`small_run` (e.g. ``lambda_sparsity=0``).
    """
    from scipy import stats

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("leworld_quality needs at least one seed")
    t0 = time.perf_counter()
    runs = [small_run(seed, difficulty, **config) for seed in seeds]
    names = [name for name in MODELS if name in runs[0]]
    per_seed = {name: [run[name]["mse"] for run in runs] for name in names}
    diff = [a - b for a, b in zip(per_seed["leworld"], per_seed["memory_free"], strict=True)]
    p_value = float("nan")
    if len(seeds) > 1:
        p_value = float(
            stats.ttest_rel(per_seed["leworld"], per_seed["memory_free"], alternative="less").pvalue
        )
    d_mean, d_low, d_high = mean_interval(diff)
    keys = ("routing_entropy", "routing_entropy_input", "slms_per_input")
    return {
        "difficulty": difficulty,
        "seeds": seeds,
        "per_seed": per_seed,
        "mean": {name: mean_interval(v)[0] for name, v in per_seed.items()},
        "ci95": {name: list(mean_interval(v)[1:]) for name, v in per_seed.items()},
        "difference": {"mean": d_mean, "ci95": [d_low, d_high]},
        "p_value": p_value,
        "beats_memory_free": bool(d_mean < 0 and p_value < 0.05),
        "routing": {k: sum(run["leworld"][k] for run in runs) / len(runs) for k in keys},
        "seconds": time.perf_counter() - t0,
    }


#: phase-3 arms of :func:`info_request_ablation`: name -> TrainingConfig overrides
ABLATION_ARMS = {
    "request, paired": {},
    "request, detached": {"phase3_info_objective": "detached"},
    "no request": {"phase3_use_info": False},
}


def info_request_ablation(
    seeds=(0, 1, 2),
    difficulty: str = "medium",
    *,
    arms: dict[str, dict] | None = None,
    num_train: int = 256,
    num_val: int = 64,
    **config,
) -> dict:
    """Phase 3 with and without the info request at the same budget.

    Per seed, LeWorld is trained through phases 1-2 once; each arm then runs phase 3 on a
    copy (same batches, same epochs) with its overrides (:data:`ABLATION_ARMS`: the request
    trained through the paired objective, the reference's detached objective, and no
    request at all, which also predicts without it). Returns per-arm held-out MSE per seed,
    mean and 95% interval, and the paired difference of each arm to ``"no request"`` with a
    two-sided paired t-test.
    """
    import copy

    from scipy import stats

    arms = ABLATION_ARMS if arms is None else arms
    seeds = [int(s) for s in seeds]
    t0 = time.perf_counter()
    per_seed: dict[str, list[float]] = {name: [] for name in arms}
    for seed in seeds:
        tc, systems, train, val = _build(seed, difficulty, ("leworld",), num_train, num_val, **config)
        _train(systems["leworld"], tc, train, phases=(1, 2))
        for name, overrides in arms.items():
            system = copy.deepcopy(systems["leworld"])
            _train(system, replace(tc, **overrides), train, phases=(3,))
            per_seed[name].append(Evaluator.prediction_accuracy(system, val, 1)["mse"])
    base = per_seed.get("no request")
    versus = {}
    for name, values in per_seed.items():
        if base is None or name == "no request":
            continue
        diff = [a - b for a, b in zip(values, base, strict=True)]
        p = float(stats.ttest_rel(values, base).pvalue) if len(seeds) > 1 and any(diff) else float("nan")
        m, low, high = mean_interval(diff)
        versus[name] = {"mean": m, "ci95": [low, high], "p_value": p}
    return {
        "difficulty": difficulty,
        "seeds": seeds,
        "per_seed": per_seed,
        "mean": {k: mean_interval(v)[0] for k, v in per_seed.items()},
        "ci95": {k: list(mean_interval(v)[1:]) for k, v in per_seed.items()},
        "versus_no_request": versus,
        "seconds": time.perf_counter() - t0,
    }


def format_quality(result: dict) -> str:
    """A plain-text table of :func:`leworld_quality`'s result."""
    seeds = result["seeds"]
    head = (
        f"{'model':<12}" + "".join(f"{'seed ' + str(s):>10}" for s in seeds) + f"{'mean':>10}  95% interval"
    )
    lines = [f"held-out next-state MSE ({result['difficulty']}, small configuration)", head, "-" * len(head)]
    for name, values in result["per_seed"].items():
        low, high = result["ci95"][name]
        lines.append(
            f"{name:<12}"
            + "".join(f"{v:10.4f}" for v in values)
            + f"{result['mean'][name]:10.4f}  [{low:.4f}, {high:.4f}]"
        )
    d = result["difference"]
    r = result["routing"]
    lines.append(
        f"LeWorld - memory-free: {d['mean']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}], one-sided paired "
        f"t-test p = {result['p_value']:.3g} -> {'beats' if result['beats_memory_free'] else 'does NOT beat'} memory-free"
    )
    lines.append(
        f"LeWorld routing: {r['slms_per_input']:.2f} SLMs per input, per-input entropy "
        f"{r['routing_entropy_input']:.3f}, load entropy {r['routing_entropy']:.3f} nats; {result['seconds']:.0f} s"
    )
    return "\n".join(lines)


def format_ablation(result: dict) -> str:
    """A plain-text table of :func:`info_request_ablation`'s result."""
    seeds = result["seeds"]
    head = (
        f"{'phase 3':<20}"
        + "".join(f"{'seed ' + str(s):>10}" for s in seeds)
        + f"{'mean':>10}  vs no request"
    )
    lines = [
        f"held-out next-state MSE, phase 3 ablation ({result['difficulty']}, same budget)",
        head,
        "-" * len(head),
    ]
    for name, values in result["per_seed"].items():
        v = result["versus_no_request"].get(name)
        versus = (
            f"  {v['mean']:+.5f} [{v['ci95'][0]:+.5f}, {v['ci95'][1]:+.5f}] p={v['p_value']:.2g}" if v else ""
        )
        lines.append(
            f"{name:<20}" + "".join(f"{x:10.5f}" for x in values) + f"{result['mean'][name]:10.5f}" + versus
        )
    lines.append(f"({result['seconds']:.0f} s)")
    return "\n".join(lines)
