"""The training world's behaviours as data: one table of states and one of transitions per machine.

Four state machines run in this world: the tendency agents' (``TENDENCY``, role file ``tendency.json``),
the learners' (:func:`learner_behaviour`, role files ``leworld.json``, ``canvas.json``, ``dynamics.json``),
and the world's own two: the debate (``WORLD_DEBATE``, whose actions are the Trainer's and the Validator's
steps) and the learners' plans (``WORLD_LEARNERS``). A transition ``Transit(source, target, action, msg)``
fires when ``action`` (a method of the machine's owner, or a request with that name from the world)
returns True; its message is what the machine prints. :meth:`Behaviour.build` turns a table into a
unaiverse ``HybridStateMachine`` with the same calls in the same order every time, so the role files the
world writes are stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unaiverse.hsm import HybridStateMachine

from agents.learners.base import EVALUATE, FINISH

__all__ = [
    "Behaviour",
    "MASTER",
    "State",
    "Transit",
    "TENDENCY",
    "WORLD_DEBATE",
    "WORLD_LEARNERS",
    "learner_behaviour",
]


@dataclass(frozen=True)
class State:
    """A state: its name, the message printed on entering it, whether it blocks (waits for a request)."""

    name: str
    msg: str | None = None
    blocking: bool | None = None


@dataclass(frozen=True)
class Transit:
    """An arrow ``source -> target`` taken when ``action`` succeeds; ``msg`` is printed when it fires."""

    source: str
    target: str
    action: str
    msg: str | None = None


@dataclass(frozen=True)
class Behaviour:
    """One state machine as data. States are declared in table order, then the transitions."""

    states: tuple[State, ...]
    transitions: tuple[Transit, ...]
    initial: str
    """The state the machine starts in."""
    role: str | None = None
    """The role whose agents follow this machine (None for the world's own machines)."""
    welcome: str | None = None
    """Printed when an agent joins with this behaviour."""

    def __post_init__(self) -> None:
        names = [s.name for s in self.states]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate states in a behaviour: {names}")
        unknown = {t.source for t in self.transitions} | {t.target for t in self.transitions} | {self.initial}
        unknown -= set(names)
        if unknown:
            raise ValueError(f"transitions name undeclared state(s): {sorted(unknown)}")

    def build(self, owner: Any) -> HybridStateMachine:
        """The machine for ``owner`` (an agent or the world, whose methods are the actions)."""
        machine = HybridStateMachine(owner)
        if self.welcome is not None:
            machine.set_welcome_message(self.welcome)
        if self.role is not None:
            machine.set_role(self.role)
        for s in self.states:
            machine.add_state(s.name, msg=s.msg, blocking=s.blocking)
        for t in self.transitions:
            machine.add_transit(t.source, t.target, action=t.action, msg=t.msg)
        machine.set_state(self.initial)
        return machine


#: A tendency agent: idle -> proposing -> staking -> awaiting_resolution -> idle, one round per epoch.
#: A lost resolution must not leave an agent deaf to the next epoch (awaiting_resolution -> proposing).
TENDENCY = Behaviour(
    role="tendency",
    welcome="🧭 Joined the training world as a tendency agent",
    states=(
        State("idle", "💤 Idle: waiting for the world to open an epoch"),
        State("proposing", "📨 Claims sent to the world, waiting for the call to stake"),
        State("staking", "📨 Stakes sent to the world"),
        State("awaiting_resolution", "⏳ Awaiting the world's resolution"),
    ),
    transitions=(
        Transit("idle", "proposing", "propose", "📝 Proposing claims"),
        Transit("proposing", "staking", "stake", "⚖️ Staking observations"),
        Transit("staking", "awaiting_resolution", "nop"),
        Transit("awaiting_resolution", "idle", "resolution", "📊 Adopting the new allocation"),
        Transit("awaiting_resolution", "proposing", "propose", "📝 Proposing claims"),
    ),
    initial="idle",
)

#: The master agent: relays the world's requests to the agents every tick (see ``relay``).
MASTER = Behaviour(
    role="master",
    welcome="📡 Joined the training world as its master: relaying the world's requests to the agents",
    states=(State("relaying", "📡 Relaying the world's requests"),),
    transitions=(Transit("relaying", "relaying", "relay_requests"),),
    initial="relaying",
)

#: The world's debate: the Trainer (collect claims and stakes, resolve) and the Validator as world actions.
WORLD_DEBATE = Behaviour(
    welcome="🌍 Training world up: waiting for the seven tendency agents",
    states=(
        State("waiting_for_tendencies", "👥 Waiting for the seven tendency agents"),
        State("ready"),
        State("collecting_proposals"),
        State("proposals_in"),
        State("collecting_stakes"),
        State("stakes_in"),
        State("resolved"),
        State("validated"),
        State("announced"),
        State("finished", "🏁 Training finished", blocking=True),
    ),
    transitions=(
        Transit("waiting_for_tendencies", "ready", "tendencies_joined", "👥 All tendencies joined"),
        Transit("ready", "collecting_proposals", "ask_to_propose", "📣 Asking every tendency to propose"),
        Transit("collecting_proposals", "proposals_in", "proposals_received", "📥 All claims in"),
        Transit("proposals_in", "collecting_stakes", "ask_to_stake", "📣 Asking every tendency to stake"),
        Transit("collecting_stakes", "stakes_in", "stakes_received", "📥 All stakes in"),
        Transit("stakes_in", "resolved", "resolve_epoch", "🏛️ Trainer: resolve, reallocate, decay lr"),
        Transit("resolved", "validated", "validate_epoch", "🔎 Validator: judging held-out data"),
        Transit("validated", "announced", "announce_resolution", "📣 Announcing the resolution"),
        Transit("announced", "ready", "continue_training"),
        Transit("announced", "finished", "finish_training"),
    ),
    initial="waiting_for_tendencies",
)

#: The world's second machine: send each joined learner its next request, wait for the reports, judge them.
WORLD_LEARNERS = Behaviour(
    states=(State("learners_open"), State("steps_requested"), State("reports_in")),
    transitions=(
        Transit("learners_open", "steps_requested", "request_learner_steps", "📣 Learner requests sent"),
        Transit("steps_requested", "reports_in", "learner_reports_in"),
        Transit("reports_in", "learners_open", "judge_learner_reports", "📈 Learner reports recorded"),
    ),
    initial="learners_open",
)


def learner_behaviour(kind: str, title: str, train_actions: tuple[str, ...]) -> Behaviour:
    """A learner of ``kind``: idle -> training|evaluating -> reporting -> idle per request, then finished.

    Each action of ``train_actions`` (the kind's training requests) is one arrow idle -> training.
    """
    return Behaviour(
        role=kind,
        welcome=f"🧪 Joined the training world as the {title} learner",
        states=(
            State("idle", "💤 Idle: waiting for the world's next training request"),
            State("training", "🏋️ Training step accepted"),
            State("evaluating", "🔎 Evaluation accepted"),
            State("reporting", "📨 Step done, reporting to the world"),
            State("finished", "🏁 Training over", blocking=True),
        ),
        transitions=(
            *(Transit("idle", "training", act, f"📥 World asks: {act}") for act in train_actions),
            Transit("idle", "evaluating", EVALUATE, "📥 World asks: evaluate"),
            Transit("training", "reporting", "work", "⚙️ Running the step"),
            Transit("evaluating", "reporting", "work", "⚙️ Evaluating on held-out data"),
            Transit("reporting", "idle", "report", "📊 Metrics sent to the world"),
            Transit("idle", "finished", FINISH, "🏅 Suggesting the badges the world decided"),
        ),
        initial="idle",
    )
