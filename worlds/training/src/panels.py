"""Dashboard panels of the training world's learners (LeWorld, canvas, dynamics): three extra grid rows.

Reads the world's stats view: for each learner its ``learner_step`` series (one record per reported step:
``{step, action, label, metrics}``) and its ``learner_eval`` report. Pure plotly traces (no unaiverse).
Column per learner: left LeWorld, center canvas, right dynamics. A panel without data (a learner that did not
join, an evaluation that has not run yet) keeps its title and says "no data yet" and why; styling (grid,
fonts, legend per panel) is the dashboard theme's (``wmverse.dashboard.theme``), whose palette is the
only source of colours here.
"""

from __future__ import annotations

from typing import Any

from wmverse.dashboard import SidebarDash
from wmverse.dashboard.theme import PALETTE

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
#: CartPole state dimensions drawn in the rollout panel: (index, name, unit, colour); the first is on the left
#: axis, the second on the right one.
_CARTPOLE = ((2, "pole angle", "rad", PALETTE[2]), (0, "cart position", "m", PALETTE[0]))


class _Panel:
    """A minimal panel (``data`` + ``layout``) for :meth:`SidebarDash.add_panel`, with a note for its empty
    state."""

    def __init__(self, title: str, empty_note: str | None = None):
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {"title": title, "xaxis": {}, "yaxis": {}}
        self.empty_note = empty_note

    def line(
        self,
        x,
        y,
        name: str,
        color: str,
        dash: str | None = None,
        legend: bool = True,
        markers: bool = True,
        yaxis: str | None = None,
    ) -> None:
        self.data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if markers else "lines",
                "x": list(x),
                "y": list(y),
                "name": name,
                "line": {"color": color, "width": 2, **({"dash": dash} if dash else {})},
                "marker": {"size": 4, "color": color},
                "showlegend": legend,
                **({"yaxis": yaxis} if yaxis else {}),
            }
        )

    def bar(self, x, y, name: str, color: str) -> None:
        self.data.append(
            {"type": "bar", "x": list(x), "y": list(y), "name": name, "marker": {"color": color}}
        )

    def table(self, header: list[str], columns: list[list[Any]]) -> None:
        self.data.append(
            {
                "type": "table",
                "header": {"values": header},
                "cells": {"values": [[str(v) for v in col] for col in columns]},
            }
        )

    def axes(self, x: str | None, y: str | None, y2: str | None = None, **y_extra: Any) -> None:
        self.layout["xaxis"] = {"title": x}
        self.layout["yaxis"] = {"title": y, **y_extra}
        if y2:
            self.layout["yaxis2"] = {"title": y2, "overlaying": "y", "side": "right"}


def _color(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _steps(view: dict) -> list[dict]:
    return [v for _, v in (view.get("learner_step") or []) if isinstance(v, dict)]


def _num(v: Any, fmt: str = ".4f") -> str:
    return format(v, fmt) if isinstance(v, (int, float)) else "-"


def _short_group(group: str) -> str:
    """``country_us.macro+country_us.rates`` -> ``macro+rates`` (legend entries stay short)."""
    return "+".join(part.rsplit(".", 1)[-1] for part in group.split("+"))


def _leworld(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["leworld"]
    p1 = _Panel(titles[0], "no training phase reported yet")
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
        p1.line(xs, ys, name, _color(k), dash="dot" if name.startswith("temperature") else None)
    p1.axes("training epoch (all phases)", "loss (MSE) / temperature", type="log")

    ev = view.get("learner_eval") or {}
    note = "held-out evaluation not run yet"
    p2, p3 = _Panel(titles[1], note), _Panel(titles[2], note)
    models = [m for m in ("memory_free", "leworld", "oracle") if isinstance(ev.get(m), dict)]
    if models:
        h = len(ev[models[0]].get("step_mses") or [])
        header = ["model", "MSE", "MAE"] + [f"MSE h={i + 1}" for i in range(h)]
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
                _color(k),
            )
        p3.axes("small memory module (SLM)", "usage (fraction of reads)")
    return [p1, p2, p3]


def _canvas(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["canvas"]
    p1 = _Panel(titles[0], "no curriculum phase reported yet")
    steps = [r for r in _steps(view) if r.get("action") != "evaluate"]
    labels = [f"{r['metrics'].get('phase')}: {r['metrics'].get('name', '')}" for r in steps]
    groups = sorted({g for r in steps for g in (r["metrics"].get("group_losses") or {})})
    for k, g in enumerate(groups):
        pts = [
            (lab, r["metrics"]["group_losses"][g])
            for lab, r in zip(labels, steps, strict=True)
            if g in r["metrics"].get("group_losses", {})
        ]
        p1.line([a for a, _ in pts], [b for _, b in pts], f"train loss {_short_group(g)}", _color(k))
    if steps:
        p1.line(
            labels,
            [(r["metrics"].get("heldout") or {}).get("rmse") for r in steps],
            "held-out RMSE",
            _color(5),
            dash="dot",
        )
    p1.axes("curriculum phase", "masked MSE / RMSE (normalised)")

    ev = view.get("learner_eval") or {}
    note = "held-out forecast not run yet"
    p2, p3 = _Panel(titles[1], note), _Panel(titles[2], note)
    table = ev.get("rmse") or {}
    if table:
        methods = [m for m in ("random walk", "AR(1)", "canvas") if m in table]
        targets = sorted(table[methods[0]])
        for k, m in enumerate(methods):
            p2.bar(targets, [table[m][t] for t in targets], m, _color(k + 2))
        p2.axes(f"target ({ev.get('n_test', '?')} held-out quarters)", "RMSE (percentage points)")
        for k, (key, s) in enumerate(sorted((ev.get("series") or {}).items())):
            xs = list(range(1, len(s.get("truth", [])) + 1))
            color = _color(k)
            p3.line(xs, s.get("truth", []), f"{key}: truth", color, markers=False)
            p3.line(xs, s.get("canvas", []), f"{key}: canvas forecast", color, dash="dash", markers=False)
        p3.axes("held-out quarter", "rate (%)")
    return [p1, p2, p3]


def _dynamics(view: dict) -> list[_Panel]:
    titles = PANEL_TITLES["dynamics"]
    steps = [r for r in _steps(view) if r.get("action") != "evaluate"]
    p1 = _Panel(titles[0], "no environment steps reported yet")
    p2 = _Panel(titles[1], "no environment steps reported yet")
    p3 = _Panel(titles[2], "no episode finished yet")
    episodes = [e for r in steps for e in (r["metrics"].get("episodes") or [])]
    if episodes:
        p1.line(
            [e["env_steps"] for e in episodes], [e["return"] for e in episodes], "episode return", _color(0)
        )
    xs = [r["metrics"].get("total_env_steps") for r in steps]
    ev = view.get("learner_eval") or {}
    if isinstance(ev.get("mean_return"), (int, float)) and xs:
        p1.line(
            [xs[0], xs[-1]],
            [ev["mean_return"]] * 2,
            "eval mean return",
            _color(2),
            dash="dash",
            markers=False,
        )
        if isinstance(ev.get("solved_return"), (int, float)):
            p1.line(
                [xs[0], xs[-1]],
                [ev["solved_return"]] * 2,
                "solved threshold",
                _color(5),
                dash="dot",
                markers=False,
            )
    if xs:
        p1.line(xs, [r["metrics"].get("buffer_size") for r in steps], "buffer size", _color(1), yaxis="y2")
    p1.axes("real env steps", "episode return", y2="buffer size (transitions)")
    p2.line(xs, [r["metrics"].get("surprise") for r in steps], "surprise", _color(3))
    p2.line(xs, [r["metrics"].get("train_loss") for r in steps], "train loss", _color(4))
    p2.axes("real env steps", "one-step error (MSE, log)", type="log")
    last = next((r["metrics"] for r in reversed(steps) if r["metrics"].get("imagined")), None)
    if last is not None:
        # same colour per state variable; solid = what really happened, dashed = imagined by the model
        for dim, name, _unit, color in _CARTPOLE:
            real = [s[dim] for s in last.get("real") or [] if len(s) > dim]
            imag = [s[dim] for s in last["imagined"] if len(s) > dim]
            axis = None if dim == _CARTPOLE[0][0] else "y2"
            p3.line(range(1, len(real) + 1), real, f"{name}: real", color, markers=False, yaxis=axis)
            p3.line(
                range(1, len(imag) + 1),
                imag,
                f"{name}: imagined",
                color,
                dash="dash",
                markers=False,
                yaxis=axis,
            )
        p3.axes(
            "env step of the last episode",
            f"{_CARTPOLE[0][1]} ({_CARTPOLE[0][2]})",
            y2=f"{_CARTPOLE[1][1]} ({_CARTPOLE[1][2]})",
        )
    return [p1, p2, p3]


_BUILDERS = {"leworld": _leworld, "canvas": _canvas, "dynamics": _dynamics}


def add_learner_panels(dash: SidebarDash, learners: dict[str, dict]) -> None:
    """Add three panels per learner kind (LeWorld, canvas, dynamics) to ``dash``, whose rows must include
    :data:`LEARNER_ROWS`. ``learners`` maps kind -> that learner's stats view; a kind missing from it keeps
    its three titled cells, each saying "no data yet" because the learner did not join."""
    for kind, column in _COLUMN.items():
        view = learners.get(kind)
        if view is None:
            panels = [_Panel(t, f"the {kind} learner did not join this run") for t in PANEL_TITLES[kind]]
        else:
            panels = _BUILDERS[kind](view)
        for panel, row in zip(panels, LEARNER_ROWS, strict=True):
            dash.add_panel(panel, f"{column}_{row}", empty_note=panel.empty_note)
