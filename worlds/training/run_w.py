import os

from src.world import WWorld
from unaiverse.networking.node.node import Node

# World (settings from WMVERSE_* environment variables: seed, epochs, judge, output folder)
world = WWorld()

# Node hosting the world
node = Node(
    world, node_name=os.environ.get("WMVERSE_WORLD_NAME", "WMTraining"), hidden=True, clock_delta=1.0 / 10.0
)

# Running node
node.run()
