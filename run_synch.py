"""Run a unaiverse world folder in one process on a synthetic clock.

    python run_synch.py WORLD_FOLDER [--seed S] [--max-steps N] [--tick-ms MS] [--out DIR]

The folder's own run_w.py and run_*.py run unchanged; see src/wmverse/runtime.
"""

import sys

from wmverse.runtime.cli import main
from wmverse.runtime.collector import freeze_for_exit

if __name__ == "__main__":
    sys.exit(freeze_for_exit(main()))
