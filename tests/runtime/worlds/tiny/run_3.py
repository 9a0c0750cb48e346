from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

# Another answerer: the asker addresses only this one
agent = Agent(proc=None)
node = Node(agent, node_name="Bob", hidden=True, send_stats_every=1.0)
node.run(join_world="TinyWorld")
