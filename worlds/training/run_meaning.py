import os

from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

from agents.debater import TendencyDebater

# Agent arguing for meaning; its model is the processor
agent = Agent(proc=TendencyDebater("meaning"), proc_inputs=["text"], proc_outputs=["text"])

# Node hosting the agent
node = Node(agent, node_name="TendencyMeaning", hidden=True, clock_delta=1.0 / 10.0)

# Running node
node.run(join_world=os.environ.get("WMVERSE_WORLD_NAME", "WMTraining"))
