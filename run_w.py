"""Host only a world folder's world and serve it over unaiverse's libp2p layer (private: a join token).

    python run_w.py WORLD_FOLDER [--host 0.0.0.0] [--port 7070] [--public | --token T] [--lockstep N] [--seed S]

Agents join from any machine by the world's name (printed with the token):
    wmverse runtime join --world NAME --token TOKEN WORLD_FOLDER/run_<agent>.py
"""

import sys

from wmverse.runtime.cli import serve_main
from wmverse.runtime.collector import freeze_for_exit

if __name__ == "__main__":
    sys.exit(freeze_for_exit(serve_main()))
