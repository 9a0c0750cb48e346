"""World tests: the repository root (for ``agents/``) and this folder (for ``world_test_helpers``) on sys.path."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE.parents[1], HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
