import os

from src.learner_plans import enabled_learners
from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

from agents.learner import LearnerProcessor

if "canvas" in enabled_learners(os.environ):  # WMVERSE_LEARNERS selects the learners that join
    # Agent training the Canvas world model; its model is the processor
    agent = Agent(proc=LearnerProcessor("canvas"), proc_inputs=["text"], proc_outputs=["text"])

    # Node hosting the agent (the world reads the role from the name: Learner<Kind>)
    node = Node(agent, node_name="LearnerCanvas", hidden=True, clock_delta=1.0 / 10.0)

    # Running node
    node.run(join_world=os.environ.get("WMVERSE_WORLD_NAME", "WMTraining"))
