"""The remote side: agent scripts in their own process, joined to a world served by a hub.

:func:`join_hub` reaches the hub (a pipe inherited from run_asynch.py, or the world's libp2p node found by
name on the local network or given as ``NAME@HOST:PORT/PEER_ID``), says hello (with the hash of this
checkout of the world's folder and, for a private world, the token), loads the scripts (their ``Node`` is the local
node, exactly as under run_synch.py), registers their nodes and then steps them whenever the hub sends
a tick: it applies the operations addressed to its nodes, steps them at the hub's time and answers with
what they sent. A node's ``join_world`` goes to the hub (:meth:`RemoteClient.request_join`), which runs
the world-side half of the join and answers with what the agent-side half needs.

Exit codes: 0 when the world finished (or ran its max steps), 1 when the run ended otherwise, a script
failed (the hub is told, with the script, file and line), the join was refused, the hub sent something
malformed or went away; 2 for a bad address. Nothing the hub sends is run as code or written to disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from wmverse.runtime.channels import ProtocolError
from wmverse.runtime.checkpointing import ResumeError
from wmverse.runtime.collector import freeze_for_exit, freeze_loaded
from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.join_config import JoinConfig
from wmverse.runtime.remote_resume import RemoteResume
from wmverse.runtime.wire import PROTOCOL, OpQueue, RemoteNode, apply_op, forget_remote_node, node_entry

#: Exit code of a joiner that lost a served world's hub mid-run (``wmverse runtime join`` then rejoins).
EXIT_LOST = 75

#: Why a hub may end a run with the joiner's exit code 0.
GOOD_ENDS = ("world", "max_steps", "cycles", "max_time")


class HubRefused(RuntimeError):
    """The hub refused this process (unknown world, taken name, lockstep run already started...)."""


class RemoteClient(RemoteResume):
    """One remote process's side of the protocol; also the runtime's ``join_service``. A process with a
    journal (:class:`~wmverse.runtime.remote_resume.RemoteResume`) can be restarted and resume."""

    def __init__(self, config: JoinConfig, write: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.write = write or (lambda line: print(line, flush=True))
        self.runtime: Any = None
        self.printer: Any = None
        self.chan: Any = None
        self.endpoint: Any = None
        self.outbox = OpQueue()
        self.answers: dict[str, dict[str, Any]] = {}
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
        """The world's folder in this checkout (the hub checked at hello that its code is the same): the
        scripts' folder, or its sub-folder of the served world folder's name (``src`` in the examples layout)."""
        from wmverse.runtime.join import JoinError

        local = self.config.scripts[0].parent
        name = Path(str(answer.get("world_folder", ""))).name
        if name and (local / name).is_dir():
            return local / name
        if name == local.name:
            return local
        raise JoinError(
            f"the world's folder {name!r} is not in {local} (run the scripts of your checkout of it)"
        )

    # --- the process ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        from wmverse.runtime.channels import PipeChannel

        cfg = self.config
        if cfg.pipe_fd is not None:
            self.chan = PipeChannel.from_fd(cfg.pipe_fd, "the parent process").start()
            return
        from wmverse.runtime.discovery import parse_world, resolve_world
        from wmverse.runtime.p2p import P2PEndpoint

        name, where = parse_world(cfg.address)
        if where is None:
            loop = asyncio.get_running_loop()
            try:
                where = await loop.run_in_executor(None, resolve_world, name, cfg.discovery_timeout_s)
            except LookupError as exc:
                raise ConnectionError(str(exc)) from None
        self.write(f"join: world {name!r} at {where.multiaddr}")
        identity = cfg.identity_dir or (self._out_dir() / ".identity" / "+".join(s.stem for s in cfg.scripts))
        self.endpoint = P2PEndpoint(identity, host="0.0.0.0", port=0).start()
        self.chan = await self.endpoint.connect(where.multiaddr, cfg.connect_timeout_s)

    def _out_dir(self) -> Path:
        cfg = self.config
        return Path(cfg.out_dir).resolve() if cfg.out_dir is not None else cfg.scripts[0].parent / "out"

    async def _write(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        await self.chan.write(header, blobs)

    async def _read(self, timeout: float) -> tuple[dict[str, Any], list[bytes]]:
        header, blobs = await self.chan.read(timeout)
        if header["type"] == "refuse":
            raise HubRefused(str(header.get("error"))[:2000])
        return header, blobs

    def _collect(self, line: str) -> None:
        self.printed.append(line)
        if self.config.echo:
            self.write(line)

    async def main(self) -> int:
        """Runs this remote process until the hub ends the run; returns the exit code."""
        from wmverse.runtime.clock import SyntheticClock
        from wmverse.runtime.config import RuntimeConfig
        from wmverse.runtime.runner import _Printer, load_script, run_context
        from wmverse.runtime.scheduler import Runtime

        cfg = self.config
        folder = cfg.scripts[0].parent
        from wmverse.runtime.hub_admission import world_code_hash

        try:
            await self._connect()
            await self._write(
                {
                    "type": "hello",
                    "protocol": PROTOCOL,
                    "rank": cfg.rank,
                    "scripts": [s.name for s in cfg.scripts],
                    "pid": os.getpid(),
                    "token": cfg.token,
                    "code": world_code_hash(folder),
                    **({"resume": True} if cfg.resume else {}),
                },
            )
            welcome = await self._read_welcome(cfg.connect_timeout_s + 30.0)
            welcome, resume_tick = self._open_journal(welcome)
            rank, seed, tick_ms = int(welcome["rank"]), int(welcome["seed"]), float(welcome["tick_ms"])
            epoch_s, elapsed_us = float(welcome["epoch_s"]), int(welcome["elapsed_us"])
            if welcome.get("type") != "welcome" or tick_ms <= 0 or elapsed_us < 0:
                raise ProtocolError(f"expected a welcome, got {str(welcome)[:200]}")
        except (ConnectionError, OSError, TimeoutError, ProtocolError) as exc:
            self.write(f"join: cannot reach the hub at {cfg.address or 'the parent'}: {exc}")
            return 1
        except (KeyError, TypeError, ValueError) as exc:
            self.write(f"join: the hub sent a malformed welcome ({type(exc).__name__}: {exc})")
            return 1
        except HubRefused as exc:
            self.write(f"join: the hub at {cfg.address or 'the parent'} refused: {exc}")
            return 1
        except ResumeError as exc:
            return await self._fail(f"cannot resume: {exc}")
        self.rank = rank
        out_dir = self._out_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
        config = RuntimeConfig(
            seed=seed, tick_ms=tick_ms, epoch_s=epoch_s, out_dir=out_dir, strict=cfg.strict
        )
        clock = SyntheticClock(epoch_s=config.epoch_s)
        if elapsed_us > 0:
            clock.advance(elapsed_us / 1_000_000)  # a late joiner starts at the hub's time
        runtime = Runtime(folder, config, clock, out_dir)
        runtime.join_service = self
        runtime.wait_for_background = not bool(welcome.get("realtime", False))
        runtime.parallel_jobs = True  # learners compute in processes of their own, across ticks (background)
        runtime.lane_start_method = "spawn" if cfg.address else "fork"  # libp2p loaded: no fork
        runtime.on_busy = self._busy
        runtime.transition_log = []  # sent to the hub with every tick's answer
        self.runtime = runtime
        self.printer = _Printer(runtime, False, self._collect)
        with run_context(runtime, self.printer):
            runtime.router.listener = lambda ch, peer, on: self.outbox.ops.append(["sub", ch, peer, on])
            try:
                for script in cfg.scripts:
                    runtime.number_nodes_from_zero()
                    load_script(runtime, script)
            except ScriptFailure as failure:
                return await self._fail(failure)
            if resume_tick is not None:
                try:
                    self._start_checkpoints(resume_tick)
                    await self._replay()
                    await self._write({"type": "resumed", "t": resume_tick})
                except (ScriptFailure, ResumeError) as failure:
                    return await self._fail(failure)
                return await self._loop()
            self._start_checkpoints(None)
            entries = [node_entry(n, self.rank) for n in runtime.running]
            joins = [
                {"node": n.node_name, "world": n.join_world, "request": n.join_request()}
                for n in runtime.running
                if n.join_world is not None
            ]
            try:
                await self._write({"type": "register", "nodes": entries, "joins": joins})
                await self._read(cfg.hub_timeout_s)
            except HubRefused as exc:
                self.write(f"join: the hub at {cfg.address or 'the parent'} refused: {exc}")
                return 1
            except (ConnectionError, OSError, TimeoutError, ProtocolError) as exc:
                self.write(f"join: lost the hub at {cfg.address or 'the parent'} while registering: {exc!r}")
                return 1
            return await self._loop()

    async def _busy(self) -> None:
        """Tell the hub this process is computing (a lockstep hub then keeps waiting for its 'done')."""
        await self._write({"type": "busy", "t": self.runtime.steps})

    async def _loop(self) -> int:
        freeze_loaded()  # this process's loaded scripts: out of the full collections' way until the run ends
        runtime = self.runtime
        while True:
            try:
                header, blobs = await self._read(self.config.hub_timeout_s)
            except (ConnectionError, OSError, ProtocolError, HubRefused) as exc:
                self.write(f"join: lost the hub: {type(exc).__name__}: {str(exc)[:200]}")
                return self._lost_code()
            except TimeoutError:
                self.write(f"join: the hub sent nothing for {self.config.hub_timeout_s:g} s")
                return self._lost_code()
            if header["type"] == "end":
                with contextlib.suppress(ConnectionError, OSError, ProtocolError):
                    await asyncio.wait_for(self._write({"type": "bye"}), 2.0)
                reason = str(header.get("reason"))[:80]
                if reason in GOOD_ENDS:
                    return 0
                self.write(f"join: the hub ended the run ({reason})")
                return 1
            if header["type"] != "tick":
                self.write(f"join: unexpected {header['type'][:40]!r} message from the hub: ignored")
                continue
            try:
                self._log_tick(header, blobs)
                await self._apply_tick(header, blobs)
            except Exception as exc:  # noqa: BLE001 - a hostile or broken hub must not crash this process
                self.write(f"join: the hub sent a malformed tick ({type(exc).__name__}: {str(exc)[:200]})")
                return 1
            try:
                await runtime.step_nodes()
                self._tick_done(header)
            except (ScriptFailure, ResumeError) as failure:
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
                await self._write(done, out_blobs)
            except (ConnectionError, OSError, ProtocolError) as exc:
                self.write(f"join: lost the hub: {type(exc).__name__}: {str(exc)[:200]}")
                return self._lost_code()

    def _lost_code(self) -> int:
        """EXIT_LOST for a served world (the command line rejoins with the same identity), else 1."""
        return EXIT_LOST if self.config.pipe_fd is None else 1

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
            if getattr(failure, "cause", None) is not None:
                self.write("".join(traceback.format_exception(failure.cause)).rstrip())
        try:
            await asyncio.wait_for(self._write({"type": "fail", "error": str(failure)}), 5.0)
        except (ConnectionError, OSError, TimeoutError, ProtocolError):
            pass
        return 1

    async def close(self) -> None:
        self._close_journal()
        if self.chan is not None:
            self.chan.close()
        if self.endpoint is not None:
            await self.endpoint.close()


def join_hub(config: JoinConfig, write: Callable[[str], None] | None = None) -> int:
    """Runs ``config.scripts`` in this process, joined to the hub at ``config.address``; returns the exit code."""
    from wmverse.runtime.threads import configure_threads

    try:
        configure_threads()  # WMVERSE_THREADS when run_asynch started this process, else all cores
    except ValueError as exc:
        (write or print)(f"join: {exc}")
        return 2
    client = RemoteClient(config, write)

    async def run() -> int:
        try:
            return await client.main()
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        (write or print)("join: interrupted")
        return 130


def main(argv: list[str] | None = None) -> int:
    """``python -m wmverse.runtime.remote --fd FD SCRIPT...`` (what run_asynch --start-method spawn starts)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m wmverse.runtime.remote")
    parser.add_argument("--fd", type=int, required=True, help="the inherited socket-pair descriptor")
    parser.add_argument("scripts", nargs="+", type=Path)
    parser.add_argument("--rank", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--journal", type=Path, default=None, help="journal folder (a restartable process)")
    parser.add_argument("--checkpoint-every", type=float, default=0.0)
    parser.add_argument("--keep", type=int, default=3)
    parser.add_argument("--resume-run", action="store_true", help="the whole run resumes from the journal")
    args = parser.parse_args(argv)
    journal = {
        "journal_dir": args.journal,
        "checkpoint_every_s": args.checkpoint_every,
        "keep": args.keep,
        "resume_run": args.resume_run,
    }
    try:
        config = JoinConfig(
            "", tuple(args.scripts), args.rank, args.out, not args.quiet, pipe_fd=args.fd, **journal
        )
    except ValueError as exc:
        print(f"join: {exc}", file=sys.stderr)
        return 2
    return join_hub(config)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(freeze_for_exit(main()))
