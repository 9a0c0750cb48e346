"""Join-by-name discovery (wmverse.runtime.discovery) over real zeroconf, no mocks.

The network tests announce and resolve in this one process over one interface address (127.0.0.1 when
multicast over loopback works, else this host's primary IPv4 address); they skip only when the
``mdns_iface`` probe finds that no candidate address carries multicast DNS.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from zeroconf import ServiceInfo, Zeroconf

from wmverse.runtime.discovery import (
    SERVICE_TYPE,
    WorldAddress,
    WorldAnnouncer,
    list_worlds,
    parse_world,
    resolve_world,
)

PEER = "12D3KooWAbCdEfGhJkLmNoPqRsTuVwXyZ123456789abcdef"
TAG = f"t{int(time.time() * 1000) % 10**8}"  # keeps names unique against anything else on the network


def _primary_ipv4() -> str | None:
    """The source address this host uses towards the mDNS group (no packet is sent), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("224.0.0.251", 5353))
        return s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()


def _register_raw(zc: Zeroconf, info: ServiceInfo) -> None:
    """Registers ``info`` with zeroconf directly, without probing or zeroconf's strict name checks."""
    coro = zc.async_register_service(info, cooperating_responders=True, strict=False)
    asyncio.run_coroutine_threadsafe(coro, zc.loop).result(5)


@pytest.fixture(scope="module")
def mdns_iface() -> str:
    """Probes whether multicast DNS works within this process on 127.0.0.1, then on the primary IPv4
    address: one zeroconf registers a service on that address, a second zeroconf must resolve it within
    2 s. Returns the first address that works; skips the network tests when none does."""
    tried = []
    for iface in dict.fromkeys(a for a in ("127.0.0.1", _primary_ipv4()) if a):
        name = f"probe-{TAG}.{SERVICE_TYPE}"
        try:
            announcer = Zeroconf(interfaces=[iface])
        except OSError as e:
            tried.append(f"{iface}: {e}")
            continue
        try:
            _register_raw(
                announcer,
                ServiceInfo(SERVICE_TYPE, name, parsed_addresses=[iface], port=9, properties={"v": "0"}),
            )
            resolver = Zeroconf(interfaces=[iface])
            try:
                if resolver.get_service_info(SERVICE_TYPE, name, timeout=2000) is not None:
                    return iface
            finally:
                resolver.close()
        finally:
            announcer.close()
        tried.append(f"{iface}: no answer in 2 s")
    pytest.skip(f"multicast DNS does not work here ({'; '.join(tried)})")


@pytest.fixture(scope="module")
def alpha(mdns_iface: str):
    """A world announced for the whole module."""
    address = WorldAddress(f"alpha.{TAG}", PEER, "10.0.0.5", 4001, private=True, code_hash="abc123")
    with WorldAnnouncer(address, interfaces=[mdns_iface]):
        yield address


@pytest.fixture(scope="module")
def hostile(mdns_iface: str):
    """Malformed announcements made with zeroconf directly (plus one valid one); yields their names."""

    def props(**kw: str | None) -> dict[str, str | None]:
        return {"peer": PEER, "v": "1", "private": "0", "code": "", **kw}

    pad = {f"pad{i:02d}": "x" * 240 for i in range(42)}  # about 10 kB of TXT
    cases = {
        "badpeer": (4001, props(peer="0OIl" + PEER[4:])),
        "shellpeer": (4001, props(peer="$(reboot);" + PEER)),
        "portzero": (0, props()),
        "bigtxt": (4001, {**props(), **pad}),  # too big for one mDNS packet: zeroconf never sends it
        "midtxt": (4001, {**props(), **dict(list(pad.items())[:6])}),  # 1.5 kB: sent, over our 1 kB limit
        "nopeer": (4001, {"v": "1"}),
        "nov": (4001, {"peer": PEER}),
        "badv": (4001, props(v="2")),
        "badprivate": (4001, props(private="yes")),
        "bad name!": (4001, props()),
        "good": (4001, props()),
    }
    zc = Zeroconf(interfaces=[mdns_iface])
    names = {}
    try:
        for case, (port, properties) in cases.items():
            name = case if case == "bad name!" else f"{case}-{TAG}"
            info = ServiceInfo(
                SERVICE_TYPE,
                f"{name}.{SERVICE_TYPE}",
                parsed_addresses=["10.0.0.9"],
                port=port,
                properties=properties,
            )
            try:
                _register_raw(zc, info)
            except Exception as e:  # zeroconf itself may refuse a case (that is fine: it never arrives)
                print(f"zeroconf refused {case}: {e!r}")
            names[case] = name
        yield names
    finally:
        zc.close()


def test_announce_then_resolve_by_name(alpha: WorldAddress, mdns_iface: str) -> None:
    t0 = time.monotonic()
    found = resolve_world(alpha.name, timeout_s=3.0, interfaces=[mdns_iface])
    assert found == alpha
    assert time.monotonic() - t0 < 3.0
    assert found.multiaddr == f"/ip4/10.0.0.5/tcp/4001/p2p/{PEER}"


def test_resolve_unknown_name_times_out_with_a_hint(mdns_iface: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(LookupError) as err:
        resolve_world(f"nobody-{TAG}", timeout_s=1.0, interfaces=[mdns_iface])
    assert 0.9 <= time.monotonic() - t0 < 2.5
    msg = str(err.value)
    assert f"nobody-{TAG}" in msg and "1 s" in msg and f"--world nobody-{TAG}@HOST:PORT/PEER_ID" in msg


def test_second_announcer_of_a_name_is_refused(alpha: WorldAddress, mdns_iface: str) -> None:
    other = WorldAddress(alpha.name, PEER[::-1], "10.0.0.6", 4002)
    with pytest.raises(ValueError, match=f"a world named {alpha.name} is already announced"):
        WorldAnnouncer(other, interfaces=[mdns_iface]).start()
    assert resolve_world(alpha.name, timeout_s=3.0, interfaces=[mdns_iface]) == alpha


def test_unspecified_host_announces_the_interface_and_close_withdraws(mdns_iface: str) -> None:
    address = WorldAddress(f"beta-{TAG}", PEER, "0.0.0.0", 4003)
    announcer = WorldAnnouncer(address, interfaces=[mdns_iface]).start()
    try:
        found = resolve_world(address.name, timeout_s=3.0, interfaces=[mdns_iface])
        assert (found.host, found.port, found.peer_id) == (mdns_iface, 4003, PEER)
        with pytest.raises(RuntimeError):
            announcer.start()
    finally:
        announcer.close()
        announcer.close()  # idempotent
    with pytest.raises(LookupError):
        resolve_world(address.name, timeout_s=0.5, interfaces=[mdns_iface])


def test_hostile_announcements_are_ignored(hostile: dict[str, str], mdns_iface: str) -> None:
    listed = {w.name: w for w in list_worlds(timeout_s=1.0, interfaces=[mdns_iface])}
    assert listed.get(hostile["good"]) == WorldAddress(hostile["good"], PEER, "10.0.0.9", 4001)
    for case, name in hostile.items():
        if case != "good":
            assert name not in listed, case
    assert resolve_world(hostile["good"], timeout_s=2.0, interfaces=[mdns_iface]).port == 4001
    for case in (
        "badpeer",
        "shellpeer",
        "portzero",
        "bigtxt",
        "midtxt",
        "nopeer",
        "nov",
        "badv",
        "badprivate",
    ):
        with pytest.raises(LookupError):
            resolve_world(hostile[case], timeout_s=0.3, interfaces=[mdns_iface])


def test_bad_interfaces_are_refused_before_any_network_use() -> None:
    for bad in (["eth0"], "127.0.0.1", [], ["127.0.0.1%lo"]):
        with pytest.raises(ValueError):
            resolve_world("alpha", timeout_s=0.1, interfaces=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        resolve_world("bad name", timeout_s=0.1)
    with pytest.raises(ValueError, match="IP address host"):
        WorldAnnouncer(WorldAddress("alpha", PEER, "example.org", 1)).start()


@pytest.mark.parametrize(
    ("text", "name", "host", "port", "multiaddr"),
    [
        ("arena", "arena", None, None, None),
        ("  arena\n", "arena", None, None, None),
        ("A1_b.c-d", "A1_b.c-d", None, None, None),
        ("a" * 63, "a" * 63, None, None, None),
        (f"arena@10.0.0.1:4001/{PEER}", "arena", "10.0.0.1", 4001, f"/ip4/10.0.0.1/tcp/4001/p2p/{PEER}"),
        (f"arena@[::1]:4001/{PEER}", "arena", "::1", 4001, f"/ip6/::1/tcp/4001/p2p/{PEER}"),
        (f"w@[fd00::2]:65535/{PEER}", "w", "fd00::2", 65535, f"/ip6/fd00::2/tcp/65535/p2p/{PEER}"),
        (
            f"w@host-1.example.org:1/{PEER}",
            "w",
            "host-1.example.org",
            1,
            f"/dns/host-1.example.org/tcp/1/p2p/{PEER}",
        ),
        (f"w@localhost:4001/{PEER}", "w", "localhost", 4001, f"/dns/localhost/tcp/4001/p2p/{PEER}"),
    ],
)
def test_parse_world_good_forms(
    text: str, name: str, host: str | None, port: int | None, multiaddr: str | None
) -> None:
    got_name, address = parse_world(text)
    assert got_name == name
    if host is None:
        assert address is None
        return
    assert address is not None
    assert (address.name, address.host, address.port, address.peer_id) == (name, host, port, PEER)
    assert address.multiaddr == multiaddr
    assert parse_world(str(address)) == (name, address)  # the text form reads back


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_000,
        f"{'a' * 64}",
        "-arena",
        "_arena",
        ".arena",
        "aréna",
        "arena\x00",
        "are\nna",
        "arena; rm -rf /",
        "$(reboot)",
        "arena`id`",
        "../../etc/passwd",
        "name@host:99999/peer",
        f"arena@10.0.0.1:99999/{PEER}",
        f"arena@10.0.0.1:0/{PEER}",
        f"arena@10.0.0.1:-1/{PEER}",
        f"arena@10.0.0.1:+401/{PEER}",
        f"arena@10.0.0.1:٤٠٠١/{PEER}",
        f"arena@10.0.0.1:４００１/{PEER}",
        f"arena@10.0.0.1:004001x/{PEER}",
        f"arena@10.0.0.1: 4001/{PEER}",
        f"arena@10.0.0.1/{PEER}",
        "arena@10.0.0.1:4001",
        "arena@10.0.0.1:4001/",
        f"arena@10.0.0.1:4001/{PEER}/extra",
        f"arena@10.0.0.1:4001/{PEER}?x=1",
        f"arena@10.0.0.1:4001/0OIl{PEER[4:]}",
        f"arena@10.0.0.1:4001/{PEER[:31]}",
        f"arena@10.0.0.1:4001/{'a' * 129}",
        f"arena@@10.0.0.1:4001/{PEER}",
        f"@10.0.0.1:4001/{PEER}",
        f"arena@:4001/{PEER}",
        f"arena@::1:4001/{PEER}",
        f"arena@[10.0.0.1]:4001/{PEER}",
        f"arena@[::1]4001/{PEER}",
        f"arena@[::1:4001/{PEER}",
        f"arena@[fe80::1%eth0]:4001/{PEER}",
        f"arena@999.1.1.1:4001/{PEER}",
        f"arena@010.0.0.1:4001/{PEER}",
        f"arena@-bad.example:4001/{PEER}",
        f"arena@a_b.example:4001/{PEER}",
        f"arena@ex ample:4001/{PEER}",
        f"arena@пример.рф:4001/{PEER}",
        f"arena@{'a.' * 127}org:4001/{PEER}",
        f"arena@host;reboot:4001/{PEER}",
    ],
)
def test_parse_world_rejects_bad_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected NAME or NAME@HOST:PORT/PEER_ID") as err:
        parse_world(text)
    assert len(str(err.value)) < 400  # a hostile 10 kB input is not echoed back whole


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": 0},
        {"port": 65536},
        {"port": True},
        {"port": "4001"},
        {"peer_id": "short"},
        {"host": "bad host"},
        {"name": "bad/name"},
        {"code_hash": "x" * 200},
        {"private": "yes"},
    ],
)
def test_world_address_validates_its_fields(kwargs: dict) -> None:
    fields = {"name": "arena", "peer_id": PEER, "host": "10.0.0.1", "port": 4001, **kwargs}
    with pytest.raises(ValueError):
        WorldAddress(**fields)
