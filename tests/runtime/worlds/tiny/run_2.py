from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

# An answerer
agent = Agent(proc=None)
node = Node(agent, node_name="Alice", hidden=True, send_stats_every=1.0)
node.run(join_world="TinyWorld")
