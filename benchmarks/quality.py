"""Every world model beside its honest baselines over seeds: the same run as ``wmverse eval``.

Debate (held-out gold accuracy vs the untrained judge on the same split, the nearest description and
centroid self-training, on Mara and on Joaquín), LeWorld (held-out MSE vs memory-free and oracle),
canvas (held-out normalised RMSE of the mixture vs the same model on one dataset, random walk, AR(1))
and dynamics (CartPole-v1 return vs a random policy on the same episodes): per seed, then the mean with
a 95% interval and one-sided paired tests (:mod:`wmverse.eval`). The README's baseline figures come
from this command. About 20 minutes for seeds 0-9 at 1 thread (measured on a 2-core machine).

Run: python benchmarks/quality.py [--seeds 0-9] [--models debate leworld canvas dynamics] [--json FILE]
                                  [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse

from wmverse.eval.cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(prog_command="python benchmarks/quality.py")
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
