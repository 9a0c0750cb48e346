from unaiverse.agent import Agent, action
from unaiverse.utils.logger import log


class WAgent(Agent):
    @action
    async def answerers_known(self, count: int = 2) -> bool:
        """True once the handshake with `count` answerers is complete."""
        return len(self.get_agents_by_role("answerer")) >= count

    @action
    async def ask_named(self, name: str = "") -> bool:
        """Sends an 'answer' request to the answerer whose node name is `name` (only to it)."""
        for peer, profile in self.all_agents.items():
            if profile.get_static_profile()["node_name"] == name:
                log.user(f"asking {name}")
                return await self.send(action_name="answer", target=[peer])
        return False
