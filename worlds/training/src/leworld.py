"""Role 'leworld': a learner that trains the LeWorld world model when the world requests each step.

Its behaviour (``leworld.json``, written by the world from ``behaviours.learner_behaviour``) is idle -> training
-> reporting -> idle per request, then finished. The actions are shared by every learner kind
(:class:`.learner_role.LearnerAgent`); the model is the agent's processor, an
``agents.learner.LearnerProcessor("leworld")`` given by ``run_leworld.py``.
"""

from .learner_role import LearnerAgent


class WAgent(LearnerAgent):
    """A leworld learner of the training world."""

    KIND = "leworld"
