from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

# The asker (no model)
agent = Agent(proc=None)
node = Node(agent, node_name="Asker", hidden=True, send_stats_every=1.0)
node.run(join_world="TinyWorld")
