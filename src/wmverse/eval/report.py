"""The report of ``wmverse eval``: statistics of every group, one combined table, JSON.

:func:`build_report` turns :class:`~.harness.ModelResult` groups into a JSON-safe dict (per-seed
values, mean with 95% interval of every arm, and the paired comparison of the trained arm with
each baseline, :mod:`.stats`); :func:`format_table` prints it as ONE pipe table (Markdown), a row
per (model, baseline), with the test and its direction stated under it. A quick run is marked
QUICK above and below the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .harness import ModelResult
from .stats import compare, finite_or_none, summarise

__all__ = ["TEST_NOTE", "build_report", "format_table", "seed_list"]

TEST_NOTE = (
    "diff = trained - baseline, paired by seed. p: one-sided paired tests over seeds of "
    '"trained is better than the baseline" (higher accuracy/return, lower error): '
    "Wilcoxon signed-rank (zero differences dropped) and paired t. "
    "W/L/T: seeds where trained is better/worse/tied. Intervals: 95% Student t over seeds."
)

QUICK_BANNER = "QUICK run (tiny budgets for smoke tests): NOT the real figures"


def seed_list(seeds: Sequence[int]) -> str:
    """``0-9`` for a contiguous ascending run, else the seeds joined by commas."""
    s = list(seeds)
    if len(s) > 2 and s == list(range(s[0], s[0] + len(s))):
        return f"{s[0]}-{s[-1]}"
    return ",".join(str(x) for x in s)


def build_report(
    groups: Sequence[ModelResult],
    seeds: Sequence[int],
    *,
    quick: bool,
    command: str = "",
    seconds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """``{"quick", "command", "seeds", "test", "seconds", "groups": [{"label", "model", "metric",
    "higher_is_better", "trained", "seeds", "scale", "digits", "notes", "details", "arms":
    {arm: summarise(...)}, "paired": {baseline: compare(trained, baseline)}}]}`` with every
    non-finite float replaced by ``None``."""
    out_groups = []
    for g in groups:
        trained = g.per_seed[g.trained]
        out_groups.append(
            {
                "label": g.label,
                "model": g.model,
                "metric": g.metric,
                "higher_is_better": g.higher_is_better,
                "trained": g.trained,
                "seeds": list(g.seeds),
                "scale": g.scale,
                "digits": g.digits,
                "notes": list(g.notes),
                "details": g.details,
                "arms": {arm: summarise(values) for arm, values in g.per_seed.items()},
                "paired": {b: compare(trained, g.per_seed[b], g.higher_is_better) for b in g.baselines},
            }
        )
    return finite_or_none(
        {
            "quick": quick,
            "command": command,
            "seeds": list(seeds),
            "test": TEST_NOTE,
            "seconds": dict(seconds or {}),
            "groups": out_groups,
        }
    )


def _num(x: float | None, scale: float, digits: int, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x * scale:{'+' if sign else ''}.{digits}f}"


def _ci(s: dict[str, Any], scale: float, digits: int) -> str:
    mean, low, high = (_num(s[k], scale, digits) for k in ("mean", "ci_low", "ci_high"))
    return f"{mean} [{low}, {high}]"


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


HEADER = (
    "model",
    "metric",
    "trained: mean [95% CI]",
    "baseline",
    "baseline: mean [95% CI]",
    "diff [95% CI]",
    "W/L/T",
    "p Wilcoxon",
    "p t",
    "seeds",
)


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """The table's rows (without the header): one per (group, baseline), the group's cells on its first."""
    rows = []
    for g in report["groups"]:
        scale, digits = g["scale"], g["digits"]
        trained = g["arms"][g["trained"]]
        for i, (baseline, p) in enumerate(g["paired"].items()):
            low, high = (_num(p[k], scale, digits, sign=True) for k in ("diff_ci_low", "diff_ci_high"))
            diff_text = f"{_num(p['diff'], scale, digits, sign=True)} [{low}, {high}]"
            first = i == 0
            rows.append(
                (
                    g["label"] if first else "",
                    g["metric"] if first else "",
                    f"{g['trained']} {_ci(trained, scale, digits)}" if first else "",
                    baseline,
                    _ci(g["arms"][baseline], scale, digits),
                    diff_text,
                    f"{p['wins']}/{p['losses']}/{p['ties']}",
                    _p(p["p_wilcoxon"]),
                    _p(p["p_t"]),
                    seed_list(g["seeds"]) if first else "",
                )
            )
    return rows


def format_table(report: dict[str, Any]) -> str:
    """The combined table as aligned Markdown, with the title, the test, the notes and wall times."""
    rows = [HEADER, *table_rows(report)]
    widths = [max(len(r[k]) for r in rows) for k in range(len(HEADER))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    quick = bool(report["quick"])
    title = f"Honest baselines over seeds {seed_list(report['seeds'])} ({len(report['seeds'])} seeds)"
    lines = [QUICK_BANNER, title] if quick else [title]
    if report.get("command"):
        lines.append(f"command: {report['command']}")
    lines += ["", line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [line(r) for r in rows[1:]]
    lines += ["", TEST_NOTE]
    lines += [note for g in report["groups"] for note in g["notes"]]
    if report.get("seconds"):
        lines.append("wall: " + ", ".join(f"{m} {s:.0f} s" for m, s in report["seconds"].items()))
    if quick:
        lines.append(QUICK_BANNER)
    return "\n".join(lines)
