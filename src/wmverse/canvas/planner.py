"""``build_curriculum``: design a training schedule from dataset profiles.

The default planner is rule-based (layers alone, causally adjacent layers, everything).
``planner="llm"`` asks any OpenAI-compatible chat endpoint (``POST {endpoint}/chat/completions``
via urllib) for a JSON schedule and validates it against the schema; without an endpoint
(argument or ``WMVERSE_LLM_ENDPOINT``) it fails with a clear error.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from wmverse.canvas.curriculum import CAUSAL_ADJACENCY, CurriculumConfig, PhaseConfig
from wmverse.canvas.dag import DAGNode, tiers
from wmverse.canvas.schema import Schema, SchemaError, default_schema


class PlannerError(RuntimeError):
    """The curriculum planner is unavailable or answered something unusable."""


@dataclass
class DatasetProfile:
    """What the planner knows about one dataset."""

    name: str
    """Dataset name."""
    fields: list[str] = field(default_factory=list)
    """Schema field paths the dataset covers."""
    n_rows: int = 0
    """Number of time steps."""
    frequency: str = ""
    """Sampling frequency, in words (``quarterly``)."""
    description: str = ""
    """Free text."""

    @classmethod
    def from_source(cls, spec, data) -> DatasetProfile:
        """Profile of an adapter's ``(DatasetSpec, data)``."""
        return cls(spec.name, [s.field_path for s in spec.input_specs], len(data), "", spec.name)


def _layers(profiles: Sequence[DatasetProfile], schema: Schema) -> list[str]:
    out: list[str] = []
    for p in profiles:
        for f in p.fields:
            layer = schema[f].layer
            if layer not in out:
                out.append(layer)
    if not out:
        raise PlannerError("the dataset profiles name no schema field")
    return out


def rule_based_curriculum(
    profiles: Sequence[DatasetProfile], steps: Sequence[int], schema: Schema
) -> CurriculumConfig:
    """Phase 1 each layer alone, phase 2 adjacent layer pairs (or consecutive pairs), phase 3 all."""
    layers = _layers(profiles, schema)
    pairs = [[a, b] for a, b in CAUSAL_ADJACENCY if a in layers and b in layers]
    # layers two datasets share a row of are coupled too
    for p in profiles:
        ls = sorted({schema[f].layer for f in p.fields})
        pairs.extend(
            [ls[i], ls[j]]
            for i in range(len(ls))
            for j in range(i + 1, len(ls))
            if [ls[i], ls[j]] not in pairs
        )
    if not pairs:
        pairs = [layers[i : i + 2] for i in range(0, len(layers), 2)]
    return CurriculumConfig(
        phases=[
            PhaseConfig(domains=layers, independent=True, n_steps=steps[0], name="independent"),
            PhaseConfig(domains=layers, groups=pairs, n_steps=steps[1], name="coupling"),
            PhaseConfig(domains=layers, n_steps=steps[2], name="integration"),
        ]
    )


def rule_based_dag(profiles: Sequence[DatasetProfile], n_steps: int, schema: Schema) -> list[DAGNode]:
    """One root per layer, then pairwise joins of neighbours until a single integration node."""
    layers = _layers(profiles, schema)
    level = [DAGNode(layer.replace(".", "_"), (layer,), (), n_steps) for layer in layers]
    nodes = list(level)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            group = level[i : i + 2]
            if len(group) == 1:
                nxt.append(group[0])
                continue
            doms = tuple(dict.fromkeys(d for n in group for d in n.domains))
            node = DAGNode("+".join(n.name for n in group), doms, tuple(n.name for n in group), n_steps)
            nodes.append(node)
            nxt.append(node)
        level = nxt
    return nodes


def _ask_llm(
    goal: str,
    profiles: Sequence[DatasetProfile],
    endpoint: str,
    model: str,
    api_key: str | None,
    timeout: float,
) -> dict:
    prompt = (
        "Design a three-phase training curriculum for a world model. Goal: "
        + goal
        + "\nDatasets:\n"
        + "\n".join(f"- {p.name}: {p.n_rows} rows, {p.frequency}, fields {p.fields}" for p in profiles)
        + '\nAnswer only JSON: {"phases": [{"name": str, "groups": [[schema path prefix, ...], ...], '
        '"n_steps": int}, ...]} using prefixes of the listed fields.'
    )
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
    ).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(endpoint.rstrip("/") + "/chat/completions", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read().decode())
        text = answer["choices"][0]["message"]["content"]
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PlannerError(f"LLM endpoint {endpoint} unreachable ({exc})") from None
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
        raise PlannerError(f"LLM endpoint answered an unexpected payload ({exc})") from None
    start, end = text.find("{"), text.rfind("}")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        raise PlannerError(f"LLM answer is not JSON: {text[:200]!r}") from None


def build_curriculum(
    goal: str,
    datasets: Sequence[DatasetProfile],
    planner: str = "rules",
    kind: str = "seq",
    steps: Sequence[int] = (100, 80, 200),
    endpoint: str | None = None,
    model: str = "gpt-4o-mini",
    api_key: str | None = None,
    schema: Schema | None = None,
    timeout: float = 60.0,
) -> CurriculumConfig | list[DAGNode]:
    """A :class:`CurriculumConfig` (``kind="seq"``) or a list of :class:`DAGNode` (``kind="dag"``,
    rules only; every node gets ``steps[0]`` steps) for ``datasets``."""
    schema = schema or default_schema()
    if not datasets:
        raise PlannerError("build_curriculum needs at least one DatasetProfile")
    if kind not in ("seq", "dag"):
        raise PlannerError(f"kind must be 'seq' or 'dag', got {kind!r}")
    if planner == "rules":
        if kind == "dag":
            nodes = rule_based_dag(datasets, steps[0], schema)
            tiers(nodes)
            return nodes
        return rule_based_curriculum(datasets, steps, schema)
    if planner != "llm":
        raise PlannerError(f"planner must be 'rules' or 'llm', got {planner!r}")
    if kind != "seq":
        raise PlannerError("the LLM planner designs sequential curricula only (kind='seq')")
    endpoint = endpoint or os.environ.get("WMVERSE_LLM_ENDPOINT")
    if not endpoint:
        raise PlannerError(
            "planner='llm' needs an OpenAI-compatible endpoint: pass endpoint='http://host:port/v1' "
            "or set WMVERSE_LLM_ENDPOINT"
        )
    plan = _ask_llm(
        goal, datasets, endpoint, model, api_key or os.environ.get("WMVERSE_LLM_API_KEY"), timeout
    )
    phases = []
    try:
        for ph in plan["phases"]:
            groups = [list(map(str, g)) for g in ph["groups"]]
            for g in groups:
                schema.select(g)
            doms = list(dict.fromkeys(p for g in groups for p in g))
            phases.append(
                PhaseConfig(
                    domains=doms, groups=groups, n_steps=int(ph["n_steps"]), name=str(ph.get("name", ""))
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, SchemaError):
            raise PlannerError(f"LLM plan names unknown fields: {exc}") from None
        raise PlannerError(f"LLM plan is malformed ({exc!r})") from None
    if not phases:
        raise PlannerError("LLM plan has no phases")
    return CurriculumConfig(phases=phases)
