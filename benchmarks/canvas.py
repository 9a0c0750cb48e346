"""Canvas world model throughput: training steps/s of the canvas model vs an
``nn.TransformerEncoder`` of the same width, depth and heads over the same tokens, and
data-loading throughput of the mixed dataloader. Run: ``python benchmarks/canvas.py``.

``--quality`` runs the zero-overlap experiment instead (:func:`wmverse.canvas.quality.canvas_quality`:
each dataset alone vs the mixture, random walk, AR(1), over ``--seeds``) and prints its table;
``--arms`` adds the mixture's ablations (``mixture_no_regime``, ``mixture_no_semantic_type``)."""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from wmverse.canvas.adapters import fred_adapter, yahoo_finance_adapter
from wmverse.canvas.curriculum import bind_sources
from wmverse.canvas.data import build_mixed_dataloader
from wmverse.canvas.model import CanvasModelConfig
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig, cycle


class PlainEncoderModel(nn.Module):
    """Same per-field value/identity embedding sizes, full attention over all T*n tokens."""

    def __init__(self, n_fields: int, cfg: CanvasModelConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.inp = nn.Linear(2, d)
        self.field = nn.Embedding(n_fields, d)
        self.time = nn.Embedding(cfg.max_time, d)
        layer = nn.TransformerEncoderLayer(
            d, cfg.n_heads, cfg.ff_mult * d, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.enc = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.out = nn.Linear(d, 1)

    def forward(self, values: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        b, t, n = values.shape
        x = self.inp(torch.stack([values * visible, visible], -1))
        x = x + self.field.weight[None, None] + self.time.weight[:t, None]
        return self.out(self.enc(x.reshape(b, t * n, -1))).view(b, t, n)


def time_steps(fn, n: int) -> float:
    for _ in range(3):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quality", action="store_true", help="run the zero-overlap experiment")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument(
        "--quality-steps", type=int, default=None, help="steps per model (default: QualityConfig)"
    )
    ap.add_argument("--arms", nargs="+", default=["alone", "mixture"])
    ap.add_argument("--json", default=None, help="also write the result as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.quality:
        quality(args)
        return
    sources = [fred_adapter(), yahoo_finance_adapter()]
    bound = bind_sources(sources)
    loader = build_mixed_dataloader(bound, sources, batch_size=args.batch_size, window=args.window, seed=0)
    print(
        f"canvas: {bound.n_fields} fields x window {args.window} = {bound.n_fields * args.window} tokens/sample, "
        f"batch {args.batch_size}, torch threads {args.threads}, CPU (shared machine: approximate)"
    )

    start = time.perf_counter()
    n_batches = 0
    for _ in range(20):
        for _ in loader:
            n_batches += 1
    dt = time.perf_counter() - start
    print(
        f"data loading: {n_batches * args.batch_size / dt:,.0f} windows/s ({n_batches / dt:,.0f} batches/s)"
    )

    for name, cfg in (
        ("small", CanvasModelConfig(d_model=32, n_layers=2, n_heads=4)),
        ("base", CanvasModelConfig(d_model=64, n_layers=3, n_heads=4)),
    ):
        canvas_sps, plain_sps, n_canvas, n_plain = bench_pair(bound, loader, cfg, args.steps)
        print(
            f"{name} (d={cfg.d_model}, layers={cfg.n_layers}, heads={cfg.n_heads}): canvas model "
            f"{canvas_sps:.1f} steps/s ({n_canvas:,} params) vs nn.TransformerEncoder {plain_sps:.1f} steps/s "
            f"({n_plain:,} params)"
        )


def quality(args: argparse.Namespace) -> None:
    import json
    from dataclasses import replace

    from wmverse.canvas.quality import QualityConfig, canvas_quality, format_quality

    cfg = QualityConfig(arms=tuple(args.arms))
    if args.quality_steps:
        cfg = replace(cfg, n_steps=args.quality_steps)
    start = time.perf_counter()
    res = canvas_quality(args.seeds, cfg, progress=True)
    print(format_quality(res))
    print(f"({time.perf_counter() - start:.0f} s, torch threads {args.threads})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


def bench_pair(bound, loader, cfg: CanvasModelConfig, steps: int) -> tuple[float, float, int, int]:
    """Training steps/s of the canvas model and of the plain encoder on the same batches."""
    trainer = MaskedCanvasTrainer(bound, model_config=cfg, config=TrainerConfig(seed=0))
    it = cycle(loader)
    canvas_sps = time_steps(lambda: trainer.step(next(it)), steps)
    plain = PlainEncoderModel(bound.n_fields, cfg)
    opt = torch.optim.AdamW(plain.parameters(), lr=1e-3)
    it2 = cycle(loader)

    def plain_step() -> None:
        batch = next(it2)
        vis = (batch["presence"] > 0).float()
        vis[:, -1] = 0
        pred = plain(batch["values"], vis)
        hidden = batch["presence"] * (1 - vis)
        loss = ((pred - batch["values"]) ** 2 * hidden).sum() / hidden.sum().clamp_min(1)
        opt.zero_grad()
        loss.backward()
        opt.step()

    plain_sps = time_steps(plain_step, steps)
    n_canvas = sum(p.numel() for p in trainer.model.parameters())
    return canvas_sps, plain_sps, n_canvas, sum(p.numel() for p in plain.parameters())


if __name__ == "__main__":
    main()
