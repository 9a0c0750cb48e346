"""The process transport's pieces: frames, addresses, configs, shipped world code, the CLI entry points."""

import asyncio
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from wmverse.runtime.wire import ProtocolError, encode_frame, parse_address, read_frame


def _read(data: bytes):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_frame(reader)

    return asyncio.run(go())


def test_a_frame_round_trips_header_and_blobs():
    header = {"type": "tick", "t": 3, "ops": [["msg", "peerA", 0], ["drop", "peerB", "peerC"]]}
    blobs = [b"\x00\x01binary", b""]
    got_header, got_blobs = _read(encode_frame(header, blobs))
    assert got_header == header and got_blobs == blobs


def test_a_cut_frame_is_an_incomplete_read():
    data = encode_frame({"type": "done"}, [b"abcdef"])
    with pytest.raises(asyncio.IncompleteReadError):
        _read(data[:-2])


def test_garbage_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="not JSON"):
        _read(struct.pack(">II", 3, 0) + b"\xff\xfe{")
    with pytest.raises(ProtocolError, match="without a type"):
        _read(encode_frame({"type": "x"}).replace(b'"type"', b'"tipe"'))
    with pytest.raises(ProtocolError, match="implausible"):
        _read(struct.pack(">II", 2**31, 0))


def test_addresses_are_parsed_or_rejected_clearly():
    assert parse_address("127.0.0.1:7070") == ("127.0.0.1", 7070)
    assert parse_address("example.org") == ("example.org", 7070)
    for bad in (":7070", "host:http", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT|port"):
            parse_address(bad)


def test_configs_reject_bad_values(tmp_path):
    from wmverse.runtime.hub import HubConfig, derive_seed
    from wmverse.runtime.remote import JoinConfig

    with pytest.raises(ValueError, match="port"):
        HubConfig(port=70000)
    with pytest.raises(ValueError, match="timeouts"):
        HubConfig(tick_timeout_s=0)
    with pytest.raises(ValueError, match="not found"):
        JoinConfig("127.0.0.1:7070", (tmp_path / "run_x.py",))
    assert derive_seed(5, 0) == 5
    assert derive_seed(5, 1) == derive_seed(5, 1) != derive_seed(5, 2)


def test_world_code_is_unpacked_when_the_world_folder_is_not_on_this_machine(tmp_path):
    from wmverse.runtime.join import JoinError
    from wmverse.runtime.remote import JoinConfig, RemoteClient

    script = tmp_path / "run_1.py"
    script.write_text("")
    bundle = {"W": {"folder": "/elsewhere/src", "files": {"world.py": 0, "sub/role.json": 1}}}
    cautious = RemoteClient(JoinConfig("127.0.0.1:1", (script,)))
    cautious.code = bundle
    with pytest.raises(JoinError, match="--accept-world-code"):
        cautious._world_folder({"world_name": "W", "world_folder": "/no/such/folder"})
    client = RemoteClient(JoinConfig("127.0.0.1:1", (script,), accept_world_code=True))
    client.runtime = SimpleNamespace(out_dir=tmp_path / "out")
    client.code = bundle
    client.code_blobs = [b"print('w')\n", b"{}"]
    folder = client._world_folder({"world_name": "W", "world_folder": "/no/such/folder"})
    assert (folder / "world.py").read_bytes() == b"print('w')\n"
    assert (folder / "sub" / "role.json").read_text() == "{}"
    assert client._world_folder({"world_name": "W", "world_folder": str(tmp_path)}) == tmp_path
    with pytest.raises(FileNotFoundError, match="not on this machine"):
        client._world_folder({"world_name": "V", "world_folder": "/no/such"})


def test_a_checkout_of_the_world_elsewhere_on_disk_is_used(tmp_path):
    from wmverse.runtime.remote import JoinConfig, RemoteClient

    world = tmp_path / "copy" / "training"
    (world / "src").mkdir(parents=True)
    script = world / "run_1.py"
    script.write_text("")
    client = RemoteClient(JoinConfig("127.0.0.1:1", (script,)))
    assert client._world_folder({"world_name": "W", "world_folder": "/hub/machine/worlds/training"}) == world


def test_join_command_without_a_hub_fails_clearly(tmp_path, capsys):
    from wmverse.cli import main

    script = tmp_path / "run_1.py"
    script.write_text("")
    assert main(["runtime", "join", "not-an-address:x", str(script)]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    code = main(["runtime", "join", "127.0.0.1:9", str(script), "--connect-timeout", "0.3"])
    assert code == 1
    assert "cannot reach the hub at 127.0.0.1:9" in capsys.readouterr().out


def test_wmverse_runtime_asynch_runs_the_tiny_world(tiny, capsys):
    from wmverse.cli import main

    assert main(["runtime", "asynch", str(tiny), "--quiet", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "run ended by world" in out and "Asker: completed 1.00 asked Bob" in out
    assert (tiny / "out" / "world_stats.db").is_file()
    assert main(["runtime", "asynch", str(tiny), "--max-steps", "0"]) == 2


def test_scripts_of_one_remote_must_share_a_folder(tmp_path):
    from wmverse.runtime.remote import JoinConfig

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for p in (tmp_path / "a" / "run_1.py", tmp_path / "b" / "run_2.py"):
        p.write_text("")
    with pytest.raises(ValueError, match="one folder"):
        JoinConfig("127.0.0.1:7070", (tmp_path / "a" / "run_1.py", Path(tmp_path / "b" / "run_2.py")))
