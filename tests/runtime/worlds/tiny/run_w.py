from src.world import WWorld
from unaiverse.networking.node.node import Node

# World
world = WWorld()

# Node hosting the world
node = Node(world, node_name="TinyWorld", hidden=True, clock_delta=1.0 / 10.0)

# Running node
node.run()
