"""A :class:`~.agent.DynamicsAgent` paused and resumed: everything its later steps depend on.

:func:`agent_state` returns a copy made of plain values and tensors only (a checkpoint holds it without
pickling any object); :func:`load_agent_state` puts it back into an agent built with the same config, which
then continues bit for bit, in the middle of an episode too:

- ``world_model``: weights, normalisers, optimiser, generator, counters and the replay buffer
  (``TorchWorldModel.state_snapshot(include_buffer=True)``);
- ``value``: the terminal value's networks, target network, optimiser, generator and counter;
- ``planner``: the planner's streams (generators, CEM warm starts, current plans) and counters;
- ``env``: the real environment (physics state, steps taken in the episode, generator, episodes
  started, see ``DiscreteActionEnv.state_dict``);
- the agent's own: its exploration generator, step and episode counters, whether it pre-trained, the
  current observation and the running episode's record (return, length, surprises, actions, states).

Not kept: the world model's metrics gauges (measurements of the run, no decision reads them).
"""

from __future__ import annotations

import copy
from typing import Any

from .agent import DynamicsAgent

__all__ = ["agent_state", "load_agent_state"]


def agent_state(agent: DynamicsAgent) -> dict[str, Any]:
    """A copy of everything ``agent.run_steps``/``run_episode``/``evaluate`` depend on (see the module doc)."""
    return {
        "world_model": agent.model.state_snapshot(include_buffer=True),
        "value": None if agent.value is None else agent.value.state_dict(),
        "planner": agent.planner.state_dict(),
        "env": agent.env.state_dict(),
        "rng": copy.deepcopy(agent._rng.bit_generator.state),
        "total_env_steps": agent.total_env_steps,
        "episodes_done": agent.episodes_done,
        "pretrained": agent._pretrained,
        "obs": agent._obs,
        "episode": copy.deepcopy(agent._ep),
    }


def load_agent_state(agent: DynamicsAgent, state: dict[str, Any]) -> None:
    """Put back what :func:`agent_state` captured; ``agent`` must have the config of the captured one
    (``ValueError`` when the world model's config differs, before anything changes)."""
    if (state["value"] is None) != (agent.value is None):
        raise ValueError("the captured agent and this one differ in having a terminal value")
    agent.model.model.check_snapshot(state["world_model"])
    agent.model.load_snapshot(state["world_model"])
    if agent.value is not None:
        agent.value.load_state_dict(state["value"])
    agent.planner.load_state_dict(state["planner"])
    agent.env.load_state_dict(state["env"])
    agent._rng.bit_generator.state = copy.deepcopy(state["rng"])
    agent.total_env_steps = int(state["total_env_steps"])
    agent.episodes_done = int(state["episodes_done"])
    agent._pretrained = bool(state["pretrained"])
    agent._obs = None if state["obs"] is None else tuple(float(x) for x in state["obs"])
    episode = copy.deepcopy(state["episode"])
    if "real" in episode:  # observations are tuples of floats, as the env returns them
        episode["real"] = [tuple(float(x) for x in obs) for obs in episode["real"]]
    agent._ep = episode
