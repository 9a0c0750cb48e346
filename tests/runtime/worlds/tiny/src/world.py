"""A tiny world with two roles: an asker that asks one named answerer, and answerers that answer."""

import os

from unaiverse.agent import action
from unaiverse.clock import clock
from unaiverse.hsm import HybridStateMachine
from unaiverse.world import World

from .stats import WStats

ASK_DELAY_S = 2.0  # the asker waits this long (simulated) in 'ready' before asking
READY_WAIT_S = 1.5  # the asker's 'ready' state waits this long before acting
GREET_DELAY_S = 1.0  # the world greets Alice (a world -> agent request) after this long
WORLD_WAIT_S = 0.5  # then its 'greeted' state waits this long before moving on


class WWorld(World):
    def __init__(self, **kwargs):
        world_folder = os.path.dirname(os.path.abspath(__file__))
        out_dir = os.environ.get("WMVERSE_OUT_DIR", os.path.join(world_folder, "stats"))
        os.makedirs(out_dir, exist_ok=True)
        db_path = os.path.join(out_dir, "world_stats.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db_path + suffix):
                os.remove(db_path + suffix)
        super().__init__(world_folder=world_folder, stats=WStats(is_world=True, db_path=db_path), **kwargs)

        # The world's own machine (stepped by the runtime): one world action, sent as a request to Alice
        self.behav = HybridStateMachine(self)
        self.behav.add_state("waiting", msg="world waiting")
        self.behav.add_state("greeted", waiting_time=WORLD_WAIT_S, msg="world greeted Alice")
        self.behav.add_state("done", blocking=True, msg="world done waiting")
        self.behav.add_transit(
            "waiting", "greeted", action="greet", args={"name": "Alice"}, delay=GREET_DELAY_S
        )
        self.behav.add_transit("greeted", "done", action="nop")
        self.behav.set_state("waiting")

    @action
    async def greet(self, name: str = "") -> bool:
        """Sends a 'greeting' request to the agent called `name` (and to no one else)."""
        for peer, profile in self.all_agents.items():
            if profile.get_static_profile()["node_name"] == name:
                return await self._send(action_name="greeting", target=[peer], volatile=True) is not None
        return False

    @action
    async def nop(self) -> bool:
        return True

    async def on_tick(self):
        await self.im.complete_expired()
        self.im.drain_completed()

    def assign_role(self, profile, is_world_master):
        name = profile.get_static_profile()["node_name"]
        return "asker" if name.startswith("Asker") else "answerer"

    def add_badge(self, *args, **kwargs):
        super().add_badge(*args, **kwargs)
        count = sum(len(v) for v in self.get_all_badges().values())
        self.stats.store_stat("badges_given", count, group_key=None, timestamp=clock.get_time_ms())
        print(f"world: badge {count} recorded at t={clock.get_time(passed=True):.1f}s", flush=True)

    def is_finished(self):
        return sum(len(v) for v in self.get_all_badges().values()) >= 1

    def summary(self):
        names = {p: prof.get_static_profile()["node_name"] for p, prof in self.all_agents.items()}
        lines = ["badges:"]
        for peer, badges in sorted(self.get_all_badges().items()):
            for b in badges:
                lines.append(
                    f"  {names.get(peer, peer)}: {b['badge_type']} {b['score']:.2f} {b['badge_description']}"
                )
        return "\n".join(lines)

    def create_behav_files(self):
        from .answerer import WAgent as Answerer
        from .asker import WAgent as Asker

        behav = HybridStateMachine(Asker(proc=None))
        behav.set_welcome_message("asker here")
        behav.set_role("asker")
        behav.add_state("init", blocking=True)
        behav.add_state("searching", blocking=True)
        behav.add_state("ready", waiting_time=READY_WAIT_S, msg="ready to ask")
        behav.add_state("asked", blocking=True, msg="asked")
        behav.add_transit(
            "init",
            "searching",
            action="connect_by_role",
            args={"role": "answerer"},
            msg="searching answerers",
        )
        behav.add_transit("searching", "ready", action="answerers_known", args={"count": 2})
        behav.add_transit("ready", "asked", action="ask_named", args={"name": "Bob"}, delay=ASK_DELAY_S)
        behav.save(os.path.join(self.world_folder, "asker.json"), only_if_changed=Asker(proc=None))

        behav = HybridStateMachine(Answerer(proc=None))
        behav.set_role("answerer")
        behav.add_state("idle", blocking=True)
        behav.add_transit("idle", "idle", action="answer", ready=False)
        behav.add_transit("idle", "idle", action="greeting", ready=False)
        behav.save(os.path.join(self.world_folder, "answerer.json"), only_if_changed=Answerer(proc=None))
