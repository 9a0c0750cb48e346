import os
import sys
from pathlib import Path

from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # repository root: the agents' processors
from agents.learner import LearnerProcessor  # noqa: E402

from wmverse.world.learners import enabled_learners  # noqa: E402

if "canvas" in enabled_learners(os.environ):  # WMVERSE_LEARNERS selects the learners that join
    # Agent training the Canvas world model; its model is the processor
    agent = Agent(proc=LearnerProcessor("canvas"), proc_inputs=["text"], proc_outputs=["text"])

    # Node hosting the agent (the world reads the role from the name: Learner<Kind>)
    node = Node(agent, node_name="LearnerCanvas", hidden=True, clock_delta=1.0 / 10.0)

    # Running node
    node.run(join_world=os.environ.get("WMVERSE_WORLD_NAME", "WMTraining"))
