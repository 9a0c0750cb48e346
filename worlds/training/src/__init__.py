"""The training world's code: the world, its roles, its session logic, behaviours, stats and panels.

Run scripts import it as ``src`` (the unaiverse-examples layout); tests as ``worlds.training.src``. Import
rules: this package may import ``agents``, ``wmverse`` and ``unaiverse``; nothing in ``agents`` or
``wmverse`` imports it.
"""
