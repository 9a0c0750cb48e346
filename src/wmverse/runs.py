"""The runs recorded in a run store, as pandas DataFrames: ``wmverse.runs.list_runs()``, ``points``,
``compare``, ``export``, ``delete``... (see :mod:`wmverse.store.runs`)."""

from wmverse.store.runs import *  # noqa: F403
from wmverse.store.runs import __all__  # noqa: F401
