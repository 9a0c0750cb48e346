"""Join-by-name discovery of served worlds on the local network (mDNS / DNS-SD via ``zeroconf``).

A served world announces itself as the DNS-SD service ``NAME._wmverse._tcp.local.`` whose SRV/A records
carry the host and port of its libp2p node and whose TXT record carries the libp2p peer id (needed to dial)::

    peer=12D3KooW...   private=0|1   code=<code hash>   v=1

A joiner then needs only the world's name (:func:`resolve_world`); where multicast does not reach, the
full text form ``NAME@HOST:PORT/PEER_ID`` (:func:`parse_world`) names the node without any lookup.

Everything that arrives from the network is hostile: an announcement whose name, peer id, port, address or
TXT keys do not validate exactly as :func:`parse_world` validates typed text is ignored, never a crash.
Only the synchronous zeroconf API is used; every call blocks at most about its ``timeout_s``.
"""

from __future__ import annotations

import inspect
import ipaddress
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from zeroconf import (
    DNSQuestionType,
    InterfaceChoice,
    NonUniqueNameException,
    ServiceBrowser,
    ServiceInfo,
    ServiceNameAlreadyRegistered,
    ServiceStateChange,
    Zeroconf,
)

from wmverse.runtime.p2p import PEER_ID

__all__ = ["SERVICE_TYPE", "WorldAddress", "WorldAnnouncer", "list_worlds", "parse_world", "resolve_world"]

SERVICE_TYPE = "_wmverse._tcp.local."
TXT_VERSION = "1"
WORLD_FORM = "NAME or NAME@HOST:PORT/PEER_ID (e.g. arena@10.0.0.1:4001/12D3KooW..., IPv6 as [::1]:4001)"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", re.ASCII)
_PORT_RE = re.compile(r"[0-9]{1,5}", re.ASCII)
_CODE_RE = re.compile(r"[A-Za-z0-9:_.-]{0,128}", re.ASCII)
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_MAX_TEXT = 512  # longest world text parse_world looks at (a real one is under 250 characters)
_MAX_TXT_BYTES = 1024  # longest TXT record accepted from the network (ours is about 120 bytes)
_MAX_LISTED = 256  # most announcements list_worlds resolves (bounds the work a flood of names can cause)
_ROUND_S = 0.5  # longest single query wait before the cache is read again


def _bad(what: str, value: object) -> ValueError:
    return ValueError(f"invalid world {what} {repr(value)[:80]}: expected {WORLD_FORM}")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise _bad("name", name)
    return name


def _check_peer(peer_id: object) -> str:
    if not isinstance(peer_id, str) or not PEER_ID.fullmatch(peer_id):
        raise _bad("peer id (base58, 32-128 characters)", peer_id)
    return peer_id


def _check_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _bad("port (1-65535)", port)
    return port


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, or None when it is no IP literal (scoped ``fe80::1%eth0`` is none)."""
    if "%" in host:
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_host(host: object) -> str:
    """An IPv4/IPv6 literal or a DNS-safe hostname (LDH labels, not all-numeric at the end, <= 253)."""
    if not isinstance(host, str) or not host or len(host) > 253:
        raise _bad("host", host)
    if _ip_literal(host) is not None:
        return host
    labels = host.split(".")
    if not all(_LABEL_RE.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise _bad("host (IP address or DNS name)", host)
    return host


@dataclass(frozen=True)
class WorldAddress:
    """Where a world's libp2p node listens. Every field is validated on construction (``ValueError``).

    ``host`` is an IPv4/IPv6 literal or a DNS name; ``private`` and ``code_hash`` are what the world
    announces about itself (a joiner may check the code hash before trusting the world's code).
    """

    name: str
    peer_id: str
    host: str
    port: int
    private: bool = False
    code_hash: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_peer(self.peer_id)
        _check_host(self.host)
        _check_port(self.port)
        if not isinstance(self.private, bool):
            raise _bad("private flag", self.private)
        if not isinstance(self.code_hash, str) or not _CODE_RE.fullmatch(self.code_hash):
            raise _bad("code hash", self.code_hash)

    @property
    def multiaddr(self) -> str:
        """``/ip4/HOST/tcp/PORT/p2p/PEER_ID`` (``/ip6/`` for IPv6 literals, ``/dns/`` for host names)."""
        ip = _ip_literal(self.host)
        proto = "dns" if ip is None else f"ip{ip.version}"
        return f"/{proto}/{self.host}/tcp/{self.port}/p2p/{self.peer_id}"

    def __str__(self) -> str:
        """The text form ``NAME@HOST:PORT/PEER_ID`` (IPv6 hosts bracketed), which parse_world reads back."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.name}@{host}:{self.port}/{self.peer_id}"


def parse_world(text: str) -> tuple[str, WorldAddress | None]:
    """Reads a ``--world`` argument: ``NAME`` -> ``(NAME, None)`` (resolve it by mDNS), or
    ``NAME@HOST:PORT/PEER_ID`` -> ``(NAME, WorldAddress)``; IPv6 hosts are bracketed (``[::1]:4001``).

    Surrounding whitespace is dropped; anything else that does not match exactly raises ``ValueError``
    whose message shows the expected form. Never touches the network.
    """
    if not isinstance(text, str):
        raise _bad("text", text)
    text = text.strip(" \t\r\n")
    if not text or len(text) > _MAX_TEXT:
        raise _bad("text", text)
    if "@" not in text:
        return _check_name(text), None
    name, _, rest = text.partition("@")
    _check_name(name)
    hostport, slash, peer = rest.partition("/")
    if not slash:
        raise _bad("address (missing /PEER_ID)", rest)
    if hostport.startswith("["):
        host, bracket, port_text = hostport[1:].partition("]")
        ip = _ip_literal(host)
        if not bracket or ip is None or ip.version != 6 or not port_text.startswith(":"):
            raise _bad("bracketed IPv6 host", hostport)
        port_text = port_text[1:]
    else:
        host, colon, port_text = hostport.rpartition(":")
        if not colon:
            raise _bad("address (missing :PORT)", hostport)
        if ":" in host:
            raise _bad("host (write IPv6 as [ADDR]:PORT)", host)
    if not _PORT_RE.fullmatch(port_text):
        raise _bad("port (1-65535)", port_text)
    return name, WorldAddress(name=name, peer_id=peer, host=_check_host(host), port=int(port_text))


def _zc_interfaces(interfaces: list[str] | None) -> Any:
    """zeroconf's ``interfaces=``: all interfaces for None, else the given IP literals (validated)."""
    if interfaces is None:
        return InterfaceChoice.All
    if isinstance(interfaces, str) or not interfaces:
        raise ValueError(f"interfaces must be None or a non-empty list of IP addresses, not {interfaces!r}")
    for item in interfaces:
        if not isinstance(item, str) or _ip_literal(item) is None:
            raise ValueError(f"interface {item!r} is not an IP address")
    return list(interfaces)


# a zeroconf that would attach to a running asyncio loop deadlocks the sync API: keep its own thread
_ZC_KW: dict[str, Any] = (
    {"use_asyncio": False} if "use_asyncio" in inspect.signature(Zeroconf.__init__).parameters else {}
)


def _open(interfaces: list[str] | None) -> Zeroconf:
    chosen = _zc_interfaces(interfaces)
    try:
        return Zeroconf(interfaces=chosen, **_ZC_KW)
    except OSError as e:
        where = "any interface" if interfaces is None else f"interfaces {interfaces}"
        raise OSError(e.errno, f"cannot open mDNS (multicast UDP 5353) sockets on {where}: {e}") from e


def _instance(full_name: str) -> str | None:
    """``NAME`` of ``NAME._wmverse._tcp.local.`` (case-insensitive suffix), or None for another name."""
    suffix = "." + SERVICE_TYPE
    if len(full_name) <= len(suffix) or not full_name.lower().endswith(suffix):
        return None
    return full_name[: -len(suffix)]


def _txt(props: dict[Any, Any], key: bytes) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) > 256:
        raise ValueError("bad TXT value")
    return value.decode("ascii")


def _from_info(info: ServiceInfo, expect: str | None = None) -> WorldAddress | None:
    """The WorldAddress an announcement describes, or None when anything in it is malformed (or it is
    not ``expect``, compared case-insensitively as mDNS does). Never raises."""
    try:
        name = _instance(info.name)
        if name is None or (expect is not None and name.lower() != expect.lower()):
            return None
        if len(info.text or b"") > _MAX_TXT_BYTES:
            return None
        props = info.properties
        peer, version = _txt(props, b"peer"), _txt(props, b"v")
        private, code = _txt(props, b"private") or "0", _txt(props, b"code") or ""
        if peer is None or version != TXT_VERSION or private not in ("0", "1"):
            return None
        hosts = [a for a in info.parsed_addresses() if _ip_literal(a) is not None]
        hosts.sort(key=lambda a: ":" in a)  # IPv4 first
        if not hosts:
            return None
        return WorldAddress(name, peer, hosts[0], info.port, private == "1", code)
    except Exception:  # anything odd in hostile data means "malformed": ignore it
        return None


def _announce_addresses(host: str, interfaces: list[str] | None) -> list[str]:
    """The IP addresses to publish for ``host``: itself, or for 0.0.0.0 / :: the interface addresses."""
    ip = _ip_literal(host)
    if ip is None:
        raise ValueError(f"an announced world needs an IP address host, not {host!r}")
    if not ip.is_unspecified:
        return [host]
    if interfaces is not None:
        return list(interfaces)
    import ifaddr  # zeroconf's own dependency

    found = [
        str(i.ip)
        for adapter in ifaddr.get_adapters()
        for i in adapter.ips
        if isinstance(i.ip, str) and not ipaddress.ip_address(i.ip).is_loopback
    ]
    return found or ["127.0.0.1"]


class WorldAnnouncer:
    """Announces one world on the local network while started (a context manager: ``with`` starts it).

    ``start()`` probes the network first and raises ``ValueError`` when another host (or another announcer
    in this process) already announces a world of that name; it blocks about 2 s (mDNS probing). ``close()``
    sends the goodbye and is idempotent. ``address.host`` must be an IP literal; 0.0.0.0 / :: publish the
    addresses of ``interfaces`` (or of every non-loopback IPv4 interface when ``interfaces`` is None).
    """

    def __init__(self, address: WorldAddress, interfaces: list[str] | None = None) -> None:
        self.address = address
        self.interfaces = interfaces
        _zc_interfaces(interfaces)
        self._zc: Zeroconf | None = None
        self._info: ServiceInfo | None = None

    def start(self) -> WorldAnnouncer:
        """Registers the service; returns self. Raises RuntimeError when already started."""
        if self._zc is not None:
            raise RuntimeError("this WorldAnnouncer is already started")
        a = self.address
        info = ServiceInfo(
            SERVICE_TYPE,
            f"{a.name}.{SERVICE_TYPE}",
            parsed_addresses=_announce_addresses(a.host, self.interfaces),
            port=a.port,
            properties={"peer": a.peer_id, "private": "01"[a.private], "code": a.code_hash, "v": TXT_VERSION},
        )
        zc = _open(self.interfaces)
        try:
            zc.register_service(info, allow_name_change=False)
        except (NonUniqueNameException, ServiceNameAlreadyRegistered):
            zc.close()
            raise ValueError(f"a world named {a.name} is already announced on this network") from None
        except BaseException:
            zc.close()
            raise
        self._zc, self._info = zc, info
        return self

    def close(self) -> None:
        """Unregisters the service (goodbye packets) and closes the sockets; safe to call twice."""
        zc, info, self._zc, self._info = self._zc, self._info, None, None
        if zc is None:
            return
        try:
            if info is not None:
                zc.unregister_service(info)
        finally:
            zc.close()

    def __enter__(self) -> WorldAnnouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lookup(zc: Zeroconf, full_name: str, timeout_s: float) -> ServiceInfo | None:
    """One lookup round: what the cache already holds, else a multicast query for up to ``timeout_s``.

    Queries are QM (answers multicast): a unicast (QU) answer goes to just one of the sockets that share
    port 5353 on the asking host (another responder's, e.g. avahi or a world served on the same machine)
    and is lost. Reading the cache afresh each round also catches records that zeroconf cached but did not
    hand to a pending request (an address record arriving before its SRV record).
    """
    info = ServiceInfo(SERVICE_TYPE, full_name)
    if info.load_from_cache(zc):
        return info
    if timeout_s > 0 and info.request(
        zc, timeout=max(1, int(timeout_s * 1000)), question_type=DNSQuestionType.QM
    ):
        return info
    return None


def resolve_world(name: str, timeout_s: float = 5.0, interfaces: list[str] | None = None) -> WorldAddress:
    """The address of the world announced as ``name`` (spelt as announced: zeroconf matches case too).

    Raises ``ValueError`` for an invalid name (before any network use) and ``LookupError`` when no valid
    announcement answers within ``timeout_s``; a malformed announcement counts as none (the wait goes on,
    in case it is replaced, until the timeout).
    """
    _check_name(name)
    deadline = time.monotonic() + max(0.0, timeout_s)
    malformed = False
    zc = _open(interfaces)
    try:
        while (left := deadline - time.monotonic()) > 0:
            info = _lookup(zc, f"{name}.{SERVICE_TYPE}", min(left, _ROUND_S))
            if info is None:
                continue
            found = _from_info(info, expect=name)
            if found is not None:
                return found
            malformed = True
            time.sleep(min(_ROUND_S, max(0.0, deadline - time.monotonic())))
    finally:
        zc.close()
    note = " (an announcement of it was malformed and ignored)" if malformed else ""
    raise LookupError(
        f"no world named {name!r} announced on the local network within {timeout_s:g} s{note}; "
        f"where multicast (mDNS) does not reach, pass --world {name}@HOST:PORT/PEER_ID"
    )


def list_worlds(timeout_s: float = 2.0, interfaces: list[str] | None = None) -> list[WorldAddress]:
    """Every valid world announced on the local network, sorted by name; malformed announcements are left
    out. Browses for ``timeout_s``, then gives announcements not yet complete up to 1 s more in all."""
    names: dict[str, str] = {}
    lock = threading.Lock()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        with lock:
            if state_change is ServiceStateChange.Removed:
                names.pop(name.lower(), None)
            elif len(names) < _MAX_LISTED:
                names[name.lower()] = name

    zc = _open(interfaces)
    try:
        browser = ServiceBrowser(zc, SERVICE_TYPE, handlers=[on_change], question_type=DNSQuestionType.QM)
        try:
            time.sleep(max(0.0, timeout_s))
        finally:
            browser.cancel()
        with lock:
            pending = sorted(names.values())
        found: dict[str, WorldAddress] = {}
        grace = time.monotonic() + 1.0
        for full in pending:
            try:  # a hostile name may upset zeroconf itself: skip it
                info = _lookup(zc, full, min(_ROUND_S, grace - time.monotonic()))
            except Exception:
                continue
            world = None if info is None else _from_info(info)
            if world is not None:
                found.setdefault(world.name.lower(), world)
    finally:
        zc.close()
    return sorted(found.values(), key=lambda w: w.name.lower())
