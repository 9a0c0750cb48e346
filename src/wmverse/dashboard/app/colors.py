"""Colours that mean something: one hue family per role, one fixed colour per tendency, one icon per badge.

Every figure of the served dashboard colours an agent the same way, and the colour says who it is:

- the world's own series are slate grey (``WORLD_COLOR``);
- agents of the training world's ``tendency`` role get their tendency's colour (``TENDENCY_COLORS``, the
  same as the offline dashboard's), whatever their name or peer id;
- every other role gets a hue family (``ROLE_FAMILIES``, assigned to the run's roles in sorted order, so
  the same set of roles always gets the same families), and its agents the family's shades in name order.

So two learners of one role are two shades of one hue, and a tendency keeps its colour across runs.
Several runs overlaid keep the agents' colours and tell the runs apart by dash (``RUN_DASHES``), or, where
a stat has one series per run, by ``RUN_COLORS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "BADGE_ICONS",
    "OTHER_COLOR",
    "ROLE_FAMILIES",
    "RUN_COLORS",
    "RUN_DASHES",
    "TENDENCY_COLORS",
    "TENDENCY_ROLE",
    "WORLD_COLOR",
    "badge_icon",
    "role_colors",
    "role_name",
    "tendency_of",
]

#: the seven tendencies of the debate world model, one stable colour each
TENDENCY_COLORS = {
    "survival": "#FF3B30",
    "status": "#FFB347",
    "meaning": "#B388FF",
    "connection": "#00D4AA",
    "autonomy": "#1A5CFF",
    "comfort": "#FF6692",
    "curiosity": "#E0E0E0",
}
#: the world's own series
WORLD_COLOR = "#9AA5B1"
#: agents whose role is unknown (not in the run's nodes)
OTHER_COLOR = "#6B7685"
#: the role that argues for a tendency in the training world
TENDENCY_ROLE = "tendency"

#: hue families for the other roles, each from its base shade outwards (hues the tendencies use least first)
ROLE_FAMILIES = (
    ("#3DD6F5", "#8BE7FA", "#1AA6C4", "#C2F3FD", "#0E7A91"),  # cyan
    ("#A3E635", "#C8F27E", "#7DB41F", "#E1F9B6", "#58810F"),  # lime
    ("#4D7FFF", "#8DAEFF", "#2A5AD6", "#C1D3FF", "#1A3C99"),  # blue
    ("#F5A524", "#F9C873", "#C98010", "#FCE2B5", "#8F5A06"),  # amber
    ("#D16BFF", "#E3A3FF", "#A53FD6", "#F1D1FF", "#722699"),  # orchid
    ("#FF8A5B", "#FFB699", "#D9622F", "#FFD9C9", "#99401A"),  # coral
)

#: dash of each overlaid run, in the order the runs were picked
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
#: colour of each overlaid run where a stat has a single series per run
RUN_COLORS = ("#4D7FFF", "#FFB347", "#00D4AA", "#FF6692", "#B388FF", "#E0E0E0")

#: badge kind -> (icon, colour); icons are plain Unicode shapes (DejaVu has them), never emoji
BADGE_ICONS = {
    "completed": ("✔", "#00D4AA"),
    "pro": ("★", "#FFB347"),
    "intermediate": ("◐", "#4D7FFF"),
    "attended": ("●", "#B388FF"),
}
_OTHER_BADGE = ("◆", "#8A95A5")


def role_name(role: str | None) -> str:
    """A node's role as shown: the last part of unaiverse's ``prefix~role`` spelling; '' when none."""
    if role is None or role != role:  # None or NaN
        return ""
    return str(role).split("~")[-1].strip()


def badge_icon(kind: str) -> tuple[str, str]:
    """(icon, colour) of a badge kind."""
    return BADGE_ICONS.get(str(kind).lower(), _OTHER_BADGE)


def role_colors(agents: Iterable[tuple[str, str, str | None]]) -> dict[str, str]:
    """Colour of each agent from ``(name, role, tendency)`` triples (role already ``role_name``-d).

    The world role is ``WORLD_COLOR``; a tendency agent with a known tendency gets that tendency's colour;
    other roles get a family of ``ROLE_FAMILIES`` (roles sorted) and their agents its shades (names
    sorted); an agent without a role gets ``OTHER_COLOR``."""
    rows = sorted(set(agents), key=lambda r: (r[1], r[0]))
    families: dict[str, tuple[str, ...]] = {}
    for role in sorted({r for _, r, _ in rows if r and r != "world"}):
        families[role] = ROLE_FAMILIES[len(families) % len(ROLE_FAMILIES)]
    used: dict[str, int] = {}
    out: dict[str, str] = {}
    for name, role, tendency in rows:
        if role == "world":
            out[name] = WORLD_COLOR
        elif tendency and tendency.lower() in TENDENCY_COLORS:
            out[name] = TENDENCY_COLORS[tendency.lower()]
        elif role in families:
            k = used.get(role, 0)
            used[role] = k + 1
            out[name] = families[role][k % len(families[role])]
        else:
            out[name] = OTHER_COLOR
    return out


def tendency_of(name: str, role: str, stated: Mapping[str, str]) -> str | None:
    """The tendency an agent argues for: what it stated (its ``tendency`` stat), else its node name when
    that is a tendency's name; only for the tendency role (other roles have none)."""
    if role != TENDENCY_ROLE:
        return None
    said = stated.get(name)
    if said:
        return str(said).lower()
    return name.lower() if name.lower() in TENDENCY_COLORS else None
