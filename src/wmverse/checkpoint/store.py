"""A folder of checkpoints that survives a crash at any instant: atomic writes, verified reads, fallback.

    store = CheckpointStore(Path("runs/7/checkpoints"), keep=3)
    loaded = store.load_latest()
    if loaded is None:
        log.info("Starting fresh")
    else:
        model.load_state_dict(loaded.state["model"]); step = loaded.step
    ...
    store.save({"model": model.state_dict(), "rngs": capture_rngs()}, step=step, meta={"epoch": 3})

Files are named ``ckpt-{step:09d}.wmc`` (see :mod:`wmverse.checkpoint.fileformat` for their bytes). A save
writes a temporary file in the same folder, flushes and fsyncs it, renames it over the final name and
fsyncs the folder, so a crash leaves either the old set of files or the new one, plus perhaps a temporary
file that reads ignore and the next save removes. One writer per folder is assumed.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import codec
from .fileformat import CheckpointError, build_header, read_checkpoint

log = logging.getLogger("wmverse.checkpoint")

_NAME = re.compile(r"^ckpt-(\d{9,})\.wmc$")
_TMP_PREFIX = ".ckpt-"
_TMP_SUFFIX = ".tmp"


@dataclass
class LoadedCheckpoint:
    """One checkpoint read back, and the newer ones passed over to reach it."""

    #: The file it was read from.
    path: Path
    #: The step it was saved at (from its header).
    step: int
    #: The JSON ``meta`` given to ``save`` (``{}`` when none was).
    meta: dict[str, Any]
    #: The state given to ``save``, numpy arrays and tensors included.
    state: dict[str, Any]
    #: Newer files that failed verification, newest first, with the reason of each.
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the rename is done anyway
        pass
    finally:
        os.close(fd)


class CheckpointStore:
    """Numbered checkpoints in ``folder``, the newest ``keep`` of them kept.

    ``map_location`` is given to ``torch.load`` when reading (``"cpu"`` by default, so a checkpoint saved on
    a GPU reads on any machine; ``load_state_dict`` copies onto the model's device anyway).
    """

    def __init__(
        self, folder: str | os.PathLike[str], keep: int = 3, map_location: str | torch.device | None = "cpu"
    ) -> None:
        if type(keep) is not int or keep < 1:
            raise ValueError(f"keep is an int >= 1 (how many checkpoints to keep), not {keep!r}")
        self.folder = Path(folder)
        self.keep = keep
        self.map_location = map_location

    def path_for(self, step: int) -> Path:
        """The file name a checkpoint of ``step`` gets."""
        return self.folder / f"ckpt-{step:09d}.wmc"

    def save(self, state: dict[str, Any], step: int, meta: dict[str, Any] | None = None) -> Path:
        """Write ``state`` as the checkpoint of ``step``, atomically and durably; return its path.

        ``state`` must hold only the types of :mod:`wmverse.checkpoint.codec` (``TypeError`` naming the key
        path otherwise, before anything touches the disk); ``meta`` must be JSON-serialisable; ``step`` is
        an int >= 0 (``ValueError``). A checkpoint of the same step is replaced. Creates the folder if
        needed and removes temporary files left by an interrupted save. Afterwards ``keep`` files remain:
        the one just written and the ``keep - 1`` highest steps of the others (``load_latest`` goes by step,
        so saving a step below an existing one does not make it the latest).
        """
        payload = codec.encode(state)
        head = build_header(payload, step, meta)
        self._make_folder()
        self._remove_leftovers()
        final = self.path_for(step)
        fd, tmp_name = tempfile.mkstemp(
            dir=self.folder, prefix=f"{_TMP_PREFIX}{step:09d}-", suffix=_TMP_SUFFIX
        )
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(head)
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)
        self._prune(final)
        return final

    def load(self, path: str | os.PathLike[str]) -> LoadedCheckpoint:
        """The checkpoint in the file at ``path``; :class:`CheckpointError` (file name and reason) if it
        does not verify or decode; ``OSError`` if it cannot be read."""
        header, payload = read_checkpoint(path)
        try:
            state = codec.decode(payload, self.map_location)
        except codec.CodecError as error:
            raise CheckpointError(path, str(error)) from error
        return LoadedCheckpoint(path=Path(path), step=header["step"], meta=header["meta"], state=state)

    def load_latest(self, max_step: int | None = None) -> LoadedCheckpoint | None:
        """The newest checkpoint that verifies, or None when there is none (an empty or missing folder);
        with ``max_step``, the newest of those saved at a step ``<= max_step``.

        Each newer file that fails is logged at WARNING on ``wmverse.checkpoint`` with its reason, listed in
        ``skipped`` of the result, and left on disk for inspection (the next saves prune it by age).
        """
        skipped: list[tuple[Path, str]] = []
        for path in reversed(self.list()):
            if max_step is not None and int(_NAME.match(path.name).group(1)) > max_step:
                continue
            try:
                loaded = self.load(path)
            except (CheckpointError, OSError) as error:
                reason = error.reason if isinstance(error, CheckpointError) else f"unreadable: {error}"
                log.warning("checkpoint %s skipped: %s; trying the previous one", path, reason)
                skipped.append((path, reason))
                continue
            loaded.skipped = skipped
            return loaded
        if skipped:
            log.warning("no checkpoint in %s verifies (%d skipped)", self.folder, len(skipped))
        return None

    def list(self) -> list[Path]:
        """The checkpoint files in the folder, oldest step first (newest last); temporary files excluded."""
        if not self.folder.is_dir():
            return []
        found = []
        for entry in self.folder.iterdir():
            match = _NAME.match(entry.name)
            if match and entry.is_file():
                found.append((int(match.group(1)), entry.name, entry))
        return [entry for _, _, entry in sorted(found)]

    def _make_folder(self) -> None:
        if self.folder.is_dir():
            return
        missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):  # make each new entry durable in its parent
            _fsync_dir(created.parent)

    def _remove_leftovers(self) -> None:
        for entry in self.folder.iterdir():
            if entry.name.startswith(_TMP_PREFIX) and entry.name.endswith(_TMP_SUFFIX) and entry.is_file():
                log.info("removing %s, left by an interrupted save", entry)
                entry.unlink(missing_ok=True)

    def _prune(self, written: Path) -> None:
        others = [path for path in self.list() if path != written]
        for path in others[: max(0, len(others) - (self.keep - 1))]:
            path.unlink(missing_ok=True)
