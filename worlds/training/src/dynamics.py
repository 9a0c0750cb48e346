"""Role 'dynamics': a learner that trains the Dynamics world model when the world requests each step.

Its behaviour (``dynamics.json``, written by the world from ``behaviours.learner_behaviour``) is idle -> training
-> reporting -> idle per request, then finished. The actions are shared by every learner kind
(:class:`.learner_role.LearnerAgent`); the model is the agent's processor, an
``agents.learner.LearnerProcessor("dynamics")`` given by ``run_dynamics.py``.
"""

from .learner_role import LearnerAgent


class WAgent(LearnerAgent):
    """A dynamics learner of the training world."""

    KIND = "dynamics"
