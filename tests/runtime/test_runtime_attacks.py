"""Attacks on a served world: strangers and hostile insiders against run_w.py's hub, over libp2p.

The tiny world is served in a thread of this process by ``serve_world`` in lockstep (same seed, same
result), with the hub at hand for the checks. A legit joiner (``wmverse runtime join`` with the three tiny
scripts, in a subprocess) says hello first, so it gets rank 1000 as in an undisturbed run; the test's own
remotes ("puppets", holding the token: a pacer and one hostile insider per tick attack) register after it.
Lockstep waits for all of them, and the puppets hold every tick until a test releases it: the world stands
still (first waiting for its agents, then ticking) while the attacks happen, one tick per insider attack.

The attackers are real ``P2PEndpoint`` nodes in this process (a fresh identity each), sending crafted
messages with ``send_raw`` (raw bytes) or ``P2PChannel.write`` (well-formed frames). Each attack checks the
stranger's fate (refused and/or banned) and that the world still runs; the last tests release the world and
compare its outcome (exit code, ticks, summary, transition lines, stats database) with an undisturbed run
of the same seed, served by ``serve_world`` in a subprocess at the same time.

The tests of this module share the served world and run in file order: the attacks before tick 0 (each
checks that the world has not started), then the insiders (one tick each), a flooder, the fuzzer (10,000
random and mutated messages from attackers that get a fresh identity when banned, bounded by time) and the
end of the run. Two more need no shared world: the hub's checks alone on 20,000 mutants (only
``ProtocolError`` may come out), and an insider's message that the world's node cannot read, against a world
served in a subprocess.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wmverse.runtime import processes
from wmverse.runtime.channels import ChannelClosed, ProtocolError, decode_message, encode_message
from wmverse.runtime.config import RuntimeConfig
from wmverse.runtime.hub import Hub
from wmverse.runtime.hub_admission import world_code_hash
from wmverse.runtime.hub_checks import (
    MAX_NODES_PER_PROCESS,
    check_done,
    check_hello,
    check_registration_shape,
)
from wmverse.runtime.p2p import P2PEndpoint, P2PUnavailable, _setup_library
from wmverse.runtime.processes import ServeOptions, serve_world
from wmverse.runtime.wire import PROTOCOL

try:
    _setup_library()
except P2PUnavailable as exc:  # pragma: no cover - the Go library does not load on this platform
    pytest.skip(str(exc), allow_module_level=True)

from unaiverse.networking.p2p.messages import Msg  # noqa: E402 - after the skip

TINY = Path(__file__).parent / "worlds" / "tiny"
TOKEN = "attack-suite-token-0123456789"
SEED = 0
MAX_STEPS = 300
MAX_MB = 1.0  # the served worlds' message limit (small: the over-the-limit attacks stay cheap)
LIMIT = int(MAX_MB * 1024 * 1024)
OPTIONS = dict(  # how every world of this module is served (besides lockstep)
    host="127.0.0.1", port=0, announce=False, token=TOKEN, tick_timeout_s=30.0, max_message_mb=MAX_MB
)
FUZZ_MESSAGES = 10_000
FUZZ_BUDGET_S = 20.0
FUZZ_THREADS = 3  # attackers at a time (libp2p closes one node at a time, in 0.2 s)
_PAIR = struct.Struct(">II")
_SERIAL = itertools.count(1)


def copy_tiny(dest: Path) -> Path:
    folder = dest / "tiny"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("out", "*.json", "__pycache__", "stats"))
    return folder


def outcome(result: Any) -> dict[str, Any]:
    """What an attack must not change: exit code, ticks, summary, transition lines, the stats database.

    A stored JSON text is compared as its content: unaiverse keeps the graph's edges in sets, whose order
    follows the string hashing of the process (another one in each process), so its lists of names are
    sorted and its keys too."""
    import json
    import sqlite3
    from pathlib import Path

    def canonical(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return json.dumps(tidy(json.loads(value)), sort_keys=True)
            except ValueError:
                return value
        return value

    def tidy(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: tidy(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [tidy(v) for v in value]
            return sorted(items) if all(isinstance(v, str) for v in items) else items
        return value

    rows: dict[str, Any] = {}
    if result.stats_db is not None and Path(result.stats_db).is_file():
        conn = sqlite3.connect(result.stats_db)
        try:
            tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
            for table in sorted(tables):
                found = [[canonical(v) for v in r] for r in conn.execute(f"select * from {table}")]
                rows[table] = sorted(found, key=repr)
        finally:
            conn.close()
    plain = {
        "exit_code": result.exit_code,
        "ended_by": result.ended_by,
        "steps": result.steps,
        "sim_seconds": round(result.sim_seconds, 6),
        "error": result.error,
        "summary": result.summary,
        "transitions": list(result.transitions),
        "stats": rows,
    }
    return json.loads(json.dumps(plain))  # the types a trip through a file gives


#: serve_world in a subprocess: WORLD_FOLDER RESULT_FILE LOCKSTEP MAX_STEPS (prints the joiners' address).
SERVE_SCRIPT = f"""
from __future__ import annotations
import json, sys
from typing import Any
from pathlib import Path
from wmverse.runtime.config import RuntimeConfig
from wmverse.runtime.processes import ServeOptions, serve_world
{inspect.getsource(outcome)}
folder, out, lockstep, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
config = RuntimeConfig(seed={SEED}, max_steps=steps, quiet=True, db="none")
options = ServeOptions(lockstep=lockstep, **{OPTIONS!r})
result = serve_world(folder, config, options, write=lambda line: print(line, flush=True))
out.write_text(json.dumps(outcome(result)))
"""


def serve_in_subprocess(folder: Path, lockstep: int, steps: int) -> tuple[subprocess.Popen, str, Path]:
    """Starts SERVE_SCRIPT; returns the process, the world's ``NAME@HOST:PORT/PEER`` and the result file."""
    script, result = folder.parent / "serve.py", folder.parent / "result.json"
    script.write_text(SERVE_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), str(result), str(lockstep), str(steps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    head = []
    for line in proc.stdout:
        head.append(line)
        found = re.search(r"--world (\S+@127\.0\.0\.1:\d+/\w+)", line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the rest
            return proc, found.group(1), result
    raise AssertionError("the served world printed no address:\n" + "".join(head)[-3000:])


def start_joiner(folder: Path, address: str) -> subprocess.Popen:
    """The legit joiner: ``wmverse runtime join`` with the three tiny scripts (output in folder/../joiner.log)."""
    scripts = [str(folder / f"run_{i}.py") for i in (1, 2, 3)]
    command = [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", address, "--token", TOKEN]
    command += ["--identity", str(folder.parent / "joiner-key"), "--quiet", *scripts]
    with open(folder.parent / "joiner.log", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def diff(expected: dict[str, Any], got: dict[str, Any]) -> str:
    """The lines that differ between two outcomes (undisturbed -> attacked)."""
    import difflib

    lines = [json.dumps(x, indent=1, sort_keys=True).splitlines() for x in (expected, got)]
    return "\n".join(list(difflib.unified_diff(*lines, "undisturbed", "attacked", lineterm="", n=1))[:80])


def frame(head: bytes, count: int = 0, tail: bytes = b"") -> bytes:
    """A raw message: ``>II`` (header length, blob count), the header's bytes, then ``tail``."""
    return _PAIR.pack(len(head), count) + head + tail


def bomb(kind: str, depth: int = 100_000) -> bytes:
    """A header nested ``depth`` lists deep (a JSON bomb for the parser)."""
    return frame(b'{"type":"%s","x":' % kind.encode() + b"[" * depth + b"]" * depth + b"}")


def done(t: Any, **fields: Any) -> dict[str, Any]:
    header = {"type": "done", "t": t, "ops": [], "printed": [], "transitions": [], "hsm": [], "delivered": 0}
    return header | {"joins": []} | fields


def node_msg(sender: str, to: str, content: Any = None, content_type: str = Msg.MISC) -> bytes:
    """An encoded unaiverse message from ``sender`` to ``to``, as a node's connection makes it."""
    return Msg(
        sender=sender,
        content_type=content_type,
        content={"hello": "there"} if content is None else content,
        channel=f"{sender}::dm:{to}-{content_type}",
        piggyback="someone0",
    ).to_bytes()


def tensor_msg(sender: str, members: int, shape: list[int]) -> bytes:
    """A stream-sample message whose tensor is ``members`` gzip members of 1 MB of zeros (1 kB each)."""
    import gzip

    from unaiverse.networking.p2p import message_pb2

    proto = message_pb2.Message(sender=sender, content_type=Msg.STREAM_SAMPLE, channel="x", piggyback="n0")
    tensor = proto.stream_sample.samples["frame"].data.tensor_data
    tensor.data = gzip.compress(bytes(1 << 20)) * members
    tensor.dtype = "uint8"
    tensor.shape.extend(shape)
    return proto.SerializeToString()


def entry(name: str, **fields: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "node_id": f"{name}-node",
        "pub": f"{name}-pub",
        "prv": f"{name}-prv",
        "type": "agent",
    }
    return base | fields


# --- the attackers' side ----------------------------------------------------------------------------
class Loop:
    """An asyncio loop in a thread of its own, for the attackers (the hub's loop runs in another thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="attackers", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out ({timeout:g} s) waiting for {what}")
        await asyncio.sleep(0.01)


class Peer:
    """An attacker: a libp2p node of its own (a fresh identity) connected to the served world."""

    def __init__(self, world: Any, endpoint: P2PEndpoint, chan: Any) -> None:
        self.world, self.ep, self.chan = world, endpoint, chan

    @classmethod
    async def connect(cls, world: Any, *args: Any) -> Any:
        folder = world.ids / f"peer-{next(_SERIAL)}"  # a fresh identity (threads share the counter)
        endpoint = P2PEndpoint(folder, "127.0.0.1", 0, ack_timeout_s=10.0).start()
        try:
            chan = await endpoint.connect(world.multiaddr, 20.0)
        except BaseException:
            await endpoint.close()
            raise
        peer = cls(world, endpoint, chan, *args)
        world.peers.append(peer)
        return peer

    @property
    def id(self) -> str:
        return self.ep.peer_id

    @property
    def banned(self) -> bool:
        return self.world.endpoint is not None and self.id in self.world.endpoint.banned

    async def raw(self, payload: bytes, kind: bytes = b"D") -> None:
        await self.ep.send_raw(self.chan.peer, kind + payload)

    async def send(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        await self.chan.write(header, blobs)

    def hello_header(self, **fields: Any) -> dict[str, Any]:
        base = {"type": "hello", "protocol": PROTOCOL, "rank": None, "scripts": ["run_x.py"], "pid": 1}
        return base | {"token": TOKEN, "code": self.world.code} | fields

    async def hello(self, **fields: Any) -> dict[str, Any]:
        """Says hello; returns the hub's answer (a welcome or a refusal)."""
        await self.send(self.hello_header(**fields))
        try:
            header, _ = await self.chan.read(20.0)
        except TimeoutError:
            raise AssertionError(f"no answer to the hello of {self.id}: {self.world.state()}") from None
        return header

    async def fate(self, ban: bool, timeout: float = 15.0) -> tuple[str | None, bool]:
        """(the hub's refusal or None, banned?), once banned (``ban``) or refused."""
        refused = None
        end = time.monotonic() + timeout
        while time.monotonic() < end and not (self.banned if ban else refused is not None):
            try:
                header, _ = await self.chan.read(0.05)
                if header.get("type") == "refuse":
                    refused = str(header.get("error"))
            except TimeoutError:
                pass
            except (ChannelClosed, ProtocolError):
                await asyncio.sleep(0.05)
        if not ban:
            await asyncio.sleep(0.3)  # a ban would follow the refusal at once
        return refused, self.banned

    async def close(self) -> None:
        if self in self.world.peers:
            self.world.peers.remove(self)
        await self.ep.close()


class Puppet(Peer):
    """A remote of the test's own (with the token): one agent node; it answers a tick only once released,
    saying ``busy`` meanwhile, with a plain ``done`` or with the attack it was given."""

    def __init__(self, world: Any, endpoint: P2PEndpoint, chan: Any, name: str) -> None:
        super().__init__(world, endpoint, chan)
        self.name = name
        self.t: int | None = None
        self.nodes: list[dict[str, Any]] = []
        self.holding = False
        self.auto = False  # answer every tick at once (the end of the run)
        self.release = asyncio.Event()
        self.attack: Callable[[Puppet], Any] | None = None
        self.end: str | None = None
        self.task: asyncio.Task | None = None

    def node(self, name: str) -> dict[str, Any]:
        return next(e for e in self.nodes if e["name"] == name)

    async def join(self) -> None:
        welcome = await self.hello(scripts=[f"run_{re.sub('[^A-Za-z0-9_.-]', '_', self.name)}.py"])
        assert welcome["type"] == "welcome", welcome
        await self.send({"type": "register", "nodes": [entry(self.name)], "joins": []})
        registered, _ = await self.chan.read(20.0)
        assert registered["type"] == "registered", registered
        self.task = asyncio.get_running_loop().create_task(self._ticks())

    async def _ticks(self) -> None:
        try:
            while True:
                header, _ = await self.chan.read()
                if header["type"] == "end":
                    self.end = str(header.get("reason"))
                    return
                if header["type"] != "tick":
                    continue
                self.t, self.nodes = header["t"], header.get("nodes", self.nodes)
                self.holding = True
                while not (self.auto or self.release.is_set()):
                    try:
                        await asyncio.wait_for(self.release.wait(), 2.0)
                    except TimeoutError:
                        await self.send({"type": "busy", "t": self.t})
                self.release.clear()
                self.holding = False
                attack, self.attack = self.attack, None
                answer = attack(self) if attack is not None else (done(self.t), [])
                if isinstance(answer, bytes):
                    await self.raw(answer)
                else:
                    await self.send(*answer)
        except (ChannelClosed, ProtocolError) as exc:
            self.end = self.end or type(exc).__name__


# --- the served world -------------------------------------------------------------------------------
class WatchedHub(Hub):
    """serve_world's hub, kept at hand; records what escapes a connection's task (nothing should)."""

    made: list[WatchedHub] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_errors: list[str] = []
        WatchedHub.made.append(self)

    async def _serve(self, chan: Any) -> None:
        try:
            await super()._serve(chan)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.task_errors.append(f"{type(exc).__name__}: {exc}")
            raise


class BesiegedWorld:
    """The tiny world served in a thread (lockstep: the joiner and the puppets), its joiner and attackers."""

    def __init__(self, folder: Path, puppets: list[str]) -> None:
        self.folder = folder
        self.ids = folder.parent / "identities"
        self.puppet_names = puppets
        self.puppets: list[Puppet] = []
        self.peers: list[Peer] = []
        self.lines: list[str] = []
        self.result: Any = None
        self.crash: BaseException | None = None
        self.loop = Loop()
        self.hub: WatchedHub | None = None
        self.joiner: subprocess.Popen | None = None
        self.finished: dict[str, Any] | None = None

    @property
    def code(self) -> str:
        """The world's code hash, as a joiner computes it from its checkout (the served folder here)."""
        return world_code_hash(self.folder)

    def start(self) -> None:
        config = RuntimeConfig(seed=SEED, max_steps=MAX_STEPS, quiet=True, db="none")
        options = ServeOptions(lockstep=1 + len(self.puppet_names), **OPTIONS)

        def serve() -> None:
            try:
                self.result = serve_world(self.folder, config, options, write=self.lines.append)
            except BaseException as exc:  # noqa: BLE001 - what the checks look at
                self.crash = exc

        self.thread = threading.Thread(target=serve, name="served-world", daemon=True)
        made = len(WatchedHub.made)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(processes, "Hub", WatchedHub)
            self.thread.start()
            self._wait(lambda: len(WatchedHub.made) > made, 30, "the hub")
        self.hub = WatchedHub.made[made]
        self.endpoint = self.hub.endpoint
        self._wait(lambda: self.endpoint.on_new_peer is not None, 60, "the hub to serve")
        self.multiaddr = self.endpoint.multiaddr()
        host, port, peer = re.fullmatch(r"/ip4/([^/]+)/tcp/(\d+)/p2p/(\w+)", self.multiaddr).groups()
        self.joiner = start_joiner(self.folder, f"TinyWorld@{host}:{port}/{peer}")

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not condition():
            assert self.crash is None, f"the served world crashed: {self.crash!r}"
            assert time.monotonic() < end, f"timed out ({timeout:g} s) waiting for {what}"
            time.sleep(0.02)

    # --- state, as the tests see it
    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return self.loop.run(coro, timeout)

    @property
    def joiner_link(self) -> Any:
        links = [lk for lk in self.hub.pending + self.hub.links if "Asker" in lk.names]
        return links[0] if links else None

    def wait_for_joiner(self) -> Any:
        """The legit joiner's link, once it registered (it then holds rank 1000)."""
        self._wait(lambda: self.joiner_link is not None or self.joiner.poll() is not None, 120, "the joiner")
        assert self.joiner_link is not None, self.joiner_log()
        assert self.joiner_link.rank == 1000
        return self.joiner_link

    def state(self) -> str:
        """What the hub holds now (for the messages of failed checks)."""
        ep, hub = self.endpoint, self.hub
        return (
            f"pending {len(ep.pending)}/{ep.max_pending}, channels {len(ep.channels)}, banned {len(ep.banned)}, "
            f"dropped {ep.dropped}, handshakes {len(hub._handshakes)}, last events {hub.events[-4:]}"
        )

    def joiner_log(self) -> str:
        return (self.folder.parent / "joiner.log").read_text()[-3000:]

    def waiting(self) -> None:
        """Checks that the world is up and still waits for its agents (the attacks before tick 0)."""
        assert self.thread.is_alive() and self.crash is None, self.crash
        assert not self.hub.started, "the world started: run the attacks before tick 0 first (file order)"

    def running(self) -> None:
        """Checks that the world is up, ticking, and still has its joiner."""
        assert self.thread.is_alive() and self.crash is None, self.crash
        assert self.hub.started and self.joiner_link is not None and self.joiner_link.active
        assert self.hub.task_errors == []

    def link_of(self, name: str) -> Any:
        return next(lk for lk in self.hub.pending + self.hub.links if name in lk.names)

    def start_ticking(self) -> None:
        """Registers the puppets after the joiner: the last one starts the run; all hold tick 0."""
        if self.puppets:
            return
        self.wait_for_joiner()

        async def register() -> None:
            for name in self.puppet_names:
                puppet = await Puppet.connect(self, name)
                await puppet.join()
                self.puppets.append(puppet)
                self.peers.remove(puppet)  # closed at the end only
            await until(lambda: all(p.holding and p.t == 0 for p in self.puppets), 60, "tick 0")

        self.run(register())

    async def atick(self, attacks: dict[str, Callable[[Puppet], Any]] | None = None) -> int:
        """Releases the held tick (the named puppets answer it with their attack); waits for the next one."""
        attacks = attacks or {}
        live = [p for p in self.puppets if p.holding]
        assert live and all(p.t == live[0].t for p in live)
        t = live[0].t
        for p in live:
            p.attack = attacks.get(p.name)
            p.release.set()
        for p in live:
            if p.name not in attacks:
                await until(lambda p=p: (p.holding and p.t == t + 1) or p.end is not None, 60, "a tick")
        return t

    def tick(self, attacks: dict[str, Callable[[Puppet], Any]] | None = None) -> int:
        return self.run(self.atick(attacks))

    def finish(self) -> dict[str, Any]:
        """Lets the run end (the puppets answer at once); returns the world's outcome."""
        if self.finished is None:
            self.start_ticking()

            async def release() -> None:
                for p in self.puppets:
                    p.auto = True
                    p.release.set()

            self.run(release())
            self.thread.join(120)
            assert not self.thread.is_alive(), "the world did not end"
            assert self.crash is None, f"the served world crashed: {self.crash!r}"
            self.joiner.wait(60)
            self.finished = outcome(self.result)
        return self.finished

    def close(self) -> None:
        async def close_all() -> None:
            for peer in list(self.peers) + self.puppets:
                if isinstance(peer, Puppet) and peer.task is not None:
                    peer.task.cancel()
                await peer.ep.close()

        try:
            if self.finished is None and self.thread.is_alive():
                self.finish()
        finally:
            self.run(close_all(), 60)
            self.loop.close()
            if self.joiner is not None and self.joiner.poll() is None:
                self.joiner.kill()
                self.joiner.wait()


# --- crafted messages -------------------------------------------------------------------------------
def _register(*nodes: dict[str, Any], **fields: Any) -> bytes:
    return encode_message({"type": "register", "nodes": list(nodes), "joins": []} | fields)


def _join(node: str, **request: Any) -> dict[str, Any]:
    mine = entry(node)
    base = {"node_name": node, "node_id": mine["node_id"], "private_peer_id": mine["prv"], "profile": {}}
    return {"node": node, "world": "TinyWorld", "request": base | request}


#: A stranger's first message (before any hello): the hub drops and bans it.
BEFORE_HELLO: dict[str, Callable[[Peer], bytes]] = {
    "random-bytes": lambda p: random.Random(1).randbytes(300),
    "wrong-protocol": lambda p: encode_message(p.hello_header(protocol=PROTOCOL + 1)),
    "protocol-as-a-list": lambda p: encode_message(p.hello_header(protocol=[PROTOCOL])),
    "token-not-a-string": lambda p: encode_message(p.hello_header(token={"$ne": None})),
    "unknown-type": lambda p: encode_message({"type": "teleport", "to": "TinyWorld"}),
    "done-with-a-non-number-delivered": lambda p: encode_message(done(0, delivered="lots")),
    "header-not-a-dict": lambda p: frame(b"[1, 2, 3]"),
    "json-bomb": lambda p: bomb("hello"),
    "2**31-blobs": lambda p: frame(json.dumps(p.hello_header()).encode(), 2**31),
    "blob-longer-than-the-message": lambda p: frame(b'{"type":"hello"}', 1, struct.pack(">I", 10**6) + b"x"),
    "truncated": lambda p: encode_message(p.hello_header())[:-3],
    "stray-bytes": lambda p: encode_message(p.hello_header()) + b"\0\0",
    "over-the-size-limit": lambda p: encode_message(p.hello_header(pad="x" * LIMIT)),
    "huge-rank": lambda p: encode_message(p.hello_header(rank=10**30)),
    "script-with-a-path": lambda p: encode_message(p.hello_header(scripts=["../../run_w.py"])),
}

#: A token holder's second message, after the hub welcomed it (instead of its registration): dropped, banned.
AFTER_HELLO: dict[str, Callable[[Peer], bytes]] = {
    "random-bytes": lambda p: random.Random(2).randbytes(300),
    "json-bomb": lambda p: bomb("register"),
    "2**31-blobs": lambda p: frame(b'{"type":"register","nodes":[]}', 2**31),
    "over-the-size-limit": lambda p: _register(entry("Mallory"), pad="x" * LIMIT),
    "registration-without-node_id": lambda p: _register(
        {k: v for k, v in entry("Mallory").items() if k != "node_id"}
    ),
    "a-list-as-node-name": lambda p: _register(entry("Mallory") | {"name": ["Asker"]}),
    "a-world-node": lambda p: _register(entry("Mallory", type="world")),
    "nodes-not-a-list": lambda p: encode_message({"type": "register", "nodes": entry("Mallory")}),
    "more-nodes-than-a-process-may-bring": lambda p: _register(
        *(entry(f"Mallory{i}") for i in range(MAX_NODES_PER_PROCESS + 1))
    ),
    "one-id-twice": lambda p: _register(entry("Mallory", pub="Mallory-prv")),
    "a-join-for-a-list-node": lambda p: _register(
        entry("Mallory"), joins=[_join("Mallory") | {"node": ["Mallory"]}]
    ),
    "a-join-for-another-node": lambda p: _register(entry("Mallory"), joins=[_join("Asker")]),
    "a-join-with-another-node-id": lambda p: _register(
        entry("Mallory"), joins=[_join("Mallory", node_id="x")]
    ),
    "a-second-hello": lambda p: encode_message(p.hello_header()),
    "done-instead-of-register": lambda p: encode_message(done(0)),
}


def _world_prv(p: Puppet) -> str:
    return p.node("TinyWorld")["prv"]


def _mine(p: Puppet) -> str:
    return entry(p.name)["prv"]


def _ops(*ops: list[Any], blobs: Callable[[Puppet], list[bytes]] | None = None) -> Callable[[Puppet], Any]:
    return lambda p: (
        done(p.t, ops=[[f(p) if callable(f) else f for f in op] for op in ops]),
        blobs(p) if blobs else [],
    )


_OWN_MSG = lambda p: [node_msg(_mine(p), _world_prv(p))]  # noqa: E731

#: A registered insider's answer to a tick: the hub drops it (and bans its peer); the world goes on.
INSIDERS: dict[str, Callable[[Puppet], Any]] = {
    "done-for-the-wrong-tick": lambda p: (done(p.t + 1), []),
    "non-number-delivered": lambda p: (done(p.t, delivered="lots"), []),
    "a-list-as-op-target": _ops(["msg", lambda p: [_world_prv(p)], 0], blobs=_OWN_MSG),
    "blob-index-out-of-range": _ops(["msg", _world_prv, 3], blobs=_OWN_MSG),
    "unknown-op": _ops(["teleport", _world_prv, _mine]),
    "drop-naming-another-node-as-the-peer": _ops(["drop", _world_prv, lambda p: p.node("Asker")["prv"]]),
    "msg-forged-as-another-node": _ops(
        ["msg", _world_prv, 0], blobs=lambda p: [node_msg(p.node("Asker")["prv"], _world_prv(p))]
    ),
    "one-blob-sent-many-times": _ops(*[["msg", _world_prv, 0]] * 50, blobs=_OWN_MSG),
    "msg-that-is-no-unaiverse-message": _ops(["msg", _world_prv, 0], blobs=lambda p: [b"\xff\xfe garbage"]),
    "sub-for-another-node": _ops(["sub", "TinyWorld::ps:news", lambda p: p.node("Asker")["prv"], True]),
    "state-machine-move-naming-a-list": lambda p: (done(p.t, hsm=[[[p.name], None, None, None, 1.0]]), []),
    "a-gzip-bomb": _ops(["msg", _world_prv, 0], blobs=lambda p: [tensor_msg(_mine(p), 300, [300 << 20])]),
    "a-gzip-bomb-with-a-small-shape": _ops(
        ["msg", _world_prv, 0], blobs=lambda p: [tensor_msg(_mine(p), 8, [10])]
    ),
    "random-bytes": lambda p: random.Random(3).randbytes(300),
    "json-bomb": lambda p: bomb("done"),
    "two-to-the-31-blobs": lambda p: frame(json.dumps(done(p.t)).encode(), 2**31),
    "over-the-size-limit": lambda p: encode_message(done(p.t, printed=["x" * LIMIT])),
    "a-resume-hello-of-another-protocol": lambda p: (p.hello_header(resume=True, protocol=PROTOCOL + 1), []),
    "a-resume-hello-without-the-token": lambda p: (p.hello_header(resume=True, token="not-the-token"), []),
}


# --- the fixtures -----------------------------------------------------------------------------------
class Baseline:
    """The undisturbed run: the same world, options and joiner, served by serve_world in a subprocess
    (while the besieged world is attacked in this process)."""

    def __init__(self, tmp: Path) -> None:
        self.folder = copy_tiny(tmp)
        self.procs: list[subprocess.Popen] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            proc, address, result = serve_in_subprocess(self.folder, 1, MAX_STEPS)
            self.procs.append(proc)
            joiner = start_joiner(self.folder, address)
            self.procs.append(joiner)
            self.joiner_code = joiner.wait(300)
            proc.wait(300)
            self.outcome = json.loads(result.read_text())
        except BaseException as exc:  # noqa: BLE001 - reported by get()
            self.error = exc

    def get(self) -> tuple[dict[str, Any], int]:
        self.thread.join(400)
        if self.error is not None:
            raise self.error
        return self.outcome, self.joiner_code

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    run = Baseline(tmp_path_factory.mktemp("baseline"))
    yield run
    run.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, baseline):
    puppets = ["Pacer", "Flooder", *INSIDERS]
    besieged = BesiegedWorld(copy_tiny(tmp_path_factory.mktemp("besieged")), puppets)
    besieged.start()
    yield besieged
    besieged.close()


@pytest.fixture(scope="module")
def ticking(world):
    world.start_ticking()
    return world


# --- before tick 0: strangers -----------------------------------------------------------------------
@pytest.mark.parametrize("attack", list(BEFORE_HELLO))
def test_a_crafted_first_message_gets_the_stranger_banned(world, attack):
    world.waiting()

    async def go() -> tuple[str | None, bool]:
        peer = await Peer.connect(world)
        try:
            await peer.raw(BEFORE_HELLO[attack](peer))
            return await peer.fate(ban=True)
        finally:
            await peer.close()

    refused, banned = world.run(go())
    assert banned, f"not banned (refused: {refused})"
    world.waiting()
    assert world.hub.task_errors == []


@pytest.mark.parametrize("kind", [b"A", b"Z"], ids=["an-acknowledgement", "an-unknown-kind"])
def test_a_first_message_of_another_kind_is_dropped_without_a_channel(world, kind):
    world.waiting()

    async def go() -> tuple[int, bool]:
        peer = await Peer.connect(world)
        try:
            before = world.endpoint.dropped
            await peer.raw(b"99999" if kind == b"A" else encode_message(peer.hello_header()), kind=kind)
            await until(lambda: world.endpoint.dropped > before, 10, "the drop")
            return world.endpoint.dropped - before, peer.id in world.endpoint.channels
        finally:
            await peer.close()

    dropped, has_channel = world.run(go())
    assert dropped == 1 and not has_channel
    world.waiting()


@pytest.mark.parametrize(
    "token", [None, "x" * 24, TOKEN[:-1] + "!", TOKEN + "x"], ids=["none", "wrong", "one-char-off", "longer"]
)
def test_a_stranger_without_the_token_is_refused(world, token):
    world.waiting()

    async def go() -> tuple[dict[str, Any], bool]:
        peer = await Peer.connect(world)
        try:
            answer = await peer.hello(token=token)
            await asyncio.sleep(0.3)  # a ban would follow the refusal at once
            return answer, peer.banned
        finally:
            await peer.close()

    answer, banned = world.run(go())
    assert answer["type"] == "refuse" and "this world is private" in answer["error"]
    assert not banned  # refused, not banned: a typo is no attack
    world.waiting()


def test_a_stranger_with_the_token_and_other_code_is_refused(world):
    world.waiting()

    async def go() -> dict[str, Any]:
        peer = await Peer.connect(world)
        try:
            return await peer.hello(code="0123456789abcdef")
        finally:
            await peer.close()

    answer = world.run(go())
    assert answer["type"] == "refuse" and "differs from the world served here" in answer["error"]


# --- before tick 0: token holders (after the legit joiner, which keeps rank 1000) --------------------
@pytest.mark.parametrize("attack", list(AFTER_HELLO))
def test_a_crafted_registration_gets_the_stranger_banned(world, attack):
    world.waiting()
    joiner = world.wait_for_joiner()
    entries = copy.deepcopy(joiner.entries)

    async def go() -> tuple[dict[str, Any], str | None, bool]:
        peer = await Peer.connect(world)
        try:
            welcome = await peer.hello()
            await peer.raw(AFTER_HELLO[attack](peer))
            return welcome, *(await peer.fate(ban=True))
        finally:
            await peer.close()

    welcome, refused, banned = world.run(go())
    assert welcome["type"] == "welcome"
    assert banned, f"not banned (refused: {refused}; hub: {world.hub.task_errors})"
    world.waiting()
    assert world.hub.task_errors == []
    assert world.hub.pending[0] is joiner and joiner.entries == entries and len(world.hub.pending) == 1


COLLISIONS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "the-world's-name": lambda w, a: entry("TinyWorld"),
    "the-world's-peer-id": lambda w, a: entry("Mallory", pub=w.public_peer_id),
    "the-world's-private-peer-id": lambda w, a: entry("Mallory", prv=w.private_peer_id),
    "the-world's-node-id": lambda w, a: entry("Mallory", node_id=w.node_id),
    "the-joiner's-node-name": lambda w, a: entry("Asker"),
    "the-joiner's-node-id": lambda w, a: entry("Mallory", node_id=a["node_id"]),
    "the-joiner's-peer-id": lambda w, a: entry("Mallory", pub=a["prv"]),
}


@pytest.mark.parametrize("attack", list(COLLISIONS))
def test_an_insider_registering_a_taken_name_or_id_is_refused(world, attack):
    world.waiting()
    joiner = world.wait_for_joiner()
    entries = copy.deepcopy(joiner.entries)
    world_node = world.hub._worlds()[0]
    asker = next(e for e in joiner.entries if e["name"] == "Asker")

    async def go() -> tuple[str | None, bool]:
        peer = await Peer.connect(world)
        try:
            assert (await peer.hello())["type"] == "welcome"
            await peer.raw(_register(COLLISIONS[attack](world_node, asker)))
            return await peer.fate(ban=False)
        finally:
            await peer.close()

    refused, banned = world.run(go())
    assert refused is not None and ("is taken" in refused or "claims an id" in refused), refused
    assert not banned
    world.waiting()
    assert world.hub.pending == [joiner] and joiner.entries == entries


def test_a_failing_stranger_writes_no_control_characters_to_the_hub_log(world):
    world.waiting()
    world.wait_for_joiner()

    async def go() -> None:
        peer = await Peer.connect(world)
        try:
            assert (await peer.hello())["type"] == "welcome"
            await peer.send({"type": "fail", "error": "\x1b[2J\x1b[31mthe world is over\x07"})
            await until(lambda: any("the world is over" in line for line in world.hub.events), 10, "the log")
        finally:
            await peer.close()

    world.run(go())
    line = next(line for line in world.hub.events if "the world is over" in line)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), repr(line)


# --- silence and crowds ---------------------------------------------------------------------------
def test_silent_strangers_do_not_block_the_run(world):
    """One connects and never speaks (the hub knows nothing of it), one says hello and goes silent: both
    stay connected to the end (test_the_besieged_world_ends_with_the_undisturbed_result)."""
    world.waiting()
    world.wait_for_joiner()

    async def go() -> tuple[Peer, Peer]:
        mute = await Peer.connect(world)
        talker = await Peer.connect(world)
        assert (await talker.hello())["type"] == "welcome"
        return mute, talker

    mute, talker = world.run(go())
    assert mute.id not in world.endpoint.channels and mute.id not in world.endpoint.pending
    assert talker.id in world.endpoint.pending
    world.waiting()


def test_a_peer_silent_after_its_welcome_is_disconnected_and_frees_its_slot(world):
    """An admitted peer that never registers holds one of the endpoint's connection slots only until the
    registration timeout (``run_w.py --register-timeout``; 1 s here): it is then disconnected, named in the
    hub's log, and the slot is free again."""
    world.waiting()
    world.wait_for_joiner()
    config = world.hub.config
    saved, config.register_timeout_s = config.register_timeout_s, 1.0

    async def go() -> tuple[str, bool]:
        talker = await Peer.connect(world)
        assert (await talker.hello())["type"] == "welcome"
        peer = talker.id
        held = peer in world.endpoint.pending
        await until(lambda: peer not in world.endpoint.pending, 10, "the silent peer's slot to be freed")
        await talker.close()
        return peer, held

    try:
        peer, held = world.run(go())
    finally:
        config.register_timeout_s = saved
    assert held
    assert any(f"{peer} ended before registering (TimeoutError)" in line for line in world.hub.events)
    world.waiting()


def test_connecting_strangers_are_capped(world):
    world.waiting()
    world.wait_for_joiner()
    cap = world.endpoint.max_pending
    world.endpoint.max_pending = len(world.endpoint.pending) + 2

    async def go() -> tuple[list[dict[str, Any]], int, list[bool]]:
        holders = [await Peer.connect(world) for _ in range(2)]
        answers = [await h.hello() for h in holders]  # they stay silent after their hello: slots held
        crowd = [await Peer.connect(world) for _ in range(3)]
        before = world.endpoint.dropped
        for peer in crowd:
            await peer.send(peer.hello_header())
        await until(lambda: world.endpoint.dropped >= before + 3, 10, "the crowd to be dropped")
        unanswered = []
        for peer in crowd:
            try:
                await peer.chan.read(0.3)
                unanswered.append(False)
            except TimeoutError:
                unanswered.append(True)
            await peer.close()
        return answers, world.endpoint.dropped - before, unanswered

    try:
        answers, dropped, unanswered = world.run(go())
    finally:
        world.endpoint.max_pending = cap
    assert [a["type"] for a in answers] == ["welcome", "welcome"]
    assert dropped >= 3 and all(unanswered)
    world.waiting()


# --- during the run: hostile insiders ---------------------------------------------------------------
@pytest.mark.parametrize("attack", list(INSIDERS))
def test_a_hostile_insider_is_dropped_and_the_world_goes_on(ticking, attack):
    world = ticking
    world.running()
    link = world.link_of(attack)
    assert link.active
    steps = world.hub.runtime.steps
    t = world.tick({attack: INSIDERS[attack]})
    assert t == steps and world.hub.runtime.steps == steps + 1
    assert not link.active, f"{attack!r} was not dropped"
    assert link.peer in world.endpoint.banned
    assert any(f"({attack}) from" in line and "broke the protocol" in line for line in world.hub.events)
    world.running()
    assert all(lk.active for lk in world.hub.links if lk.names & {"Asker", "Pacer"})


def test_an_insider_flooding_the_hub_between_ticks_is_dropped(ticking):
    """An insider answers its tick, then sends 1,000 messages of 4 kB while the hub waits for the others
    (nobody reads them: a well-behaved remote sends nothing between its answer and the next tick). The hub
    keeps a bounded backlog of them (two messages of the largest size) and drops the flooder at its next
    read, the next tick."""
    world = ticking
    world.running()
    link = world.link_of("Flooder")
    flooder = next(p for p in world.puppets if p.name == "Flooder")

    async def answer_then_flood() -> int:
        flooder.release.set()  # it alone answers the held tick
        await until(lambda: not flooder.holding, 10, "the flooder's answer")
        for i in range(1000):
            await flooder.raw(encode_message({"type": "busy", "t": flooder.t, "pad": "x" * 4000}))
            if i % 20 == 19:
                await asyncio.sleep(0.002)  # unaiverse's queue holds 50 per peer: let the hub take them
        await asyncio.sleep(0.3)
        return link.channel.backlog

    backlog = world.run(answer_then_flood())
    assert backlog <= 2 * LIMIT, f"{backlog} bytes queued for nobody"
    world.tick()  # the others answer: the next tick reads the flooder's backlog
    world.tick({"Flooder": lambda p: (done(p.t), [])})
    assert not link.active and link.peer in world.endpoint.banned
    assert any("(Flooder) from" in line and "nobody read" in line for line in world.hub.events)
    world.running()


# --- the fuzzer -------------------------------------------------------------------------------------
_IDS = ["Asker", "TinyWorld", "Pacer", "Pacer-prv", "Pacer-pub", "Asker-prv", "x" * 129, "", "a/b", "..", "é"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(14 if depth < 3 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2**31, 2**53, -(2**63), 10**40, rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -1.0, 1e308, float("inf"), float("nan"), rng.random()])
    if kind == 4:
        return rng.choice(_IDS)
    if kind == 5:
        return "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randint(0, 40)))
    if kind == 6:
        return rng.choice(
            ["hello", "register", "done", "busy", "fail", "tick", "msg", "drop", "sub", "connect"]
        )
    if kind == 7:
        return "x" * rng.choice([1, 100, 5000])
    if kind == 8:
        return _nested(rng)
    if kind in (9, 10):
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 11:
        return {
            str(random_value(rng, 3))[:20]: random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))
        }
    if kind == 12:
        return [rng.choice(["msg", "drop", "connect", "sub", "x"])] + [
            random_value(rng, depth + 1) for _ in range(3)
        ]
    return [random_value(rng, depth + 1), None, "a", "b", 1.0]  # a state-machine move


def _nested(rng: random.Random) -> Any:
    value: Any = []
    for _ in range(rng.randint(1, 300)):
        value = [value]
    return value


def mutate(rng: random.Random, value: Any, rounds: int = 3) -> Any:
    """``value`` (a JSON dict) with a few random changes: a leaf replaced, a key dropped or added."""
    value = copy.deepcopy(value)
    for _ in range(rng.randint(1, rounds)):
        node, path = value, []
        while isinstance(node, dict | list) and node and rng.random() < 0.6:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if not path:
            parent, key = value, rng.choice(list(value) + ["extra"])
        else:
            parent, key = path[-1]
        action = rng.randrange(4)
        if action == 0 and isinstance(parent, dict):
            parent.pop(key, None)
        elif action == 1 and isinstance(parent, list):
            parent.insert(rng.randrange(len(parent) + 1), random_value(rng))
        elif action == 2:
            parent[key] = _nested(rng)
        else:
            parent[key] = random_value(rng)
    return value


def byte_mutant(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(5)
        if action == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif action == 1:
            del data[rng.randrange(len(data) + 1) :]
        elif action == 2:
            pos = rng.randrange(len(data) + 1)
            data[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif action == 3 and len(data) >= 8:
            data[rng.randrange(8)] = rng.randrange(256)  # the frame's lengths
        else:
            data[:8] = _PAIR.pack(
                rng.choice([0, 1, 2**31, 2**32 - 1, len(data)]), rng.choice([0, 1, 2, 2**31])
            )
    return bytes(data)


def valid_messages(code: str) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What a legit remote says (the fuzzer's seeds)."""
    hello = {"type": "hello", "protocol": PROTOCOL, "rank": None, "scripts": ["run_f.py"], "pid": 7}
    hello |= {"token": TOKEN, "code": code}
    me = entry("Fuzz")
    register = {"type": "register", "nodes": [me], "joins": [_join("Fuzz")]}
    ops = [["msg", "TinyWorld-prv", 0], ["connect", "TinyWorld-prv", me["prv"], True]]
    ops += [["drop", "TinyWorld-prv", me["prv"]], ["sub", "chan", me["pub"], False]]
    full = done(
        0, ops=ops, printed=["a line"], transitions=["[t] Fuzz: moved"], hsm=[["Fuzz", "a", "b", "go", 0.1]]
    )
    blob = node_msg(me["prv"], "TinyWorld-prv")
    import torch

    sample = {"frame": {"data": torch.arange(12.0).reshape(3, 4), "data_tag": 1, "data_uuid": None}}
    stream = Msg(sender=me["prv"], content_type=Msg.STREAM_SAMPLE, content=sample, channel="c").to_bytes()
    return [
        (done(0, ops=[["msg", "TinyWorld-prv", 0]]), [stream]),
        (hello, []),
        (register, []),
        (full, [blob]),
        (done(0), []),
        ({"type": "busy", "t": 0}, []),
        ({"type": "fail", "error": "oops"}, []),
    ]


def fuzz_message(rng: random.Random, seeds: list[tuple[dict[str, Any], list[bytes]]]) -> bytes:
    """One random or mutated message, as raw libp2p data (kind byte included)."""
    header, blobs = rng.choice(seeds)
    roll = rng.random()
    if roll < 0.45:
        data = encode_message(mutate(rng, header), blobs)
    elif roll < 0.75:
        data = byte_mutant(rng, encode_message(header, blobs))
    elif roll < 0.85:
        data = rng.randbytes(rng.randint(0, 400))
    elif roll < 0.95:
        data = encode_message(header, [rng.randbytes(rng.randint(0, 64)) for _ in blobs])
    else:
        return rng.choice([b"A", b"X", b""]) + rng.randbytes(rng.randint(0, 20))
    return b"D" + data


async def fuzz(world: BesiegedWorld, rng: random.Random, count: int, budget_s: float) -> dict[str, Any]:
    """Sends ``count`` fuzzed messages (fewer if ``budget_s`` runs out), from one attacker at a time.

    Each attacker is a fresh identity; half of them start with a valid hello (so that what follows meets
    the registration checks). It sends its messages in chunks of 25 (unaiverse's queue holds 50 per peer);
    once the hub bans it, it knocks on the closed door (200 replays of what it sent) and a new identity
    takes over.
    """
    seeds = valid_messages(world.code)
    sent = identities = 0
    start = time.monotonic()
    while sent < count and time.monotonic() - start < budget_s:
        peer = await Peer.connect(world)
        identities += 1
        try:
            if rng.random() < 0.5:
                await peer.send(peer.hello_header())
                sent += 1
            made: list[bytes] = []
            for _ in range(8):  # fresh mutants until the hub bans it
                if peer.banned:
                    break
                for _ in range(25):
                    made.append(fuzz_message(rng, seeds))
                    await peer.ep.send_raw(peer.chan.peer, made[-1])
                    sent += 1
                await asyncio.sleep(0.005)
            for _ in range(200 if peer.banned else 0):  # then it knocks: replays of its mutants
                await peer.ep.send_raw(peer.chan.peer, rng.choice(made))
                sent += 1
        except ChannelClosed:  # the hub hung up on it
            pass
        finally:
            await peer.close()
    return {"sent": sent, "identities": identities, "seconds": round(time.monotonic() - start, 1)}


def fuzz_in_threads(world: BesiegedWorld, count: int, budget_s: float) -> dict[str, Any]:
    """FUZZ_THREADS fuzzers at once, each with an event loop of its own in a thread; their figures summed."""
    results: list[Any] = [None] * FUZZ_THREADS

    def work(i: int) -> None:
        try:
            results[i] = asyncio.run(
                fuzz(world, random.Random(2024 + i), -(-count // FUZZ_THREADS), budget_s)
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(FUZZ_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(budget_s + 60)
    for result in results:
        if not isinstance(result, dict):
            raise AssertionError(f"a fuzzer failed: {result!r}")
    total = {key: sum(r[key] for r in results) for key in ("sent", "identities")}
    return total | {"seconds": max(r["seconds"] for r in results)}


def test_a_fuzzer_does_not_shake_the_world(ticking):
    """10,000 random and mutated messages while the world ticks (a tick released every second)."""
    world = ticking
    world.running()
    seen = {"at the gate": 0, "past the gate": 0}
    take = world.endpoint._take

    async def counted(message: Any) -> None:
        gone = isinstance(message, dict) and message.get("from") in world.endpoint.banned
        seen["at the gate" if gone else "past the gate"] += 1
        await take(message)

    world.endpoint._take = counted  # the hub's loop looks it up at each message
    banned_before = len(world.endpoint.banned)
    steps = world.hub.runtime.steps

    async def go() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        fuzzers = loop.run_in_executor(None, fuzz_in_threads, world, FUZZ_MESSAGES, FUZZ_BUDGET_S)
        ticks = 0
        while not fuzzers.done() and ticks < 1:
            await asyncio.sleep(1.0)
            await world.atick()
            ticks += 1
        return await fuzzers

    try:
        figures = world.run(go(), timeout=FUZZ_BUDGET_S + 120)
    finally:
        world.endpoint._take = take
    figures |= {"banned": len(world.endpoint.banned) - banned_before, "hub saw": seen}
    print(f"fuzzer: {figures}")
    world.running()
    assert world.hub.runtime.steps > steps
    assert figures["sent"] >= FUZZ_MESSAGES or figures["seconds"] >= FUZZ_BUDGET_S
    assert figures["banned"] > 0


# --- the end of the run -----------------------------------------------------------------------------
def test_the_besieged_world_ends_with_the_undisturbed_result(world, baseline):
    besieged = world.finish()
    undisturbed, joiner_code = baseline.get()
    assert undisturbed["exit_code"] == 0 and undisturbed["ended_by"] == "world", undisturbed
    assert joiner_code == 0
    assert world.joiner.returncode == 0, world.joiner_log()
    assert world.hub.task_errors == []
    assert besieged == undisturbed, diff(undisturbed, besieged)
    assert "Asker: completed 1.00 asked Bob" in besieged["summary"]


# --- the checks alone, fuzzed -------------------------------------------------------------------------
def test_the_checks_raise_only_protocol_errors_on_fuzzed_messages():
    """What the hub runs on a remote's message (decode, hello, registration, done) on 20,000 mutants."""
    rng = random.Random(99)
    seeds = valid_messages("0123456789abcdef")
    owned, names = {"Fuzz-prv", "Fuzz-pub"}, {"Fuzz"}
    failures = []
    for _ in range(20_000):
        header, blobs = rng.choice(seeds)
        try:
            if rng.random() < 0.3:
                header, blobs = decode_message(byte_mutant(rng, encode_message(header, blobs)))
            else:
                header = json.loads(json.dumps(mutate(rng, header)))
            check_hello(header, PROTOCOL)
        except ProtocolError:
            pass
        except Exception as exc:  # noqa: BLE001 - what this test looks for
            failures.append(f"check_hello: {type(exc).__name__}: {exc} on {str(header)[:200]}")
        for check in (
            lambda header=header: check_registration_shape(header),
            lambda header=header, blobs=blobs: check_done(header, blobs, 0, owned, names),
        ):
            try:
                check()
            except ProtocolError:
                pass
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{type(exc).__name__}: {exc} on {str(header)[:200]}")
    assert not failures, f"{len(failures)} failures, e.g.:\n" + "\n".join(sorted(set(failures))[:10])


# --- a world of its own (a subprocess): what the hub lets through must not end the run --------------
class ServedElsewhere:
    """A world served by SERVE_SCRIPT in a subprocess, as its attackers see it (no hub at hand)."""

    endpoint = None

    def __init__(self, folder: Path, lockstep: int, steps: int) -> None:
        self.folder, self.ids, self.peers = folder, folder.parent / "identities", []
        self.proc, address, self.result_file = serve_in_subprocess(folder, lockstep, steps)
        host, port, peer = re.fullmatch(r"\w+@([\d.]+):(\d+)/(\w+)", address).groups()
        self.multiaddr = f"/ip4/{host}/tcp/{port}/p2p/{peer}"

    @property
    def code(self) -> str:
        return world_code_hash(self.folder)

    def state(self) -> str:
        return f"the world served in process {self.proc.pid} (exit code {self.proc.poll()})"

    def outcome(self) -> dict[str, Any]:
        self.proc.wait(120)
        return json.loads(self.result_file.read_text())


def test_an_unreadable_message_from_an_insider_does_not_end_the_run(tmp_path):
    """A registered insider sends the world's node a well-formed unaiverse message, from its own node (the
    hub's checks pass it), whose content the world cannot read: a profile that is a string."""
    served = ServedElsewhere(copy_tiny(tmp_path), lockstep=1, steps=30)
    loop = Loop()

    def unreadable(p: Puppet) -> Any:
        blob = node_msg(_mine(p), _world_prv(p), content="not a profile", content_type=Msg.PROFILE)
        return done(p.t, ops=[["msg", _world_prv(p), 0]]), [blob]

    async def attack() -> Puppet:
        puppet = await Puppet.connect(served, "Mallory")
        await puppet.join()
        await until(lambda: puppet.holding, 60, "tick 0")
        puppet.attack, puppet.auto = unreadable, True
        puppet.release.set()
        return puppet

    async def close() -> None:
        for peer in list(served.peers):
            await peer.close()

    try:
        puppet = loop.run(attack())
        result = served.outcome()
    finally:
        loop.run(close())
        loop.close()
        if served.proc.poll() is None:
            served.proc.kill()
    assert result["exit_code"] == 0 and result["ended_by"] == "max_steps", result["error"]
    assert puppet.end == "max_steps"
