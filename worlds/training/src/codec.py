"""Everything that travels between the training world and its agents, encoded and checked in one place.

World -> agent: requests are unaiverse interactions whose keyword arguments are built here
(:func:`propose_request`, :func:`stake_request`, :func:`resolution_request`, :func:`learner_request`,
:func:`finish_request`). Agent -> world: answers travel through the stats channel as JSON text in the
stats named :data:`PROPOSAL`, :data:`STAKES` and :data:`LEARNER_REPORT`, written by
:func:`proposal_message`, :func:`stakes_message`, :func:`learner_report_message` and read back, checked, by
:func:`read_debate_reply` and :func:`read_learner_report` (a malformed message raises ``ValueError``).

Inside the envelopes, claims and stakes are debate dataclasses: :func:`encode` turns dataclasses, enums,
tuples and numpy values into JSON-safe structures tagged with their class name; :func:`decode` rebuilds
them, accepting only classes exported by :mod:`wmverse.debate` (nothing else can be built from a message).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_DC = "__dataclass__"
_ENUM = "__enum__"
_TUPLE = "__tuple__"


def _allowed_classes() -> dict[str, type]:
    import wmverse.debate as debate

    out: dict[str, type] = {}
    for name in dir(debate):
        obj = getattr(debate, name)
        if isinstance(obj, type) and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum)):
            out[obj.__name__] = obj
    return out


def encode(obj: Any) -> Any:
    """Return a JSON-safe structure for ``obj`` (dataclasses and enums are tagged by class name)."""
    if isinstance(obj, enum.Enum):
        return {_ENUM: type(obj).__name__, "value": encode(obj.value)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        body = {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        return {_DC: type(obj).__name__, "fields": body}
    if isinstance(obj, dict):
        return {str(encode(k)) if not isinstance(k, str) else k: encode(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {_TUPLE: [encode(v) for v in obj]}
    if isinstance(obj, (list, set, frozenset)):
        items = list(obj)
        if isinstance(obj, (set, frozenset)):
            items = sorted(items, key=repr)
        return [encode(v) for v in items]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        return obj.tolist()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot encode {type(obj).__name__} for a world message")


def decode(data: Any, classes: dict[str, type] | None = None) -> Any:
    """Inverse of :func:`encode`; unknown class tags raise ``ValueError``."""
    classes = _allowed_classes() if classes is None else classes
    if isinstance(data, list):
        return [decode(v, classes) for v in data]
    if isinstance(data, dict):
        if _ENUM in data:
            cls = classes.get(data[_ENUM])
            if cls is None:
                raise ValueError(f"unknown enum {data[_ENUM]!r} in a world message")
            return cls(decode(data["value"], classes))
        if _DC in data:
            cls = classes.get(data[_DC])
            if cls is None:
                raise ValueError(f"unknown class {data[_DC]!r} in a world message")
            kwargs = {k: decode(v, classes) for k, v in data["fields"].items()}
            return cls(**kwargs)
        if _TUPLE in data:
            return tuple(decode(v, classes) for v in data[_TUPLE])
        return {k: decode(v, classes) for k, v in data.items()}
    return data


def dumps(obj: Any) -> str:
    """``encode`` then ``json.dumps`` with sorted keys (stable bytes for the same object)."""
    return json.dumps(encode(obj), sort_keys=True, separators=(",", ":"))


def loads(text: str) -> Any:
    """``json.loads`` then ``decode``."""
    return decode(json.loads(text))


def observations_payload(store: Any) -> list[dict[str, str]]:
    """Observations as the world sends them to agents: id, content and source only (no metadata, no labels)."""
    return [{"id": o.id, "content": o.content, "source_id": o.source_id} for o in store]


def observations_from_payload(items: Any) -> Any:
    """Rebuild an ``ObservationStore`` from :func:`observations_payload` output."""
    from wmverse.debate import Observation, ObservationStore

    return ObservationStore(
        [
            Observation(id=str(d["id"]), content=str(d["content"]), source_id=str(d.get("source_id", "")))
            for d in items
        ]
    )


# -- envelopes ---------------------------------------------------------------------------------------------
#: Stat names of the agents' answers (consumed by the world, never stored).
PROPOSAL = "proposal"
STAKES = "stakes_payload"
LEARNER_REPORT = "learner_report"


@dataclass(frozen=True)
class DebateReply:
    """A tendency agent's answer to ``propose`` (claims) or ``stake`` (stakes)."""

    stat: str
    """:data:`PROPOSAL` or :data:`STAKES`."""
    epoch: int
    tendency: Any
    """The :class:`wmverse.debate.Tendency` the agent argues for."""
    items: list
    """Claims (proposal) or stakes."""


@dataclass(frozen=True)
class LearnerReport:
    """A learner's answer to one request of its plan."""

    kind: str
    step: int
    action: str
    metrics: dict


def _message(epoch: int, tendency: Any, key: str, items: Sequence[Any]) -> str:
    body = {"epoch": int(epoch), "tendency": tendency.value, key: encode(list(items))}
    return json.dumps(body, sort_keys=True)


def proposal_message(epoch: int, tendency: Any, claims: Sequence[Any]) -> str:
    """The :data:`PROPOSAL` stat text of an agent's claims for ``epoch``."""
    return _message(epoch, tendency, "claims", claims)


def stakes_message(epoch: int, tendency: Any, stakes: Sequence[Any]) -> str:
    """The :data:`STAKES` stat text of an agent's stakes for ``epoch``."""
    return _message(epoch, tendency, "stakes", stakes)


def _object(text: Any, what: str) -> dict:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be JSON text, got {type(text).__name__}")
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError(f"{what} must be a JSON object")
    return body


def read_debate_reply(stat: str, text: Any) -> DebateReply:
    """Check and decode a :data:`PROPOSAL` or :data:`STAKES` message (``ValueError`` when malformed)."""
    from wmverse.debate import Claim, Stake
    from wmverse.debate.tendency import parse_tendency

    if stat not in (PROPOSAL, STAKES):
        raise ValueError(f"not a debate reply: {stat!r}")
    body = _object(text, stat)
    key, cls = ("claims", Claim) if stat == PROPOSAL else ("stakes", Stake)
    epoch = body.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise ValueError(f"{stat}: epoch must be an integer")
    items = decode(body.get(key))
    if not isinstance(items, list) or not all(isinstance(i, cls) for i in items):
        raise ValueError(f"{stat}: {key} must be a list of {cls.__name__}")
    return DebateReply(stat, epoch, parse_tendency(body.get("tendency")), items)


def learner_report_message(kind: str, step: int, action: str, metrics: Mapping[str, Any]) -> str:
    """The :data:`LEARNER_REPORT` stat text of a learner's step."""
    body = {"kind": kind, "step": int(step), "action": action, "metrics": dict(metrics)}
    return json.dumps(body, sort_keys=True)


def read_learner_report(text: Any) -> LearnerReport:
    """Check and decode a :data:`LEARNER_REPORT` message (``ValueError`` when malformed)."""
    body = _object(text, LEARNER_REPORT)
    kind, step, action, metrics = (body.get(k) for k in ("kind", "step", "action", "metrics"))
    if not isinstance(kind, str) or not isinstance(action, str):
        raise ValueError("learner report: kind and action must be strings")
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError("learner report: step must be an integer")
    if not isinstance(metrics, dict):
        raise ValueError("learner report: metrics must be a JSON object")
    return LearnerReport(kind, step, action, metrics)


def propose_request(epoch: int, observations: list[dict[str, str]], settings: Mapping[str, Any]) -> dict:
    """Keyword arguments of the ``propose`` request: the epoch, the training observations, the settings."""
    return {"epoch": epoch, "observations": observations, **settings}


def stake_request(epoch: int, claims: Sequence[Any]) -> dict:
    """Keyword arguments of the ``stake`` request: every claim of the epoch."""
    return {"epoch": epoch, "claims": encode(list(claims))}


def claims_of(request_claims: Any) -> list:
    """The claims of a ``stake`` request, rebuilt (``ValueError`` when they are not claims)."""
    from wmverse.debate import Claim

    claims = decode(request_claims)
    if not isinstance(claims, list) or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("a stake request must carry a list of claims")
    return claims


def badges_payload(badges: Sequence[Any]) -> list[dict[str, Any]]:
    """Badges decided by the world, as the agent suggests them back (type, score, description)."""
    return [
        {"badge_type": b.badge_type, "score": b.score, "badge_description": b.description} for b in badges
    ]


async def suggest_badges(agent: Any, badges: Any) -> int:
    """Agent side of :func:`badges_payload`: check the badges a request carries and suggest each back to
    the world (which records only those it decided); returns how many were suggested.

    A malformed badge list raises ``ValueError`` before anything is suggested.
    """
    items = badges or []
    if not isinstance(items, list) or not all(
        isinstance(b, dict)
        and isinstance(b.get("badge_type"), str)
        and isinstance(b.get("badge_description"), str)
        and isinstance(b.get("score"), int | float)
        and not isinstance(b.get("score"), bool)
        for b in items
    ):
        raise ValueError("badges must be a list of {badge_type, score, badge_description}")
    _, own = agent.get_peer_ids()
    for b in items:
        await agent.suggest_badges_to_world(
            agent=[own],
            score=float(b["score"]),
            badge_type=b["badge_type"],
            badge_description=b["badge_description"],
        )
    return len(items)


def resolution_request(epoch: int, allocation: float, winner: str, badges: Sequence[Any]) -> dict:
    """Keyword arguments of the ``resolution`` request: the agent's new allocation and its badges."""
    return {"epoch": epoch, "allocation": allocation, "winner": winner, "badges": badges_payload(badges)}


#: The longest simulated duration a learner request may declare (seconds).
MAX_REQUEST_SIM_S = 3600.0


def learner_request(
    step: int, config: Mapping[str, Any], args: Mapping[str, Any], sim_s: float = 0.0
) -> dict:
    """Keyword arguments of a learner's training or evaluation request; ``sim_s`` (> 0: sent) is the simulated
    seconds the step takes, i.e. how long after accepting it the learner reports."""
    kwargs = {"step": step, "config": dict(config), **args}
    if sim_s > 0:
        kwargs["sim_s"] = float(sim_s)
    return kwargs


def request_sim_s(value: Any) -> float | None:
    """A request's ``sim_s`` checked: a finite number of seconds in [0, :data:`MAX_REQUEST_SIM_S`], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    span = float(value)
    return span if 0.0 <= span <= MAX_REQUEST_SIM_S else None  # (NaN fails both comparisons)


def finish_request(badges: Sequence[Any]) -> dict:
    """Keyword arguments of a learner's ``finish`` request: the badges the world decided."""
    return {"badges": badges_payload(badges)}
