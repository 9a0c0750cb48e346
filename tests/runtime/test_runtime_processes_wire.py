"""The process transport's pieces: messages, channels, configs, the world's code version, the CLI entry points."""

import asyncio
import socket
import struct
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from wmverse.runtime.channels import (
    ChannelClosed,
    Limits,
    PipeChannel,
    ProtocolError,
    decode_message,
    encode_message,
)

PEER = "12D3KooWQpNPYhgfGGCzdYdTSXCvRuyPXkgntjQjQijMW3wS2nAF"


def test_a_message_round_trips_header_and_blobs():
    header = {"type": "tick", "t": 3, "ops": [["msg", "peerA", 0], ["drop", "peerB", "peerC"]]}
    blobs = [b"\x00\x01binary", b""]
    assert decode_message(encode_message(header, blobs)) == (header, blobs)


def test_a_cut_or_padded_message_is_a_protocol_error():
    data = encode_message({"type": "done"}, [b"abcdef"])
    for cut in (0, 3, 8, 12, len(data) - 2):
        with pytest.raises(ProtocolError):
            decode_message(data[:cut])
    with pytest.raises(ProtocolError, match="stray"):
        decode_message(data + b"x")


def test_garbage_is_a_protocol_error_and_sizes_are_checked_before_allocating():
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_message(struct.pack(">II", 3, 0) + b"\xff\xfe{")
    with pytest.raises(ProtocolError, match="'type'"):
        decode_message(encode_message({"type": "x"}).replace(b'"type"', b'"tipe"'))
    with pytest.raises(ProtocolError, match="longer than the message"):
        decode_message(struct.pack(">II", 2**31, 0))
    with pytest.raises(ProtocolError, match="blobs"):
        decode_message(struct.pack(">II", 2, 2**31) + b"{}")
    with pytest.raises(ProtocolError, match="over the limit"):
        decode_message(encode_message({"type": "x"}, [b"y" * 4096]), Limits(max_message_bytes=2048))
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_message(encode_message({"type": "x"}).replace(b"{", b"[" * 4))


def test_a_pipe_channel_delivers_whole_messages_and_reports_the_other_end_leaving():
    async def go():
        a, b = socket.socketpair()
        left = PipeChannel(a, "left").start()
        right = PipeChannel(b, "right", Limits(max_message_bytes=4096)).start()
        await left.write({"type": "tick", "t": 1}, [b"abc"])
        got = await right.read(5)
        await left.write({"type": "big"}, [b"z" * 8192])  # over the reader's limit: the channel ends
        with pytest.raises(ProtocolError):
            await right.read(5)
        left.close()
        with pytest.raises(ChannelClosed):
            await left.write({"type": "late"})
        return got

    assert asyncio.run(go()) == ({"type": "tick", "t": 1}, [b"abc"])


def test_a_pipe_channel_reads_multiprocessing_frames_however_they_arrive():
    """Frames as ``multiprocessing.connection`` writes them, cut anywhere or several in one read, come out
    whole and in order; a frame cut by the other end leaving is the channel closing, not a message."""

    async def go():
        a, b = socket.socketpair()
        sender = Connection(a.detach())  # the other end written with the standard library's own framing
        chan = PipeChannel(b, "right").start()
        frames = b""
        for k in range(5):
            payload = encode_message({"type": "tick", "t": k}, [bytes([k]) * (k * 7_000)])
            frames += struct.pack("!i", len(payload)) + payload
        for cut in (1, 3, 5, 4096, 7_001, 9):  # odd cuts (the socket buffer holds all: one thread)
            sender._send(frames[:cut])
            frames = frames[cut:]
            await asyncio.sleep(0)
        sender._send(frames)
        got = [await chan.read(5) for _ in range(5)]
        sender.send_bytes(encode_message({"type": "std"}))  # the standard library's own send
        got.append(await chan.read(5))
        sender._send(struct.pack("!i", 1000) + b"only part")
        sender.close()
        with pytest.raises(ChannelClosed):
            await chan.read(5)
        return got

    got = asyncio.run(go())
    assert [h for h, _ in got] == [{"type": "tick", "t": k} for k in range(5)] + [{"type": "std"}]
    assert [len(b[0]) for _, b in got[:5]] == [k * 7_000 for k in range(5)]


def test_a_pipe_channel_refuses_a_length_over_its_limit_before_reading_the_message():
    async def go():
        a, b = socket.socketpair()
        chan = PipeChannel(b, "right", Limits(max_message_bytes=4096)).start()
        a.sendall(struct.pack("!i", 1 << 30))  # announces 1 GiB, sends nothing more: nothing is allocated
        with pytest.raises(ProtocolError, match="bad message length"):
            await chan.read(5)
        with pytest.raises(OSError):  # this end is closed: the other end cannot go on writing
            a.sendall(struct.pack("!i", 16) * 100_000)
        with pytest.raises(ProtocolError):  # the channel stays ended
            await chan.read(5)
        a.close()

    asyncio.run(go())


def test_the_world_code_hash_follows_code_and_data_but_not_outputs(tmp_path):
    from wmverse.runtime.hub_admission import world_code_hash

    (tmp_path / "src").mkdir()
    (tmp_path / "run_w.py").write_text("x = 1\n")
    (tmp_path / "src" / "roles.json").write_text("{}")
    first = world_code_hash(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stats.json").write_text("[1]")
    (tmp_path / "notes.txt").write_text("anything")
    assert world_code_hash(tmp_path) == first
    (tmp_path / "src" / "roles.json").write_text('{"a": 1}')
    assert world_code_hash(tmp_path) != first


def test_configs_reject_bad_values(tmp_path):
    from wmverse.runtime.hub import HubConfig, derive_seed
    from wmverse.runtime.remote import JoinConfig

    with pytest.raises(ValueError, match="port"):
        HubConfig(port=70000)
    with pytest.raises(ValueError, match="timeouts"):
        HubConfig(tick_timeout_s=0)
    with pytest.raises(ValueError, match="16 characters"):
        HubConfig(token="short")
    assert HubConfig(allowed_peers=frozenset({PEER})).private and not HubConfig().private
    with pytest.raises(ValueError, match="not found"):
        JoinConfig(f"W@127.0.0.1:7070/{PEER}", (tmp_path / "run_x.py",))
    with pytest.raises(ValueError, match="NAME@HOST:PORT/PEER_ID"):
        JoinConfig("W@127.0.0.1:7070", (tmp_path / "run_x.py",))
    assert derive_seed(5, 0) == 5
    assert derive_seed(5, 1) == derive_seed(5, 1) != derive_seed(5, 2)


def test_the_world_folder_is_this_checkouts_never_code_from_the_hub(tmp_path):
    from wmverse.runtime.join import JoinError
    from wmverse.runtime.remote import JoinConfig, RemoteClient

    world = tmp_path / "copy" / "training"
    (world / "src").mkdir(parents=True)
    script = world / "run_1.py"
    script.write_text("")
    client = RemoteClient(JoinConfig(f"W@127.0.0.1:1/{PEER}", (script,)))
    assert client._world_folder({"world_folder": "/hub/machine/worlds/training/src"}) == world / "src"
    assert client._world_folder({"world_folder": "/hub/machine/worlds/training"}) == world
    with pytest.raises(JoinError, match="not in"):
        client._world_folder({"world_folder": "/hub/../../etc"})


def test_join_command_without_a_hub_fails_clearly(tmp_path, capsys):
    from wmverse.cli import main

    script = tmp_path / "run_1.py"
    script.write_text("")
    assert main(["runtime", "join", "--world", "not a name", str(script)]) == 2
    assert "NAME@HOST:PORT/PEER_ID" in capsys.readouterr().err
    where = f"W@127.0.0.1:9/{PEER}"
    code = main(["runtime", "join", "--world", where, str(script), "--connect-timeout", "0.3"])
    assert code == 1
    assert f"cannot reach the hub at {where}" in capsys.readouterr().out


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
        JoinConfig(
            f"W@127.0.0.1:7070/{PEER}", (tmp_path / "a" / "run_1.py", Path(tmp_path / "b" / "run_2.py"))
        )


def test_serve_options_refuse_typos_before_anything_starts(tmp_path, capsys):
    from wmverse.cli import main
    from wmverse.runtime.processes import ServeOptions

    assert ServeOptions(allowed_peers=(PEER,)).allowed_peers == (PEER,)
    for bad, match in (
        ({"allowed_peers": ("12D3KooW-typo",)}, "invalid peer id"),
        ({"host": "0.0.0.O"}, "IP address"),
        ({"public": True, "token": "x" * 20}, "public"),
        ({"token": "short"}, "16 characters"),
        ({"lockstep": -1}, "lockstep"),
        ({"max_message_mb": 0.0}, "max_message_mb"),
        ({"port": 70000}, "port"),
    ):
        with pytest.raises(ValueError, match=match):
            ServeOptions(**bad)
    world = Path(__file__).resolve().parents[2] / "worlds" / "training"
    assert main(["runtime", "serve", str(world), "--allow", "not-a-peer", "--db", "none"]) == 2
    assert "invalid peer id 'not-a-peer'" in capsys.readouterr().err


def test_once_libp2p_runs_here_children_start_without_vfork(tmp_path, monkeypatch):
    """After unaiverse's Go library is set up in this process, a child process starts with fork+exec (a
    vforked child shares memory with the Go runtime's running threads), and starting one still works."""
    import subprocess
    import sys

    from wmverse.runtime.p2p import P2PEndpoint

    monkeypatch.setattr(subprocess, "_USE_VFORK", True)  # as in a fresh interpreter
    endpoint = P2PEndpoint(tmp_path / "key", "127.0.0.1", 0).start()
    try:
        assert subprocess._USE_VFORK is False
        done = subprocess.run([sys.executable, "-c", "print('child ok')"], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.strip() == "child ok"
    finally:
        asyncio.run(endpoint.close())
