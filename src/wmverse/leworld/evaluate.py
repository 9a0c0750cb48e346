"""Evaluation of LeWorld against a memory-free baseline and an oracle.

Metrics (``Evaluator.prediction_accuracy``):
- ``mse``, ``mae``: one-step (teacher-forced) next-state errors over every transition;
- ``step_mses``: open-loop rollout error at horizons 1..n_steps from the first state;
- ``slm_usage``: share of inputs (steps) that gate each SLM on;
- ``routing_entropy``: entropy (nats) of the load shares ``u / sum(u)`` (``log n``: equal
  loads, whether dense or balanced-sparse; 0: one SLM carries everything);
- ``routing_entropy_input``: mean over inputs of the entropy of that input's normalised
  hard gates (``log k`` with ``k`` SLMs on); ``slms_per_input``: mean ``k``;
- ``address_accuracy``: share of (step, SLM i) whose start is relevant range i's start.

``Evaluator.evaluate`` adds the baselines and ``gap_closed``:
``(mse_memory_free - mse_leworld) / (mse_memory_free - mse_oracle)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from . import losses as L
from .data import StateTransitionDataset
from .system import LeWorldSystem


def _batches(data: Iterable[dict] | StateTransitionDataset, batch_size: int = 64) -> Iterable[dict]:
    if isinstance(data, StateTransitionDataset):
        return data.batches(batch_size)
    return data


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1%}"


class Evaluator:
    """Held-out metrics; never changes the systems it evaluates (restores train/eval mode)."""

    @staticmethod
    def prediction_accuracy(
        system: LeWorldSystem, dataloader: Iterable[dict] | StateTransitionDataset, n_steps: int = 5
    ) -> dict:
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        was_training = system.training
        system.eval()
        sq = ab = 0.0
        count = 0
        horizon_sq = torch.zeros(n_steps)
        horizon_n = 0
        masks = []
        hits = real = 0
        with torch.no_grad():
            for batch in _batches(dataloader):
                states, chars = batch["states"], batch["characteristics"]
                regions = (batch["relevant_starts"], batch["relevant_ends"])
                out = system.multi_step_forward(states, chars, regions=regions)
                err = out["predictions"] - states[:, 1:]
                sq += float((err**2).sum())
                ab += float(err.abs().sum())
                count += err.numel()
                masks.append(out["masks"])
                # address accuracy: SLM i's hard start equals relevant range i's start
                n = min(out["addresses"].shape[2], regions[0].shape[1])
                true_start, true_end = regions[0][:, None, :n], regions[1][:, None, :n]
                has = (true_end > true_start).expand(-1, out["addresses"].shape[1], -1)
                hit = out["addresses"][:, :, :n, 0] == true_start
                hits += int((hit & has).sum())
                real += int(has.sum())
                roll = system.multi_step_forward(states, chars, n_steps, regions=regions, open_loop=True)
                h = roll["predictions"].shape[1]
                per = ((roll["predictions"] - states[:, 1 : h + 1]) ** 2).mean(dim=(0, 2)) * states.shape[0]
                horizon_sq[:h] += per
                horizon_n += states.shape[0]
        system.train(was_training)
        if count == 0:
            raise ValueError("no evaluation batches")
        all_masks = torch.cat(masks, 0)
        entropy, usage = L.routing_entropy(all_masks)
        entropy_input, per_input = L.routing_per_input(all_masks)
        return {
            "mse": sq / count,
            "mae": ab / count,
            "step_mses": (horizon_sq / max(1, horizon_n)).tolist(),
            "routing_entropy": entropy,
            "slm_usage": usage.tolist(),
            "routing_entropy_input": entropy_input,
            "slms_per_input": per_input,
            # only LeWorld reads where its SLMs point; the baselines' SLM addresses are unused
            "address_accuracy": hits / real if real and system.read_mode == "slm" else float("nan"),
        }

    @classmethod
    def evaluate(
        cls,
        system: LeWorldSystem,
        dataloader: Iterable[dict] | StateTransitionDataset,
        n_steps: int = 5,
        *,
        memory_free: LeWorldSystem | None = None,
        oracle: LeWorldSystem | None = None,
    ) -> dict:
        """Metrics of ``system`` and of the given baselines, plus the share of the gap closed."""
        data = dataloader if isinstance(dataloader, StateTransitionDataset) else list(dataloader)
        result: dict = {"leworld": cls.prediction_accuracy(system, data, n_steps)}
        if memory_free is not None:
            result["memory_free"] = cls.prediction_accuracy(memory_free, data, n_steps)
        if oracle is not None:
            result["oracle"] = cls.prediction_accuracy(oracle, data, n_steps)
        if memory_free is not None and oracle is not None:
            gap = result["memory_free"]["mse"] - result["oracle"]["mse"]
            closed = result["memory_free"]["mse"] - result["leworld"]["mse"]
            result["gap_closed"] = closed / gap if gap > 0 else float("nan")
        if memory_free is not None:
            result["beats_memory_free"] = result["leworld"]["mse"] < result["memory_free"]["mse"]
        return result

    @staticmethod
    def format_table(result: dict) -> str:
        """A plain-text table of ``evaluate``'s result."""
        rows = [name for name in ("memory_free", "leworld", "oracle") if name in result]
        n_h = len(result["leworld"]["step_mses"])
        head = f"{'model':<12} {'MSE':>8} {'MAE':>8} " + " ".join(
            f"{'h=' + str(i + 1):>7}" for i in range(n_h)
        )
        head += f" {'load H':>7} {'input H':>7} {'SLMs/in':>7} {'addr acc':>8}  SLM usage"
        lines = [head, "-" * len(head)]
        for name in rows:
            m = result[name]
            horizons = " ".join(f"{v:7.4f}" for v in m["step_mses"])
            usage = ",".join(f"{u:.2f}" for u in m["slm_usage"])
            lines.append(
                f"{name:<12} {m['mse']:8.4f} {m['mae']:8.4f} {horizons} {m['routing_entropy']:7.3f} "
                f"{m['routing_entropy_input']:7.3f} {m['slms_per_input']:7.2f} {_pct(m['address_accuracy']):>8}  [{usage}]"
            )
        if "gap_closed" in result:
            lines.append(
                f"share of the memory-free -> oracle MSE gap closed by LeWorld: {result['gap_closed']:.1%}"
            )
        return "\n".join(lines)
