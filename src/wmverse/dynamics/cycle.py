"""``CognitiveCycle``: a model-based decision step over any ``WorldModel``.

It speaks only the Protocol (async ``dream_rollout``/``update``), so it works with every
backend and with user models. With a :class:`DreamRolloutPlanner` attached, a surprise
above the threshold also drops the planner's current plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from .planner import DreamRolloutPlanner
from .types import ModelInput, WorldModel, WorldModelConfig


class CognitiveCycle:
    """Chooses among candidate actions by dreaming each one repeated over the horizon."""

    def __init__(
        self,
        world_model: WorldModel,
        config: WorldModelConfig | None = None,
        planner: DreamRolloutPlanner | None = None,
    ) -> None:
        if not isinstance(world_model, WorldModel):
            raise TypeError(
                f"world_model does not implement the WorldModel protocol: {type(world_model).__name__}"
            )
        self._world_model = world_model
        self._cfg = config or getattr(world_model, "config", None) or WorldModelConfig()
        self._world_model_cfg = self._cfg
        self.planner = planner
        self.replan_count = 0
        self.last_loss: float | None = None

    async def _model_based_step(self, obs: tuple[float, ...], candidate_actions: list[int]) -> int:
        """Select the candidate whose constant-action dream earns the most imagined reward.

        Ties keep the earliest candidate. A dream whose surprise exceeds the configured
        threshold triggers a replan.
        """
        if not candidate_actions:
            raise ValueError("candidate_actions must not be empty")
        best_action, best_reward = candidate_actions[0], float("-inf")
        for action in candidate_actions:
            rollout = await self._world_model.dream_rollout(
                initial_obs=obs, action_sequence=[action] * self._cfg.rollout_horizon
            )
            if rollout.total_imagined_reward > best_reward:
                best_reward = rollout.total_imagined_reward
                best_action = action
            if rollout.surprise_score > self._world_model_cfg.surprise_threshold:
                await self._trigger_replan()
        return best_action

    async def _update_world_model(
        self, inp: ModelInput, actual_next_obs: tuple[float, ...], actual_reward: float, actual_done: bool
    ) -> float:
        """Feed a real transition to the model; records (and returns) its training loss."""
        loss = await self._world_model.update(inp, actual_next_obs, actual_reward, actual_done)
        self.last_loss = loss
        metrics = getattr(self._world_model, "metrics", None)
        if metrics is not None:
            metrics.train_loss.set(loss)
        return loss

    async def _trigger_replan(self) -> None:
        self.replan_count += 1
        if self.planner is not None:
            self.planner.invalidate()

    async def step(self, obs: Sequence[float], candidate_actions: list[int]) -> int:
        """Public form of :meth:`_model_based_step`."""
        return await self._model_based_step(tuple(float(x) for x in obs), list(candidate_actions))

    async def observe(
        self, inp: ModelInput, actual_next_obs: tuple[float, ...], actual_reward: float, actual_done: bool
    ) -> float:
        """Public form of :meth:`_update_world_model`."""
        return await self._update_world_model(inp, actual_next_obs, actual_reward, actual_done)
