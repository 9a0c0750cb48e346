"""Checks for command-line values, shared by every ``wmverse`` sub-command.

Each checker is an argparse ``type=``: it returns the parsed value or raises
:class:`argparse.ArgumentTypeError`, which argparse turns into a usage line, the reason and
exit code 2, before the command does any work. Nothing here writes to disk; the path
checks only look.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "MAX_SEED",
    "fail",
    "int_at_least",
    "int_in_range",
    "non_negative_float",
    "non_negative_int",
    "positive_int",
    "seed",
    "unit_float",
    "writable_dir",
    "writable_file",
]

#: Largest seed every random generator used here accepts (numpy: below 2**32).
MAX_SEED = 2**32 - 1


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer ``>= low``."""

    def check(text: str) -> int:
        value = _int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    check.__name__ = f"integer >= {low}"  # argparse names the type in some messages
    return check


def int_in_range(low: int, high: int) -> Callable[[str], int]:
    """An integer in ``[low, high]``."""

    def check(text: str) -> int:
        value = _int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {value}")
        return value

    check.__name__ = f"integer in [{low}, {high}]"
    return check


positive_int = int_at_least(1)
"""An integer ``>= 1`` (epochs, steps, batch sizes, threads, ...)."""

non_negative_int = int_at_least(0)
"""An integer ``>= 0``."""


def seed(text: str) -> int:
    """A random seed: an integer in ``[0, 2**32 - 1]`` (what numpy, torch and random all accept)."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, 2**32 - 1], got {value}")
    return value


def unit_float(text: str) -> float:
    """A finite float in ``[0, 1)`` (a fraction that must leave something over, e.g. a held-out split)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite float ``> 0`` (timeouts, sizes in megabytes)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float ``>= 0`` (periods where 0 means "never")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


port_number = int_in_range(0, 65535)
"""A TCP port (0: a free one)."""


def _creatable(path: Path) -> str | None:
    """Why ``path`` (which does not exist) could not be created, or ``None`` if it could."""
    ancestor = path.parent
    while not ancestor.exists():
        if ancestor == ancestor.parent:  # pragma: no cover - the root always exists
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"no permission to create files in {ancestor}"
    return None


def _checked(text: str, want_dir: bool) -> str:
    if not text:
        raise argparse.ArgumentTypeError("empty path")
    path = Path(text).expanduser()
    if path.exists():
        if want_dir and not path.is_dir():
            problem = "it exists and is not a directory"
        elif not want_dir and path.is_dir():
            problem = "it is a directory"
        elif not os.access(path, os.W_OK):
            problem = "no permission to write it"
        else:
            return str(path)
    else:
        why = _creatable(path)
        if why is None:
            return str(path)
        problem = why
    raise argparse.ArgumentTypeError(f"cannot write {text!r}: {problem}")


def writable_file(text: str) -> str:
    """An output file path that can be written: an existing writable file, or a new file whose
    missing parent directories can be created. Nothing is created here."""
    return _checked(text, want_dir=False)


def writable_dir(text: str) -> str:
    """An output directory that can be written: an existing writable directory, or one that can
    be created. Nothing is created here."""
    return _checked(text, want_dir=True)


def fail(message: str) -> int:
    """Print ``error: message`` to stderr; returns exit code 2 (bad input) for ``return fail(...)``."""
    print(f"error: {message}", file=sys.stderr)
    return 2
