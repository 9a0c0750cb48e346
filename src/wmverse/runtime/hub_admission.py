"""How a hub admits a remote: hello (protocol, token, code version), welcome, registration checks.

:class:`HubAdmission` is the connection-serving half of :class:`~wmverse.runtime.hub.Hub`. A remote is a
channel (an inherited pipe for run_asynch.py's children, an authenticated libp2p peer for served worlds).
It says hello with the protocol version, the hash of its checkout of the world folder and, for a private
world, the join token; the hub answers with a welcome (rank, seed, clock, the worlds served) or a refusal
with the reason, then checks its registration (shape and ownership in :mod:`wmverse.runtime.hub_checks`;
names and ids not taken) and queues it until the next tick. World code is never shipped: a joiner runs its
own checkout, and one that differs from the served world is refused with both hashes. A lockstep run that
has started refuses newcomers. A remote that breaks the protocol is dropped (a libp2p peer is banned for the
run); nothing it sends can end the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from wmverse.runtime.channels import ChannelClosed, ProtocolError
from wmverse.runtime.hub_checks import Refused, check_hello, check_registration_shape, clean_line
from wmverse.runtime.wire import PROTOCOL, RemoteLink, derive_seed

__all__ = ["CODE_SUFFIXES", "RANKS_FILE", "HubAdmission", "read_ranks", "world_code_hash"]

#: Where a served hub keeps the rank it gave each peer (``OUT/ranks.json``), so that a resumed run
#: (``run_w.py --resume``) gives every joiner that comes back the rank, hence the seed and order, it had.
RANKS_FILE = "ranks.json"

#: Suffixes of the files that make a world's code (hashed to check a joiner runs the same version).
CODE_SUFFIXES = (".py", ".json")
#: Folders of a world folder that are not its code.
SKIPPED_FOLDERS = {"out", "__pycache__", ".identity"}


def world_code_hash(folder: str | Path) -> str:
    """SHA-256 (hex, first 16 characters) of the world folder's ``.py``/``.json`` files, path and content."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.suffix not in CODE_SUFFIXES or not path.is_file() or SKIPPED_FOLDERS & set(rel.parts):
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_ranks(text: str, first_rank: int) -> dict[str, int]:
    """The peers' ranks of a ``RANKS_FILE`` (a JSON object: peer id -> integer rank >= ``first_rank``, no two
    peers with one rank); ``ValueError`` naming what is wrong otherwise."""
    try:
        saved = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}"[:200]) from None
    if not isinstance(saved, dict):
        raise ValueError("not an object of peer ids and ranks")
    ranks = {}
    for peer, rank in saved.items():
        if type(rank) is not int or rank < first_rank or not peer or len(peer) > 128:
            raise ValueError(f"{peer[:64]!r}: a rank is an integer >= {first_rank}, got {rank!r}"[:200])
        ranks[peer] = rank
    if len(set(ranks.values())) != len(ranks):
        raise ValueError("two peers with one rank")
    return ranks


class HubAdmission:
    """Mixin of :class:`~wmverse.runtime.hub.Hub` (which holds the attributes used here)."""

    def _code_hashes(self) -> dict[str, str]:
        if self._code is None:
            self._code = {n.node_name: world_code_hash(self.runtime.world_folder) for n in self._worlds()}
        return self._code

    def _admission_problem(self, chan: Any, hello: dict[str, Any]) -> str | None:
        """Why this remote may not join (None: it may)."""
        if getattr(chan, "trusted", False):
            return None
        config = self.config
        if config.private:
            by_peer = chan.peer in config.allowed_peers
            by_token = (
                config.token is not None
                and isinstance(hello["token"], str)
                and hmac.compare_digest(hello["token"].encode(), config.token.encode())
            )
            if not (by_peer or by_token):
                return "this world is private: join with the token printed by run_w.py (--token) or from a listed peer"
        hashes = set(self._code_hashes().values())
        if hello["code"] not in hashes:
            code = clean_line(hello["code"])
            return (
                f"your checkout of the world's folder differs from the world served here (code {code} "
                f"vs {sorted(hashes)}): run the same version of the world's code"
            )
        return None

    def _welcome(self, rank: int) -> dict[str, Any]:
        """What a remote of ``rank`` is told when admitted: its seed, the clock, the worlds."""
        clock, config = self.runtime.clock, self.runtime.config
        return {
            "type": "welcome",
            "protocol": PROTOCOL,
            "rank": rank,
            "seed": derive_seed(config.seed, rank),
            "epoch_s": clock.epoch_s,
            "elapsed_us": round(clock.elapsed_s * 1_000_000),
            "tick_ms": config.tick_ms,
            "realtime": self.config.realtime,
            "worlds": sorted(n.node_name for n in self._worlds()),
            **({"resume_run": True} if config.resume else {}),
        }

    def _rank_for(self, peer: str) -> int:
        """A served peer's rank: the one it had in the run this one resumes (``RANKS_FILE``, each used once),
        else the next free one; this run's ranks are recorded (written atomically) for a later resume."""
        path = Path(self.runtime.out_dir) / RANKS_FILE
        if self._ranks is None:
            self._ranks, self._saved_ranks = {}, {}
            if self.runtime.config.resume and path.is_file():
                try:
                    self._saved_ranks = read_ranks(path.read_text(), self._next_rank)
                except (ValueError, OSError) as exc:
                    self._say_later(
                        f"cannot read the ranks of the resumed run ({path.name}: {exc}): new ranks"
                    )
            self._next_rank = max([self._next_rank - 1, *self._saved_ranks.values()]) + 1
        rank = self._saved_ranks.pop(peer, None)
        if rank is None:
            rank, self._next_rank = self._next_rank, self._next_rank + 1
        self._ranks[peer] = rank
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self._ranks, sort_keys=True))
        os.replace(tmp, path)
        return rank

    async def _refuse(self, chan: Any, error: str) -> None:
        try:
            await asyncio.wait_for(chan.write({"type": "refuse", "error": error}), 5.0)
        except (ChannelClosed, ProtocolError, TimeoutError, OSError):
            pass
        chan.close()

    async def _serve(self, chan: Any) -> None:
        """One remote's hello, welcome and registration; then it waits in ``pending`` for the next tick."""
        try:
            raw, _ = await chan.read(self.config.handshake_timeout_s)
            if raw.get("type") != "hello" and any(v.peer == chan.peer for v in self.lost.values()):
                # a dropped agent that went on (stopped, cut off): it must say hello again
                await self._refuse(chan, "you were dropped from the run: rejoin with the same identity")
                return
            hello = check_hello(raw, PROTOCOL)
            problem = self._admission_problem(chan, hello)
            if problem is not None:
                self._say_later(f"refused {chan.peer}: {problem}")
                await self._refuse(chan, problem)
                return
            if self.started and not self.config.realtime:
                await self._refuse(
                    chan,
                    f"the lockstep run served at {self.address} has already started; "
                    "only realtime hubs (run_w.py) accept agents at any time",
                )
                return
            rank = hello["rank"] if getattr(chan, "trusted", False) else None
            if rank is None:
                rank = self._rank_for(chan.peer)
            link = RemoteLink(rank, [str(s) for s in hello["scripts"]], chan)
            await chan.write(self._welcome(rank))
            own_child = getattr(chan, "trusted", False)
            wait = self.config.startup_timeout_s if own_child else self.config.register_timeout_s
            register, _ = await chan.read(wait)
            if register.get("type") == "fail":
                self._fail_before_start(link, clean_line(register.get("error"))[:2000])
                chan.close()
                return
            entries, joins = check_registration_shape(register)
            problem = self._check_registration(entries, joins, chan.peer)
            if problem is not None:
                await self._refuse(chan, problem)
                self._fail_before_start(link, problem)
                return
            link.entries, link.joins = [dict(e, rank=rank) for e in entries], joins
            self.pending.append(link)  # reserves its names and ids before the next await
            try:
                await chan.write({"type": "registered", "rank": rank})
            except BaseException:
                self.pending.remove(link)
                raise
            if self._changed is not None:
                self._changed.set()
        except Refused as exc:
            self._say_later(f"dropped {chan.peer} before it registered: {exc}")
            await self._refuse(chan, str(exc))
            self._ban(chan)
        except (TimeoutError, ChannelClosed, ProtocolError, OSError) as exc:
            self._say_later(f"connection from {chan.peer} ended before registering ({type(exc).__name__})")
            chan.close()
            if isinstance(exc, ProtocolError):
                self._ban(chan)
        finally:
            self._unpend(chan)

    def _say_later(self, text: str) -> None:
        """A hub line about a connection (printed once the run has started, kept in ``events`` before)."""
        if self.runtime is not None and self.started:
            self.say(text)
        else:
            self.events.append(f"hub: {text}")

    def _fail_before_start(self, link: RemoteLink, error: str) -> None:
        message = f"remote {'+'.join(link.scripts) or link.peer} failed: {error}"
        if not self.config.realtime and getattr(link.channel, "trusted", False):  # our own child failed
            self.failures.append(message)
            if self._changed is not None:
                self._changed.set()
        else:
            self.say(message)

    def _check_registration(
        self, entries: list[dict[str, Any]], joins: list[dict[str, Any]], peer: str
    ) -> str | None:
        """Names and ids not taken by any node of the run, a remote waiting to be admitted, or kept for a
        lost remote of another peer while its rejoin window is open."""
        router = self.runtime.router
        taken_names = set(router.by_name) | {e["name"] for lk in self.pending for e in lk.entries}
        taken_ids = set(router.by_peer) | {n.node_id for n in router.by_peer.values()}
        taken_ids |= {e[k] for lk in self.pending for e in lk.entries for k in ("pub", "prv", "node_id")}
        for entry in entries:
            if entry["name"] in taken_names:
                worlds = sorted(n.node_name for n in self._worlds())
                return (
                    f"node name {entry['name']!r} is taken in the run served at {self.address} "
                    f"(worlds {worlds}): node names must be unique"
                )
            if self._reserved(entry["name"], peer):
                return f"node name {entry['name']!r} is kept for the agent that left until it rejoins"
            if {entry["pub"], entry["prv"], entry["node_id"]} & taken_ids:
                return f"node {entry['name']!r} claims an id that another node of the run has"
        for req in joins:
            if self._world_named(req["world"]) is None:
                return "JoinError: " + self._no_world_message(req["node"], req["world"])
        return None
