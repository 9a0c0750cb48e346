"""Suite-wide settings: everything offline, and small thread pools on a 2-core machine."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# Small matrix products on a loaded 2-core machine are far faster single-threaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# World runs started by tests record into a scratch run store, not the repository's worlds/*/runs.db.
if "WMVERSE_DB" not in os.environ:
    import tempfile

    os.environ["WMVERSE_DB"] = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="wmverse-test-runs-"), "runs.db")
