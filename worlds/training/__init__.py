"""The training world: seven tendency agents debate a person, three learners train world models.

Its roles, session logic, behaviours and dashboard panels are in ``src/`` (``worlds.training.src``); the
agents' processors are in the top-level ``agents`` package.
"""
