"""wmverse: train and validate world models inside a multi-agent world.

Sub-packages, each importable on its own (none imports ``unaiverse`` unless it
needs the world runtime):

- :mod:`wmverse.debate`   adversarial-debate world model of a person (seven tendencies)
- :mod:`wmverse.leworld`  small memory-addressing models + a big next-state model
- :mod:`wmverse.canvas`   heterogeneous datasets on one shared canvas, masked loss, diffusion
- :mod:`wmverse.dynamics` transition models, dream rollouts, planning, surprise
- :mod:`wmverse.runtime`  run a unaiverse world folder in-process on a synthetic clock
"""

__version__ = "0.1.0"
