"""CI's check of the main world's summary: what the README promises must still be true.

    python .ci/check_world.py RUN_SYNCH_LOG [OTHER_LOG...]

Fails (exit 1, naming each broken promise) unless the run ended by the world, the debate converged,
held-out validation is significant (p < 0.01), and every learner (LeWorld, canvas, dynamics) earned its
badge; every other log (local processes, the world served across network namespaces) must have the same
summary (the award times of badges aside).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def badges(text: str) -> list[str]:
    return sorted(re.sub(r"; awarded .*", "", ln.strip()) for ln in text.splitlines() if ln.startswith("  ["))


def summary(text: str) -> list[str]:
    """The world's summary block, badge award times removed."""
    block = text[text.find("TRAINING WORLD SUMMARY") :].splitlines()
    keep = []
    for line in block:
        if line.startswith(("stats database:", "dashboard:", "run store:")):
            break
        keep.append(re.sub(r"; awarded .*", "", line.rstrip()))
    return keep


def problems(text: str) -> list[str]:
    out = []
    if "=== run ended by world" not in text:
        out.append("the run did not end by the world")
    if not re.search(r"^Epochs run: .*\(converged\)", text, flags=re.M):
        out.append("the debate did not converge")
    m = re.search(r"^Validation .*p=([0-9.eE+-]+)", text, flags=re.M)
    if m is None or not float(m.group(1)) < 0.01:
        out.append(f"validation is not significant (p={m.group(1) if m else 'missing'})")
    for learner in ("leworld", "canvas", "dynamics"):
        if not any(f"] {learner} " in b for b in badges(text)):
            out.append(f"no badge for the {learner} learner")
    return out


def main(argv: list[str]) -> int:
    synch = Path(argv[0]).read_text(encoding="utf-8", errors="replace")
    found = [f"run_synch: {p}" for p in problems(synch)]
    for path in argv[1:]:
        other = Path(path).read_text(encoding="utf-8", errors="replace")
        found += [f"{path}: {p}" for p in problems(other)]
        if summary(other) != summary(synch):
            diff = [f"{a!r} vs {b!r}" for a, b in zip(summary(other), summary(synch), strict=False) if a != b]
            found.append(f"{path}: the summary differs from run_synch's: {diff[:3] or 'length'}")
    for p in found:
        print(f"ci: {p}", file=sys.stderr)
    print(f"ci: main world summary {'FAILED' if found else 'ok'} ({len(badges(synch))} badges)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
