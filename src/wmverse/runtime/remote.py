"""The remote side: agent scripts in their own process, joined to a world served by a hub over TCP.

:func:`join_hub` connects to ``HOST:PORT``, says hello, loads the scripts (their ``Node`` is the local
node, exactly as under run_synch.py), registers their nodes and then steps them whenever the hub sends
a tick: it applies the operations addressed to its nodes, steps them at the hub's time and answers with
what they sent. A node's ``join_world`` goes to the hub (:meth:`RemoteClient.request_join`), which runs
the world-side half of the join and answers with what the agent-side half needs.

Exit codes: 0 when the hub ended the run, 1 when a script failed (the hub is told, with the script, file
and line), the join was refused, or the hub went away; 2 for a bad address.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from wmverse.runtime.wire import (
    PROTOCOL,
    OpQueue,
    ProtocolError,
    RemoteNode,
    apply_op,
    forget_remote_node,
    node_entry,
    parse_address,
    read_frame,
    write_frame,
)


@dataclass
class JoinConfig:
    """How a remote process joins a hub."""

    address: str
    """The hub, as HOST:PORT."""
    scripts: tuple[Path, ...]
    """Agent scripts to run here (run_*.py of one world folder; they stay unchanged)."""
    rank: int | None = None
    """Canonical position among the run's processes (run_asynch gives 1, 2, ...); None: the hub picks."""
    out_dir: Path | None = None
    """Where node files go; default ``<scripts' folder>/out``."""
    echo: bool = True
    """Print this process's transition lines here too (they are always sent to the hub)."""
    strict: bool = True
    """An exception inside an @action ends this process (and a lockstep run) with exit 1."""
    connect_timeout_s: float = 30.0
    """Keep retrying the connection this long (the hub may still be starting)."""
    hub_timeout_s: float = 600.0
    """Give up when the hub sends nothing for this long."""
    accept_world_code: bool = False
    """Run the role code the hub sends when the world's folder is not on this machine. Off by default:
    that code runs in this process with its rights, so accept it only from hubs you trust."""

    def __post_init__(self) -> None:
        parse_address(self.address)
        self.scripts = tuple(Path(s).resolve() for s in self.scripts)
        if not self.scripts:
            raise ValueError("give at least one agent script to run")
        for script in self.scripts:
            if not script.is_file():
                raise ValueError(f"agent script not found: {script}")
        if len({s.parent for s in self.scripts}) != 1:
            raise ValueError("the scripts of one remote process must be in one folder")


class HubRefused(RuntimeError):
    """The hub refused this process (unknown world, taken name, lockstep run already started...)."""


class RemoteClient:
    """One remote process's side of the protocol; also the runtime's ``join_service``."""

    def __init__(self, config: JoinConfig, write: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.write = write or (lambda line: print(line, flush=True))
        self.runtime: Any = None
        self.printer: Any = None
        self.reader: Any = None
        self.writer: Any = None
        self.outbox = OpQueue()
        self.answers: dict[str, dict[str, Any]] = {}
        self.code: dict[str, Any] = {}
        self.code_blobs: list[bytes] = []
        self.printed: list[str] = []
        self._sent_transitions = 0
        self.rank = 0

    # --- join service (called by LocalNode._join) ----------------------------------------------
    async def request_join(self, node: Any, world_name: str, request: dict[str, Any]) -> dict[str, Any]:
        """The hub's answer to ``node``'s join (sent with the tick); raises JoinError when it was refused."""
        from wmverse.runtime.join import JoinError

        answer = self.answers.pop(node.node_name, None)
        if answer is None:
            raise JoinError(
                f"node {node.node_name!r} asked to join world {world_name!r} but the hub at "
                f"{self.config.address} has no answer for it (was it registered before its first tick?)"
            )
        if "error" in answer:
            raise JoinError(answer["error"])
        world = self.runtime.router.by_peer.get(answer["world_peer_id"])
        if world is None:
            raise JoinError(f"the world {world_name!r} left the run before {node.node_name!r} joined it")
        folder = self._world_folder(answer)
        world.world = SimpleNamespace(role_to_behav=dict(answer["role_to_behav"]), world_folder=str(folder))
        return answer

    def _world_folder(self, answer: dict[str, Any]) -> Path:
        """The world's folder on this machine: the scripts' own folder when it is that world's folder
        (a checkout anywhere on disk), else the hub's path if it exists here, else -- only with
        ``accept_world_code`` -- the role files the hub shipped, unpacked under the out folder."""
        folder = Path(answer["world_folder"])
        local = self.config.scripts[0].parent
        if local.name == folder.name and (local / "src").is_dir():
            return local
        if folder.is_dir():
            return folder
        bundle = self.code.get(answer["world_name"])
        if bundle is None:
            raise FileNotFoundError(f"world folder {folder} is not on this machine and the hub sent no code")
        if not self.config.accept_world_code:
            from wmverse.runtime.join import JoinError

            raise JoinError(
                f"world {answer['world_name']!r}: its folder {folder.name!r} is not on this machine (run scripts "
                "from your checkout of it); the hub offers its role code instead: rerun with --accept-world-code "
                "to run that code here (only for hubs you trust)"
            )
        target = self.runtime.out_dir / "world_code" / answer["world_name"]
        for rel, index in bundle["files"].items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.code_blobs[index])
        return target

    # --- the process ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        host, port = parse_address(self.config.address)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.config.connect_timeout_s
        while True:
            try:
                self.reader, self.writer = await asyncio.open_connection(host, port)
                return
            except OSError as exc:
                if loop.time() > give_up:
                    raise ConnectionError(
                        f"no hub answers at {self.config.address} ({exc.strerror or exc}); is run_w.py "
                        "(or run_asynch.py) running there?"
                    ) from exc
                await asyncio.sleep(0.2)

    async def _read(self, timeout: float) -> tuple[dict[str, Any], list[bytes]]:
        header, blobs = await asyncio.wait_for(read_frame(self.reader), timeout)
        if header["type"] == "refuse":
            raise HubRefused(str(header.get("error")))
        return header, blobs

    def _collect(self, line: str) -> None:
        self.printed.append(line)
        if self.config.echo:
            self.write(line)

    async def main(self) -> int:
        """Runs this remote process until the hub ends the run; returns the exit code."""
        from wmverse.runtime.clock import SyntheticClock
        from wmverse.runtime.config import RuntimeConfig
        from wmverse.runtime.errors import ScriptFailure
        from wmverse.runtime.runner import _Printer, load_script, run_context
        from wmverse.runtime.scheduler import Runtime

        cfg = self.config
        folder = cfg.scripts[0].parent
        try:
            await self._connect()
            await write_frame(
                self.writer,
                {
                    "type": "hello",
                    "protocol": PROTOCOL,
                    "rank": cfg.rank,
                    "scripts": [s.name for s in cfg.scripts],
                    "pid": os.getpid(),
                },
            )
            welcome, self.code_blobs = await self._read(cfg.connect_timeout_s + 30.0)
        except (ConnectionError, OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
            self.write(f"join: cannot reach the hub at {cfg.address}: {exc}")
            return 1
        except HubRefused as exc:
            self.write(f"join: the hub at {cfg.address} refused: {exc}")
            return 1
        self.rank = int(welcome["rank"])
        self.code = welcome.get("code", {})
        out_dir = Path(cfg.out_dir).resolve() if cfg.out_dir is not None else folder / "out"
        out_dir.mkdir(parents=True, exist_ok=True)
        config = RuntimeConfig(
            seed=int(welcome["seed"]),
            tick_ms=float(welcome["tick_ms"]),
            epoch_s=float(welcome["epoch_s"]),
            out_dir=out_dir,
            strict=cfg.strict,
        )
        clock = SyntheticClock(epoch_s=config.epoch_s)
        if welcome["elapsed_us"] > 0:
            clock.advance(welcome["elapsed_us"] / 1_000_000)  # a late joiner starts at the hub's time
        runtime = Runtime(folder, config, clock, out_dir)
        runtime.join_service = self
        runtime.wait_for_background = not bool(welcome.get("realtime", False))
        runtime.on_busy = self._busy
        runtime.transition_log = []  # sent to the hub with every tick's answer
        self.runtime = runtime
        self.printer = _Printer(runtime, False, self._collect)
        with run_context(runtime, self.printer):
            runtime.router.listener = lambda ch, peer, on: self.outbox.ops.append(["sub", ch, peer, on])
            try:
                for script in cfg.scripts:
                    load_script(runtime, script)
            except ScriptFailure as failure:
                return await self._fail(failure)
            entries = [node_entry(n, self.rank) for n in runtime.running]
            joins = [
                {"node": n.node_name, "world": n.join_world, "request": n.join_request()}
                for n in runtime.running
                if n.join_world is not None
            ]
            try:
                await write_frame(self.writer, {"type": "register", "nodes": entries, "joins": joins})
                await self._read(cfg.hub_timeout_s)
            except HubRefused as exc:
                self.write(f"join: the hub at {cfg.address} refused: {exc}")
                return 1
            except (
                ConnectionError,
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                ProtocolError,
            ) as exc:
                self.write(f"join: lost the hub at {cfg.address} while registering: {exc!r}")
                return 1
            return await self._loop()

    async def _busy(self) -> None:
        """Tell the hub this process is computing (a lockstep hub then keeps waiting for its 'done')."""
        await write_frame(self.writer, {"type": "busy", "t": self.runtime.steps})

    async def _loop(self) -> int:
        from wmverse.runtime.errors import ScriptFailure

        runtime = self.runtime
        while True:
            try:
                header, blobs = await self._read(self.config.hub_timeout_s)
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ProtocolError, HubRefused) as exc:
                self.write(f"join: lost the hub at {self.config.address}: {type(exc).__name__}")
                return 1
            except TimeoutError:
                self.write(
                    f"join: the hub at {self.config.address} sent nothing for {self.config.hub_timeout_s:g} s"
                )
                return 1
            if header["type"] == "end":
                return 0
            if header["type"] != "tick":
                self.write(f"join: unexpected {header['type']!r} frame from the hub: ignored")
                continue
            await self._apply_tick(header, blobs)
            try:
                await runtime.step_nodes()
            except ScriptFailure as failure:
                return await self._fail(failure)
            ops, out_blobs = self.outbox.take()
            transitions = self.printer.lines[self._sent_transitions :]
            self._sent_transitions = len(self.printer.lines)
            printed, self.printed = self.printed, []
            moves, runtime.transition_log = runtime.transition_log, []
            done = {
                "type": "done",
                "t": header["t"],
                "ops": ops,
                "printed": printed,
                "transitions": transitions,
                "hsm": moves,
                "delivered": runtime.router.delivered,
                "joins": [],
            }
            try:
                await write_frame(self.writer, done, out_blobs)
            except (ConnectionError, OSError) as exc:
                self.write(f"join: lost the hub at {self.config.address}: {type(exc).__name__}")
                return 1

    async def _apply_tick(self, header: dict[str, Any], blobs: list[bytes]) -> None:
        runtime = self.runtime
        router = runtime.router
        if "nodes" in header:
            await self._sync_nodes(header["nodes"])
        if "members" in header:
            router.members.clear()
            router.members.update({w: dict(m) for w, m in header["members"].items()})
        self.answers.update(header.get("joins", {}))
        for op in header.get("ops", []):
            await apply_op(router, op, blobs)
        now_us = round(runtime.clock.elapsed_s * 1_000_000)
        if header["elapsed_us"] > now_us:
            runtime.clock.advance((header["elapsed_us"] - now_us) / 1_000_000)
        runtime.steps = int(header["t"])

    async def _sync_nodes(self, entries: list[dict[str, Any]]) -> None:
        router = self.runtime.router
        listed = {e["prv"] for e in entries}
        for node in list({id(n): n for n in router.by_peer.values()}.values()):
            if isinstance(node, RemoteNode) and node.private_peer_id not in listed:
                await forget_remote_node(router, node)
        for entry in entries:
            if entry["prv"] not in router.by_peer and entry["rank"] != self.rank:
                router.register(RemoteNode(entry, lambda: self.outbox))

    async def _fail(self, failure: Any) -> int:
        """Reports a script failure to the hub (with script, file and line) and ends with exit 1."""
        if self.config.echo:  # else the hub prints it
            self.write(f"join: {failure}")
            if failure.cause is not None:
                self.write("".join(traceback.format_exception(failure.cause)).rstrip())
        try:
            await asyncio.wait_for(write_frame(self.writer, {"type": "fail", "error": str(failure)}), 5.0)
        except (ConnectionError, OSError, TimeoutError):
            pass
        return 1


def join_hub(config: JoinConfig, write: Callable[[str], None] | None = None) -> int:
    """Runs ``config.scripts`` in this process, joined to the hub at ``config.address``; returns the exit code."""
    from wmverse.runtime.threads import configure_threads

    try:
        configure_threads()  # WMVERSE_THREADS when run_asynch started this process, else all cores
    except ValueError as exc:
        (write or print)(f"join: {exc}")
        return 2
    client = RemoteClient(config, write)
    try:
        return asyncio.run(client.main())
    except KeyboardInterrupt:
        (write or print)("join: interrupted")
        return 130
    finally:
        if client.writer is not None:
            try:
                client.writer.close()
            except Exception:  # noqa: BLE001 - the loop is gone
                pass


def main(argv: list[str] | None = None) -> int:
    """``python -m wmverse.runtime.remote HOST:PORT SCRIPT...`` (what run_asynch --spawn starts)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m wmverse.runtime.remote")
    parser.add_argument("address")
    parser.add_argument("scripts", nargs="+", type=Path)
    parser.add_argument("--rank", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = JoinConfig(args.address, tuple(args.scripts), args.rank, args.out, echo=not args.quiet)
    except ValueError as exc:
        print(f"join: {exc}", file=sys.stderr)
        return 2
    return join_hub(config)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
