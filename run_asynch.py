"""Run a unaiverse world folder as local processes joined over TCP on 127.0.0.1.

    python run_asynch.py WORLD_FOLDER [--seed S] [--max-steps N] [--tick-ms MS] [--out DIR] [--realtime]

run_w.py runs in this process with a hub; each other run_*.py runs in its own child process joined to
it. Lockstep by default (same seed -> same world stats); exits non-zero if any child fails.
"""

import sys

from wmverse.runtime.cli import asynch_main
from wmverse.runtime.collector import freeze_for_exit

if __name__ == "__main__":
    sys.exit(freeze_for_exit(asynch_main()))
