"""The project's world folders, each in the unaiverse-examples layout (``run_w.py``, ``run_*.py``, ``src/``).

Installed with the project so that a world's own modules import by name (``worlds.training.src.session``)
in tests and notebooks; the runners load a folder from its path and run its scripts unchanged.
"""
