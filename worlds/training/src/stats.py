"""Stats of the training world: schemas for agents and world, and the sidebar dashboard.

Per agent (grouped by the agent's peer id): allocation, claim score (summed net score of its claim trees),
PRO/CON stakes and claims proposed per epoch, its tendency, plus the core state/action counters.
World-wide series: epoch, learning rate, winner, validation accuracy (or agreement), p-value, allocation
delta, convergence. ``proposal``/``stakes_payload`` carry the agents' claims and stakes to the world (the
world consumes them in ``_process_custom_stat``; they are never stored).

``plot()`` returns a SELF-CONTAINED page (plotly.js inlined): it renders offline, in the sidebar or as the
``dashboard.html`` a run writes.
"""

from unaiverse.stats import THEME, Stats, UIPlot

from wmverse.dashboard import SidebarDash, render_offline_html

from .panels import LEARNER_ROWS, add_learner_panels

EPOCH_AXIS = {"title": "epoch", "dtick": 1}

TENDENCY_COLORS = {
    "survival": "#FF3B30",
    "status": "#FFB347",
    "meaning": "#B388FF",
    "connection": "#00D4AA",
    "autonomy": "#1A5CFF",
    "comfort": "#FF6692",
    "curiosity": "#E0E0E0",
}


class WStats(Stats):
    """Stats of ``worlds/training`` (world side stores to SQLite, agent side buffers and ships)."""

    CUSTOM_AGENT_STATS_DYNAMIC_SCHEMA = {
        "allocation": (float, -1.0),  # share of behaviour the tendency explains, after each epoch
        "claim_score": (float, 0.0),  # summed net score of the tendency's claim trees
        "stakes_pro": (int, 0),  # PRO stakes the agent placed this epoch
        "stakes_con": (int, 0),  # CON stakes the agent placed this epoch
        "claims_proposed": (int, 0),  # claims the agent proposed this epoch
        "proposal": (str, None),  # JSON claims, agent -> world (consumed, not stored)
        "stakes_payload": (str, None),  # JSON stakes, agent -> world (consumed, not stored)
        "learner_report": (str, None),  # JSON step report, learner -> world (consumed, not stored)
        "relayed": (str, None),  # JSON list of the requests the master relayed, master -> world (consumed)
        "learner_step": (dict, {}),  # a learner's reported step: step, action, label, metrics
    }
    CUSTOM_AGENT_STATS_STATIC_SCHEMA = {
        "tendency": (str, None),  # which tendency the agent argues for
        "learner_kind": (str, None),  # leworld | canvas | dynamics (learner agents only)
        "learner_eval": (dict, {}),  # a learner's held-out evaluation report
    }
    CUSTOM_WORLD_STATS_DYNAMIC_SCHEMA = {
        "epoch": (int, 0),
        "learning_rate": (float, 0.0),
        "winner": (str, None),
        "val_accuracy": (float, -1.0),  # accuracy against gold labels (agreement without labels)
        "p_value": (float, 1.0),  # exact one-sided binomial test against 1/7
        "allocation_delta": (float, 0.0),  # sum |allocation change| of the epoch
        "converged": (int, 0),  # 1 once the Trainer's convergence rule fired
    }
    CUSTOM_WORLD_STATS_STATIC_SCHEMA = {
        "final_winner": (str, None),
        "final_allocations": (dict, {}),
        "validation_metric": (str, None),
        "training_finished": (int, 0),
        "badges": (list, []),
        "learners_finished": (int, 0),  # 1 once every joined learner was evaluated and told its badge
    }

    def _make_json_serializable(self, value):
        """As the base class, but sets become SORTED lists, so the stored graph is the same in every run
        (set order follows Python's per-process string hashing)."""
        if isinstance(value, (set, frozenset)):
            return sorted((self._make_json_serializable(v) for v in value), key=repr)
        return super()._make_json_serializable(value)

    # -- dashboard -------------------------------------------------------------------------------------
    def plot(self, since_timestamp: int = 0) -> str | None:
        """The sidebar dashboard as a self-contained HTML page (None when there is nothing to show)."""
        view = self.get_view(since_timestamp) if self.is_world else self._world_view
        if not view:
            return None
        dash = self.build_dashboard(view)
        return render_offline_html(dash.to_dict(), title="wmverse training world", n_panels=len(dash.panels))

    def build_dashboard(self, view: dict) -> SidebarDash:
        """Nine debate panels: graph, summary, badges | allocations, validation, p-value | winners, states,
        delta+lr; then three rows of learner panels (``panels.py``), which say "no data yet"
        and why for learners that did not join."""
        world = view.get("world", {})
        peers = view.get("peers", {})
        learners = {
            data["learner_kind"]: data for data in peers.values() if data.get("learner_kind")
        }  # kind -> that learner's view
        rows = ("top", "mid", "bot") + LEARNER_ROWS
        dash = SidebarDash(
            "wmverse · training world (adversarial debate + learners)", rows=rows, height=370 * len(rows)
        )
        tendency_of = {pid: data.get("tendency") for pid, data in peers.items() if data.get("tendency")}
        epoch_at = {t: e for t, e in world.get("epoch", [])}

        def epochs(series):
            return [epoch_at.get(t, i + 1) for i, (t, _) in enumerate(series)]

        # left: world graph, summary, badges
        p = UIPlot(title="World graph")
        self._populate_graph(p, view, "graph")
        nodes = (world.get("graph") or {}).get("nodes") or {}
        names = {
            pid[-6:]: str(info.get("Name", pid[-6:]))
            .replace("Tendency", "")
            .replace("Learner", "learner ")
            .lower()
            for pid, info in nodes.items()
        }
        for trace in p.data:  # label nodes by name (the world, the tendencies), not by peer-id tails
            if trace.get("mode") == "markers+text":
                trace["text"] = [names.get(t, t) for t in trace["text"]]
        clean = {
            "showgrid": False,
            "showticklabels": False,
            "zeroline": False,
            "title": None,
            "showline": False,
        }
        p.set_layout_opt("xaxis", clean)
        p.set_layout_opt("yaxis", clean)
        dash.add_panel(p, "left_top")

        p = UIPlot(title="Summary")
        last = {
            k: (world.get(k) or [[0, None]])[-1][1] for k in ("epoch", "val_accuracy", "p_value", "winner")
        }
        rows = [
            ["Epochs run", last["epoch"]],
            ["Final winner", world.get("final_winner") or last["winner"]],
            [world.get("validation_metric") or "validation", _fmt(last["val_accuracy"], pct=True)],
            ["p-value", _fmt(last["p_value"], sci=True)],
            ["Converged", "yes" if (world.get("converged") or [[0, 0]])[-1][1] else "no"],
            ["Finished", "yes" if world.get("training_finished") else "no"],
        ]
        p.add_table(None, [[r[0] for r in rows], [str(r[1]) for r in rows]])
        dash.add_panel(p, "left_mid")

        p = UIPlot(title="Badges")
        badges = world.get("badges") or []
        if badges:
            p.add_table(
                ["Agent", "Type", "Score", "Why"],
                [
                    [b.get("tendency") or b.get("learner", "") for b in badges],
                    [b.get("badge_type", "") for b in badges],
                    [f"{b.get('score', 0):.2f}" for b in badges],
                    [b.get("reason", "") for b in badges],
                ],
            )
        else:
            p.add_table(["Badges"], [["none awarded (yet)"]])
        dash.add_panel(p, "left_bot")

        # center: allocations, validation vs chance, p-value
        p = UIPlot(title="Allocation per tendency")
        for pid in sorted(tendency_of, key=lambda q: tendency_of[q]):
            series = peers[pid].get("allocation") or []
            if series:
                name = tendency_of[pid]
                p.add_line(epochs(series), [v for _, v in series], name=name, color=TENDENCY_COLORS.get(name))
        p.set_layout_opt("xaxis", EPOCH_AXIS)
        p.set_layout_opt("yaxis", {"title": "allocation"})
        dash.add_panel(p, "center_top")

        p = UIPlot(title="Held-out validation vs chance (1/7)")
        series = world.get("val_accuracy") or []
        if series:
            xs = epochs(series)
            p.add_line(
                xs,
                [v for _, v in series],
                name="held-out " + (world.get("validation_metric") or "accuracy"),
                color=THEME["main"],
            )
            p.add_line(xs, [1 / 7] * len(xs), name="chance 1/7", color="#FF3B30")
        p.set_layout_opt("xaxis", EPOCH_AXIS)
        p.set_layout_opt("yaxis", {"title": "fraction", "range": [0, 1]})
        dash.add_panel(p, "center_mid")

        p = UIPlot(title="p-value (log scale; line: 0.01)")
        series = world.get("p_value") or []
        if series:
            xs = epochs(series)
            p.add_line(
                xs, [max(v, 1e-300) for _, v in series], name="p-value", color="#FFB347", show_legend=False
            )
            p.add_line(xs, [0.01] * len(xs), name="0.01", color="#677385", show_legend=False)
        p.set_layout_opt("xaxis", EPOCH_AXIS)
        p.set_layout_opt("yaxis", {"title": "p", "type": "log"})
        dash.add_panel(p, "center_bot")

        # right: winners, agents' states, delta + learning rate
        p = UIPlot(title="Epoch winners")
        counts: dict[str, int] = {}
        for _, w in world.get("winner") or []:
            counts[w] = counts.get(w, 0) + 1
        names = sorted(counts)
        if names:
            p.add_bar(
                names,
                [counts[n] for n in names],
                names=[counts[n] for n in names],
                colors=[TENDENCY_COLORS.get(n, THEME["main"]) for n in names],
            )
        p.set_layout_opt("yaxis", {"title": "epochs won"})
        p.set_layout_opt("xaxis", {"title": None})
        dash.add_panel(p, "right_top")

        p = UIPlot(title="Agents' states")
        self._populate_distribution(
            p, {"peers": {k: v for k, v in peers.items() if k in tendency_of}}, "state"
        )
        p.set_layout_opt("yaxis", {"title": "#agents"})
        p.set_layout_opt("xaxis", {"title": None})
        dash.add_panel(p, "right_mid")

        p = UIPlot(title="Allocation delta and learning rate")
        for stat, color in (("allocation_delta", "#00D4AA"), ("learning_rate", "#4D7FFF")):
            series = world.get(stat) or []
            if series:
                p.add_line(epochs(series), [v for _, v in series], name=stat.replace("_", " "), color=color)
        p.set_layout_opt("xaxis", EPOCH_AXIS)
        p.set_layout_opt("yaxis", {"title": None})
        dash.add_panel(p, "right_bot")
        add_learner_panels(dash, learners)
        return dash


def _fmt(value, pct: bool = False, sci: bool = False) -> str:
    if value is None or (isinstance(value, (int, float)) and value < 0):
        return "-"
    if pct:
        return f"{value:.1%}"
    if sci:
        return f"{value:.2e}"
    return str(value)
