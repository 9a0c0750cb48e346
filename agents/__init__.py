"""The agents' processors (their models): ``debater.TendencyDebater`` and ``learner.LearnerProcessor``.

Installed with the project (``import agents``). Processors depend on the ``wmverse`` libraries only, never
on a world: the world's role classes (``worlds/*/src``) speak the protocol and call them.
"""
