"""Turning an exception raised by a world's code into a message naming the script, file and line."""

from __future__ import annotations

import traceback
from pathlib import Path


class ScriptFailure(Exception):
    """A world script or one of its actions failed; ``str()`` says where."""

    def __init__(
        self,
        message: str,
        script: Path | None,
        file: str | None,
        line: int | None,
        cause: BaseException | None,
    ) -> None:
        super().__init__(message)
        self.script = script
        self.file = file
        self.line = line
        self.cause = cause


def user_frame(exc: BaseException, world_folder: Path) -> tuple[str | None, int | None, str | None]:
    """The innermost traceback frame inside ``world_folder`` (else the innermost frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno, None
    folder = world_folder.resolve()
    inside = []
    for fr in frames:
        try:
            if Path(fr.filename).resolve().is_relative_to(folder):
                inside.append(fr)
        except (OSError, ValueError):
            continue
    chosen = inside[-1] if inside else (frames[-1] if frames else None)
    if chosen is None:
        return None, None, None
    return chosen.filename, chosen.lineno, chosen.name


def describe_failure(what: str, exc: BaseException, script: Path | None, world_folder: Path) -> ScriptFailure:
    """Builds the ScriptFailure for ``exc`` raised while doing ``what`` (e.g. 'loading run_2.py')."""
    file, line, func = user_frame(exc, world_folder)
    where = f"{file}:{line}" + (f" in {func}" if func else "") if file else "unknown location"
    script_txt = f" [script {script.name}]" if script is not None else ""
    message = f"{what}{script_txt} failed: {type(exc).__name__}: {exc}\n  at {where}"
    return ScriptFailure(message, script, file, line, exc)
