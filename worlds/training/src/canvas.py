"""Role 'canvas': a learner that trains the Canvas world model when the world requests each step.

Its behaviour (``canvas.json``, written by the world from ``behaviours.learner_behaviour``) is idle -> training
-> reporting -> idle per request, then finished. The actions are shared by every learner kind
(:class:`.learner_role.LearnerAgent`); the model is the agent's processor, an
``agents.learner.LearnerProcessor("canvas")`` given by ``run_canvas.py``.
"""

from .learner_role import LearnerAgent


class WAgent(LearnerAgent):
    """A canvas learner of the training world."""

    KIND = "canvas"
