"""Dashboard panels of the training world's learners (LeWorld, canvas, dynamics): three extra grid rows.

Reads the world's stats view: for each learner its ``learner_step`` series (one record per reported step:
``{step, action, label, metrics}``) and its ``learner_eval`` report. Pure plotly traces (no unaiverse).
Column per learner: left LeWorld, center canvas, right dynamics; a learner that did not join leaves its
column's cells with an explanatory table.
"""

from __future__ import annotations

from typing import Any

from .layout import SidebarDash

__all__ = ["LEARNER_ROWS", "PANEL_TITLES", "add_learner_panels"]

#: Row names the learner panels use (added below the debate's three rows).
LEARNER_ROWS = ("learn1", "learn2", "learn3")

#: Panel titles per learner kind, top to bottom.
PANEL_TITLES = {
    "leworld": (
        "LeWorld: phase losses and router temperature",
        "LeWorld: held-out MSE vs memory-free baseline",
        "LeWorld: SLM usage and routing entropy",
    ),
    "canvas": (
        "Canvas: curriculum losses per phase and domain",
        "Canvas: forecast RMSE vs random walk and AR(1)",
        "Canvas: held-out forecasts vs truth",
    ),
    "dynamics": (
        "Dynamics: episode return and buffer size",
        "Dynamics: surprise and train loss",
        "Dynamics: imagined rollout vs what really happened",
    ),
}
_COLUMN = {"leworld": "left", "canvas": "center", "dynamics": "right"}
_PALETTE = ("#4D7FFF", "#00D4AA", "#FFB347", "#FF6692", "#B388FF", "#FF3B30", "#E0E0E0")


class _Panel:
    """A minimal panel (``data`` + ``layout``) for :meth:`SidebarDash.add_panel`."""

    def __init__(self, title: str):
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {"title": title, "xaxis": {}, "yaxis": {}}

    def line(self, x, y, name: str, k: int, dash: str | None = None, legend: bool = True) -> None:
        self.data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": list(x),
                "y": list(y),
                "name": name,
                "line": {"color": _PALETTE[k % len(_PALETTE)], **({"dash": dash} if dash else {})},
                "marker": {"size": 4},
                "showlegend": legend,
            }
        )

    def bar(self, x, y, name: str, k: int) -> None:
        self.data.append(
            {"type": "bar", "x": list(x), "y": list(y), "name": name, "marker": {"color": _PALETTE[k % 7]}}
        )

    def table(self, header: list[str], columns: list[list[Any]]) -> None:
        self.data.append(
            {
                "type": "table",
                "header": {"values": header, "fill": {"color": "#1B1E27"}, "font": {"color": "#C8CDD3"}},
                "cells": {
                    "values": [[str(v) for v in col] for col in columns],
                    "fill": {"color": "#12141B"},
                    "font": {"color": "#C8CDD3"},
                },
            }
        )

    def axes(self, x: str | None, y: str | None, **y_extra: Any) -> None:
        self.layout["xaxis"] = {"title": x}
        self.layout["yaxis"] = {"title": y, **y_extra}


def _steps(view: dict) -> list[dict]:
    return [v for _, v in (view.get("learner_step") or []) if isinstance(v, dict)]


def _num(v: Any, fmt: str = ".4f") -> str:
    return format(v, fmt) if isinstance(v, (int, float)) else "-"


def _leworld(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["leworld"]
    p1 = _Panel(titles[0])
    curves: dict[str, tuple[list, list]] = {}
    x = 0
    for rec in _steps(view):
        m = rec.get("metrics") or {}
        for ep in m.get("epochs") or []:
            x += 1
            for key in (
                "slm_loss",
                "blm_loss",
                "total_loss",
                "next_state_loss",
                "loss_with_info",
                "temperature",
            ):
                if isinstance(ep.get(key), (int, float)):
                    xs, ys = curves.setdefault(f"{key} (phase {m.get('phase')})", ([], []))
                    xs.append(x)
                    ys.append(ep[key])
    for k, (name, (xs, ys)) in enumerate(sorted(curves.items())):
        p1.line(xs, ys, name, k, dash="dot" if name.startswith("temperature") else None)
    p1.axes("epoch (all phases)", "loss / temperature", type="log")

    ev = view.get("learner_eval") or {}
    p2, p3 = _Panel(titles[1]), _Panel(titles[2])
    models = [m for m in ("memory_free", "leworld", "oracle") if isinstance(ev.get(m), dict)]
    if models:
        h = len(ev[models[0]].get("step_mses") or [])
        header = ["model", "MSE", "MAE"] + [f"h={i + 1}" for i in range(h)]
        cols = [models, [_num(ev[m].get("mse")) for m in models], [_num(ev[m].get("mae")) for m in models]]
        for i in range(h):
            cols.append([_num((ev[m].get("step_mses") or [None] * h)[i]) for m in models])
        p2.table(header, cols)
        for k, m in enumerate(models):
            usage = ev[m].get("slm_usage") or []
            p3.bar(
                [f"SLM {i + 1}" for i in range(len(usage))],
                usage,
                f"{m} (H={_num(ev[m].get('routing_entropy'), '.3f')})",
                k,
            )
        p3.axes(None, "usage")
    else:
        p2.table(["LeWorld"], [["evaluation not run yet"]])
        p3.table(["LeWorld"], [["evaluation not run yet"]])
    return [p1, p2, p3]


def _canvas(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["canvas"]
    p1 = _Panel(titles[0])
    steps = [r for r in _steps(view) if r.get("action") != "evaluate"]
    labels = [f"{r['metrics'].get('phase')}: {r['metrics'].get('name', '')}" for r in steps]
    groups = sorted({g for r in steps for g in (r["metrics"].get("group_losses") or {})})
    for k, g in enumerate(groups):
        pts = [
            (lab, r["metrics"]["group_losses"][g])
            for lab, r in zip(labels, steps, strict=True)
            if g in r["metrics"].get("group_losses", {})
        ]
        p1.line([a for a, _ in pts], [b for _, b in pts], f"train loss {g}", k)
    if steps:
        p1.line(
            labels,
            [(r["metrics"].get("heldout") or {}).get("rmse") for r in steps],
            "held-out RMSE (normalised)",
            5,
            dash="dot",
        )
    p1.axes("curriculum phase", "masked loss / RMSE")

    ev = view.get("learner_eval") or {}
    p2, p3 = _Panel(titles[1]), _Panel(titles[2])
    table = ev.get("rmse") or {}
    if table:
        methods = [m for m in ("random walk", "AR(1)", "canvas") if m in table]
        targets = sorted(table[methods[0]])
        for k, m in enumerate(methods):
            p2.bar(targets, [table[m][t] for t in targets], m, k + 2)
        p2.axes(f"target ({ev.get('n_test', '?')} held-out quarters)", "RMSE (series units)")
        for k, (key, s) in enumerate(sorted((ev.get("series") or {}).items())):
            xs = list(range(1, len(s.get("truth", [])) + 1))
            p3.line(xs, s.get("truth", []), f"{key} true", 2 * k + 6)
            p3.line(xs, s.get("canvas", []), f"{key} canvas", 2 * k, dash="dot")
        p3.axes("held-out quarter", "value")
    else:
        p2.table(["Canvas"], [["evaluation not run yet"]])
        p3.table(["Canvas"], [["evaluation not run yet"]])
    return [p1, p2, p3]


def _dynamics(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["dynamics"]
    steps = [r for r in _steps(view) if r.get("action") != "evaluate"]
    p1, p2, p3 = _Panel(titles[0]), _Panel(titles[1]), _Panel(titles[2])
    episodes = [e for r in steps for e in (r["metrics"].get("episodes") or [])]
    if episodes:
        p1.line([e["env_steps"] for e in episodes], [e["return"] for e in episodes], "episode return", 0)
    xs = [r["metrics"].get("total_env_steps") for r in steps]
    p1.line(xs, [r["metrics"].get("buffer_size") for r in steps], "buffer size", 1, dash="dot")
    ev = view.get("learner_eval") or {}
    if isinstance(ev.get("mean_return"), (int, float)) and xs:
        p1.line([xs[0], xs[-1]], [ev["mean_return"]] * 2, "eval mean return", 2, dash="dash")
        p1.line([xs[0], xs[-1]], [ev.get("solved_return")] * 2, "solved threshold", 5, dash="dash")
    p1.axes("real env steps", "return / transitions")
    p2.line(xs, [r["metrics"].get("surprise") for r in steps], "surprise", 3)
    p2.line(xs, [r["metrics"].get("train_loss") for r in steps], "train loss", 4)
    p2.axes("real env steps", None, type="log")
    last = next((r["metrics"] for r in reversed(steps) if r["metrics"].get("imagined")), None)
    if last is not None:
        for k, (dim, name) in enumerate(((2, "pole angle"), (0, "cart position"))):
            real = [s[dim] for s in last["real"] if len(s) > dim]
            imag = [s[dim] for s in last["imagined"] if len(s) > dim]
            p3.line(range(1, len(real) + 1), real, f"{name}: real", 2 * k + 1)
            p3.line(range(1, len(imag) + 1), imag, f"{name}: imagined", 2 * k, dash="dot")
        p3.axes("step of the last episode (same actions)", "state")
    else:
        p3.table(["Dynamics"], [["no episode finished yet"]])
    return [p1, p2, p3]


_BUILDERS = {"leworld": _leworld, "canvas": _canvas, "dynamics": _dynamics}


def add_learner_panels(dash: SidebarDash, learners: dict[str, dict]) -> None:
    """Add three panels per learner kind in ``learners`` (kind -> that learner's stats view) to ``dash``,
    whose rows must include :data:`LEARNER_ROWS`. Kinds that did not join get a one-cell note."""
    for kind, column in _COLUMN.items():
        view = learners.get(kind)
        if view is None:
            note = _Panel(f"{kind}: learner not joined")
            note.table([kind], [["this learner did not join the world"]])
            dash.add_panel(note, f"{column}_{LEARNER_ROWS[0]}")
            continue
        for panel, row in zip(_BUILDERS[kind](view), LEARNER_ROWS, strict=True):
            dash.add_panel(panel, f"{column}_{row}")
