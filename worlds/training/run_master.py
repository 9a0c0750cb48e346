import os

from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

# The world's master: relays the world's requests to the other agents (it has no model)
agent = Agent(proc=None)

# Node hosting the agent (the world gives the master role to this name)
node = Node(agent, node_name="TrainingMaster", hidden=True, clock_delta=1.0 / 10.0)

# Running node
node.run(join_world=os.environ.get("WMVERSE_WORLD_NAME", "WMTraining"))
