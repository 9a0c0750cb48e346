"""How a hub admits a connection: hello, welcome (with the world's role files), registration checks.

:class:`HubAdmission` is the connection-serving half of :class:`~wmverse.runtime.hub.Hub`: each TCP
connection says hello with the protocol version, gets a welcome (rank, seed, clock, the worlds served and
their role files for joiners without the world folder), registers its nodes and join requests, and is
queued until the hub admits it at the next tick. A lockstep run that has started refuses newcomers; a
taken node name or an unknown world is refused with the reason.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from wmverse.runtime.wire import PROTOCOL, ProtocolError, RemoteLink, derive_seed, read_frame, write_frame

__all__ = ["CODE_SUFFIXES", "HubAdmission"]

#: Suffixes of the world's files shipped to joiners that do not have the world folder on their disk.
CODE_SUFFIXES = (".py", ".json")


class HubAdmission:
    """Mixin of :class:`~wmverse.runtime.hub.Hub` (which holds the attributes used here)."""

    def _code_bundle(self) -> tuple[dict[str, Any], list[bytes]]:
        """The worlds' role files (``.py``/``.json`` under each world's folder), for joiners elsewhere."""
        if self._code is None:
            code: dict[str, Any] = {}
            blobs: list[bytes] = []
            for node in self._worlds():
                folder = Path(node.world.world_folder)
                files = {}
                for path in sorted(folder.rglob("*")):
                    if path.suffix in CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                        files[path.relative_to(folder).as_posix()] = len(blobs)
                        blobs.append(path.read_bytes())
                code[node.node_name] = {"folder": str(folder), "files": files}
            self._code = (code, blobs)
        return self._code

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        peer_txt = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._writers.add(writer)
        try:
            hello, _ = await asyncio.wait_for(read_frame(reader), self.config.handshake_timeout_s)
            if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
                await write_frame(
                    writer, {"type": "refuse", "error": f"expected a hello of protocol {PROTOCOL}"}
                )
                writer.close()
                return
            if self.started and not self.config.realtime:
                await write_frame(
                    writer,
                    {
                        "type": "refuse",
                        "error": f"the lockstep run served at {self.address} has already started; "
                        "only realtime hubs (run_w.py) accept agents at any time",
                    },
                )
                writer.close()
                return
            rank = hello.get("rank")
            if not isinstance(rank, int) or rank <= 0:
                rank, self._next_rank = self._next_rank, self._next_rank + 1
            link = RemoteLink(rank, [str(s) for s in hello.get("scripts", [])], reader, writer, peer_txt)
            code, blobs = self._code_bundle()
            clock, config = self.runtime.clock, self.runtime.config
            await write_frame(
                writer,
                {
                    "type": "welcome",
                    "protocol": PROTOCOL,
                    "rank": rank,
                    "seed": derive_seed(config.seed, rank),
                    "epoch_s": clock.epoch_s,
                    "elapsed_us": round(clock.elapsed_s * 1_000_000),
                    "tick_ms": config.tick_ms,
                    "realtime": self.config.realtime,
                    "worlds": sorted(n.node_name for n in self._worlds()),
                    "code": code,
                },
                blobs,
            )
            register, _ = await asyncio.wait_for(read_frame(reader), self.config.startup_timeout_s)
            if register.get("type") == "fail":
                self._fail_before_start(link, str(register.get("error")))
                writer.close()
                return
            if register.get("type") != "register":
                raise ProtocolError(f"expected 'register', got {register.get('type')!r}")
            problem = self._check_registration(register)
            if problem is not None:
                await write_frame(writer, {"type": "refuse", "error": problem})
                self._fail_before_start(link, problem)
                writer.close()
                return
            link.entries = list(register.get("nodes", []))
            link.joins = list(register.get("joins", []))
            await write_frame(writer, {"type": "registered", "rank": rank})
            self.pending.append(link)
            if self._changed is not None:
                self._changed.set()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError, ProtocolError) as exc:
            if self.runtime is not None and self.started:
                self.say(f"connection from {peer_txt} ended before registering ({type(exc).__name__})")
            writer.close()

    def _fail_before_start(self, link: RemoteLink, error: str) -> None:
        message = f"remote {'+'.join(link.scripts) or link.peer} failed: {error}"
        if not self.config.realtime:
            self.failures.append(message)
            if self._changed is not None:
                self._changed.set()
        else:
            self.say(message)

    def _check_registration(self, register: dict[str, Any]) -> str | None:
        taken = set(self.runtime.router.by_name) | {e["name"] for lk in self.pending for e in lk.entries}
        for entry in register.get("nodes", []):
            if entry.get("type") != "agent":
                return f"node {entry.get('name')!r} is a {entry.get('type')}: only agents join a hub"
            if entry["name"] in taken:
                worlds = sorted(n.node_name for n in self._worlds())
                return (
                    f"node name {entry['name']!r} is taken in the run served at {self.address} "
                    f"(worlds {worlds}): node names must be unique"
                )
            taken.add(entry["name"])
        for req in register.get("joins", []):
            if self._world_named(req.get("world")) is None:
                return "JoinError: " + self._no_world_message(req.get("node"), req.get("world"))
        return None
