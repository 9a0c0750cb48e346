"""Host only a world folder's world and serve it over the network, in realtime.

    python run_w.py WORLD_FOLDER [--host 0.0.0.0] [--port 7070] [--seed S] [--tick-ms MS] [--out DIR]

Agents join from any machine with:
    python -m wmverse.cli runtime join HOST:PORT WORLD_FOLDER/run_<agent>.py
"""

import sys

from wmverse.runtime.cli import serve_main

if __name__ == "__main__":
    sys.exit(serve_main())
