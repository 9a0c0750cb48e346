"""The checkpoint store: round trips, retention, atomic writes, fallback past damaged files, safe loading."""

from __future__ import annotations

import io
import logging
import os
import random
import stat
from collections import OrderedDict, namedtuple
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from wmverse.checkpoint import (
    FORMAT_VERSION,
    MAGIC,
    CheckpointError,
    CheckpointStore,
    capture_rngs,
    decode,
    encode,
    restore_rngs,
)
from wmverse.checkpoint import store as store_module
from wmverse.checkpoint.fileformat import build_header

torch.set_num_threads(1)


def assert_same(got: Any, want: Any, path: str = "<root>") -> None:
    """Exact equality of two states: same types all the way down, tensors and arrays bitwise equal."""
    assert type(got) is type(want), f"{path}: {type(got)} != {type(want)}"
    if isinstance(want, torch.Tensor):
        assert got.dtype == want.dtype and got.shape == want.shape, path
        assert torch.equal(got, want), path
    elif isinstance(want, np.ndarray | np.generic):
        assert got.dtype == want.dtype and got.shape == want.shape, path
        assert np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"), path
    elif isinstance(want, dict):
        assert list(got) == list(want), path
        for key in want:
            assert_same(got[key], want[key], f"{path}.{key}")
        assert getattr(got, "_metadata", None) == getattr(want, "_metadata", None), path
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{path}.{i}")
    else:
        assert got == want, path


def small_state(value: int = 0) -> dict[str, Any]:
    return {"weights": torch.full((4,), float(value)), "step": value}


def filled_store(folder: Path, steps: range = range(1, 3), keep: int = 3) -> CheckpointStore:
    store = CheckpointStore(folder, keep=keep)
    for step in steps:
        store.save(small_state(step), step=step, meta={"epoch": step})
    return store


def train_steps(
    model: torch.nn.Module, opt: torch.optim.Optimizer, batches: list[tuple[torch.Tensor, ...]]
) -> None:
    for x, y in batches:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def make_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


# ---------------------------------------------------------------- round trips


def test_nested_state_round_trips_through_a_file(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(1)
    state = {
        "tensors": {
            "f32": torch.randn(3, 4, generator=gen),
            "f64": torch.randn(2, dtype=torch.float64, generator=gen),
            "i64": torch.arange(-3, 3),
            "bool": torch.tensor([True, False, True]),
            "u8": torch.arange(250, 256, dtype=torch.uint8),
            "scalar": torch.tensor(2.5),
            "empty": torch.zeros(0, 3),
        },
        "arrays": [
            np.arange(6, dtype=np.float32).reshape(2, 3),
            np.array([[1, 2], [3, 4]], dtype=np.int16).T,  # not C-contiguous
            np.array([1.0, np.nan, -np.inf]),
            np.array([True, False]),
            np.arange(4, dtype=">u4"),  # big-endian: dtype kept, values kept
            np.array(7, dtype=np.int64),  # 0-d
            np.float32(1.5),  # numpy scalar
        ],
        "plain": ("text", 3, 2**80, -1.25, True, None, b"\x00\xffbytes", [], {}, ()),
        "nested": {"a": [{"b": (1, [2, {"c": None}])}]},
    }
    store = CheckpointStore(tmp_path, keep=2)
    path = store.save(state, step=7, meta={"note": "first", "lr": 0.1})
    loaded = store.load(path)
    assert loaded.path == path and loaded.step == 7 and loaded.skipped == []
    assert loaded.meta == {"note": "first", "lr": 0.1}
    assert_same(loaded.state, state)


def test_model_and_adam_state_resume_bitwise(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(5, 4, generator=gen), torch.randn(5, 2, generator=gen)) for _ in range(5)]
    model = make_model(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    train_steps(model, opt, batches[:3])
    store = CheckpointStore(tmp_path)
    store.save({"model": model.state_dict(), "optim": opt.state_dict()}, step=3)
    train_steps(model, opt, batches[3:])  # the uninterrupted run

    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 3
    assert isinstance(loaded.state["model"], OrderedDict)
    assert loaded.state["model"]._metadata == model.state_dict()._metadata
    fresh = make_model(123)  # different initial weights: everything must come from the checkpoint
    fresh.load_state_dict(loaded.state["model"])
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=1e-2)
    fresh_opt.load_state_dict(loaded.state["optim"])
    train_steps(fresh, fresh_opt, batches[3:])
    for (name, want), got in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(got, want), name
    for want, got in zip(
        opt.state_dict()["state"].values(), fresh_opt.state_dict()["state"].values(), strict=True
    ):
        assert all(torch.equal(got[k], want[k]) for k in want)


def test_random_generators_restore_exactly_after_a_file_round_trip(tmp_path: Path) -> None:
    np_gen = np.random.default_rng(5)
    torch_gen = torch.Generator().manual_seed(5)
    for _ in range(3):  # generators already in use, not freshly seeded
        random.random()
        np.random.random()
        torch.rand(1)
        np_gen.random()
        torch.rand(1, generator=torch_gen)

    def draw(ng: np.random.Generator, tg: torch.Generator) -> list[Any]:
        return [
            [random.random() for _ in range(5)],
            np.random.random(5).tolist(),
            np.random.normal(size=3).tolist(),  # the legacy gaussian cache is part of the state
            torch.rand(5).tolist(),
            ng.random(5).tolist(),
            ng.integers(0, 2**62, size=3).tolist(),
            torch.rand(5, generator=tg).tolist(),
        ]

    np.random.normal()  # leaves a cached gaussian in the legacy state
    store = CheckpointStore(tmp_path)
    store.save({"rngs": capture_rngs({"env": np_gen}, {"model": torch_gen})}, step=1)
    first = draw(np_gen, torch_gen)

    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    other_np, other_torch = np.random.default_rng(99), torch.Generator().manual_seed(99)
    loaded = store.load_latest()
    assert loaded is not None
    restore_rngs(loaded.state["rngs"], {"env": other_np}, {"model": other_torch})
    assert draw(other_np, other_torch) == first


def test_restoring_an_uncaptured_named_generator_is_refused() -> None:
    snapshot = capture_rngs({"env": np.random.default_rng(0)})
    with pytest.raises(KeyError, match="'agent'.*captured: env"):
        restore_rngs(snapshot, np_generators={"agent": np.random.default_rng(0)})


# ---------------------------------------------------------------- the folder


def test_keep_two_after_five_saves_leaves_the_newest_two(tmp_path: Path) -> None:
    store = filled_store(tmp_path, range(1, 6), keep=2)
    assert [p.name for p in store.list()] == ["ckpt-000000004.wmc", "ckpt-000000005.wmc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-000000004.wmc", "ckpt-000000005.wmc"]
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 5 and loaded.meta == {"epoch": 5}


@pytest.mark.parametrize("keep", [0, -1, 1.5])
def test_keep_below_one_is_refused(tmp_path: Path, keep: Any) -> None:
    with pytest.raises(ValueError, match="keep"):
        CheckpointStore(tmp_path, keep=keep)


def test_missing_and_empty_folders_load_nothing(tmp_path: Path) -> None:
    assert CheckpointStore(tmp_path / "nope").load_latest() is None
    assert CheckpointStore(tmp_path / "nope").list() == []
    assert CheckpointStore(tmp_path).load_latest() is None
    assert not (tmp_path / "nope").exists()


def test_save_creates_a_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "checkpoints"
    path = CheckpointStore(folder).save(small_state(1), step=1)
    assert path == folder / "ckpt-000000001.wmc" and path.is_file()


def test_list_sorts_by_step_newest_last(tmp_path: Path) -> None:
    store = filled_store(tmp_path, range(8, 12), keep=10)
    store.save(small_state(1), step=1_000_000_000)  # ten digits still sorts by number
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    assert [p.name for p in store.list()] == [
        "ckpt-000000008.wmc",
        "ckpt-000000009.wmc",
        "ckpt-000000010.wmc",
        "ckpt-000000011.wmc",
        "ckpt-1000000000.wmc",
    ]


def test_save_fsyncs_the_file_and_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        kinds.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", spy)
    CheckpointStore(tmp_path).save(small_state(), step=0)
    assert kinds == ["file", "dir"]


def test_a_crash_before_the_rename_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled_store(tmp_path)
    before = sorted(tmp_path.iterdir())

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(store_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.save(small_state(3), step=3)
    assert sorted(tmp_path.iterdir()) == before
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 2


def test_orphan_temporary_file_is_ignored_then_cleaned(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    orphan = tmp_path / ".ckpt-000000003-k2j4h.tmp"
    orphan.write_bytes(MAGIC + b"half a checkpoint")
    assert orphan not in store.list()
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 2 and loaded.skipped == []
    store.save(small_state(3), step=3)
    assert not orphan.exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


# ---------------------------------------------------------------- damaged files


def header_end(path: Path) -> int:
    data = path.read_bytes()
    return 20 + int.from_bytes(data[12:16], "big")


@pytest.mark.parametrize(
    "where",
    ["empty", "magic", "version", "header_length", "header", "payload_start", "payload_end"],
)
def test_truncated_newest_falls_back_to_the_previous(tmp_path: Path, where: str, caplog: Any) -> None:
    store = filled_store(tmp_path)
    newest = store.list()[-1]
    data = newest.read_bytes()
    end = header_end(newest)
    cut = {
        "empty": 0,
        "magic": 3,
        "version": 10,
        "header_length": 14,
        "header": end - 5,
        "payload_start": end + 5,
        "payload_end": len(data) - 1,
    }[where]
    newest.write_bytes(data[:cut])

    with caplog.at_level(logging.WARNING, logger="wmverse.checkpoint"):
        loaded = store.load_latest()
    assert loaded is not None and loaded.step == 1
    assert [path for path, _ in loaded.skipped] == [newest]
    assert loaded.skipped[0][1].startswith("truncated")
    assert any(newest.name in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    with pytest.raises(CheckpointError, match=rf"{newest.name}: truncated"):
        store.load(newest)


def test_truncated_payload_message_gives_both_sizes(tmp_path: Path) -> None:
    newest = filled_store(tmp_path).list()[-1]
    data = newest.read_bytes()
    newest.write_bytes(data[:-100])
    with pytest.raises(CheckpointError) as caught:
        CheckpointStore(tmp_path).load(newest)
    assert caught.value.reason == f"truncated: header says {len(data)} bytes, file has {len(data) - 100}"
    assert isinstance(caught.value, ValueError)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_flipped_payload_byte_is_a_checksum_mismatch(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    newest = store.list()[-1]
    flip(newest, header_end(newest) + 40)
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 1
    assert loaded.skipped == [(newest, "checksum mismatch")]


def test_flipped_header_byte_is_a_header_checksum_mismatch(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    newest = store.list()[-1]
    flip(newest, header_end(newest) - 10)
    loaded = store.load_latest()
    assert loaded is not None and loaded.skipped == [(newest, "header checksum mismatch")]


def test_unsupported_version_is_named(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    newest = store.list()[-1]
    data = bytearray(newest.read_bytes())
    data[8:12] = (7).to_bytes(4, "big")
    newest.write_bytes(bytes(data))
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 1
    reason = f"unsupported format version 7 (this build reads {FORMAT_VERSION})"
    assert loaded.skipped == [(newest, reason)]
    assert FORMAT_VERSION == 1


@pytest.mark.parametrize("content", [b"hello, this is not a checkpoint at all", b"PK\x03\x04", b"{}"])
def test_a_foreign_file_is_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    store = filled_store(tmp_path)
    foreign = tmp_path / "ckpt-000000009.wmc"
    foreign.write_bytes(content)
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 2
    assert loaded.skipped == [(foreign, "not a wmverse checkpoint")]


def test_every_file_bad_loads_nothing(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    for path in store.list():
        path.write_bytes(b"junk")
    assert store.load_latest() is None


# ---------------------------------------------------------------- what may be saved


Pair = namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    ("leaf", "what"),
    [
        (object(), "builtins.object"),
        (lambda: 1, "function"),
        ({1, 2}, "builtins.set"),
        (Pair(1, 2), "Pair"),
        (np.array(["a", "b"]), "numpy dtype <U1"),
        (np.array([object()]), "numpy dtype object"),
        (bytearray(b"x"), "bytearray"),
        (Path("x"), "Path"),
    ],
)
def test_forbidden_objects_are_refused_with_their_key_path(tmp_path: Path, leaf: Any, what: str) -> None:
    state = {"agents": {"meaning": {"optimizer": {"state": {3: {"step": leaf}}}}}}
    store = CheckpointStore(tmp_path / "ckpt")
    with pytest.raises(TypeError, match=r"'agents\.meaning\.optimizer\.state\.3\.step'") as caught:
        store.save(state, step=1)
    assert what in str(caught.value)
    assert not (tmp_path / "ckpt").exists()  # refused before touching the disk


def test_bad_keys_lists_and_cycles_are_refused() -> None:
    with pytest.raises(TypeError, match=r"'a\.\(1, 2\)'.*not a str or an int"):
        encode({"a": {(1, 2): 0}})
    with pytest.raises(TypeError, match=r"'a\.2'"):
        encode({"a": [1, 2, object()]})
    with pytest.raises(TypeError, match="reserved"):
        encode({"__wmverse_ndarray__": 1})
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(TypeError, match="cycle"):
        encode(loop)
    with pytest.raises(TypeError, match="JSON"):
        CheckpointStore(Path("/nonexistent/never-created")).save({}, step=1, meta={"x": object()})
    with pytest.raises(ValueError, match="step"):
        CheckpointStore(Path("/nonexistent/never-created")).save({}, step=-1)


class Tripwire:
    """Pickles into a call of ``open(marker, "w")``: unpickling it unsafely creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_a_crafted_reduce_payload_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"x": Tripwire(marker)}, buffer)
    payload = buffer.getvalue()
    # control: the payload is live; an unsafe load does run it
    torch.load(io.BytesIO(payload), weights_only=False)
    assert marker.exists()
    marker.unlink()

    store = filled_store(tmp_path / "ckpt")
    crafted = store.path_for(3)
    crafted.write_bytes(build_header(payload, 3) + payload)  # valid magic, header and checksum
    with pytest.raises(
        CheckpointError, match=r"ckpt-000000003\.wmc: payload refused by the safe loader"
    ) as caught:
        store.load(crafted)
    assert "open" in caught.value.reason  # torch names the global it refused
    assert not marker.exists()
    loaded = store.load_latest()
    assert loaded is not None and loaded.step == 2 and loaded.skipped[0][0] == crafted
    assert not marker.exists()


def test_decode_refuses_a_tree_that_is_not_a_dict() -> None:
    buffer = io.BytesIO()
    torch.save([1, 2], buffer)
    with pytest.raises(ValueError, match="not a dict"):
        decode(buffer.getvalue())
