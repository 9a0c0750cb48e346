"""Role 'canvas': a learner that trains the Canvas world model when the world requests each step.

Its behaviour (``canvas.json``, built by the world from ``wmverse.world.learners``) is idle -> training
-> reporting -> idle per request, then finished. The actions are shared by every learner kind
(``wmverse.world.learners.agent.LearnerAgent``); the model is the agent's processor, an
``agents.learner.LearnerProcessor("canvas")`` given by ``run_canvas.py``.
"""

from .learner_role import LearnerAgent


class WAgent(LearnerAgent):
    """A canvas learner of the training world."""

    KIND = "canvas"
