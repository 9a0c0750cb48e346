from unaiverse.agent import Agent, action
from unaiverse.interaction import Interaction
from unaiverse.utils.logger import log


class WAgent(Agent):
    @action
    async def answer(self, interaction: Interaction | None = None) -> bool:
        """Serves a request: names the requester and suggests a badge for it to the world."""
        if interaction is None:
            return False
        requester = self.all_agents[interaction.requester].get_static_profile()["node_name"]
        log.user(f"answered {requester}")
        return await self.suggest_badges_to_world(
            agent=interaction.requester,
            score=1.0,
            badge_type="completed",
            badge_description=f"asked {self.get_name()}",
        )

    @action
    async def greeting(self, interaction: Interaction | None = None) -> bool:
        """Serves the world's request."""
        if interaction is None:
            return False
        sender = self.all_agents[interaction.requester].get_static_profile()["node_name"]
        log.user(f"greeted by {sender}")
        return True
