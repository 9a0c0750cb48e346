"""The seven tendencies a person's behaviour is explained by, and their default allocations.

Values and descriptions follow the original debate world model: each tendency is an
agent that argues that it drives the observed behaviour.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Tendency", "DEFAULT_ALLOCATIONS", "TENDENCY_ORDER", "parse_tendency"]


class Tendency(Enum):
    """One motivational tendency; ``value`` is its lowercase name."""

    SURVIVAL = "survival"
    STATUS = "status"
    MEANING = "meaning"
    CONNECTION = "connection"
    AUTONOMY = "autonomy"
    COMFORT = "comfort"
    CURIOSITY = "curiosity"

    @property
    def description(self) -> str:
        """What the tendency optimises, in a few words."""
        return _DESCRIPTIONS[self]

    @property
    def anchor_text(self) -> str:
        """The sentence judges compare observations with before any claim exists."""
        return f"A person driven by {self.value}: {self.description}."

    @property
    def index(self) -> int:
        """Position of the tendency in :data:`TENDENCY_ORDER` (column of score matrices)."""
        return TENDENCY_ORDER.index(self)


_DESCRIPTIONS: dict[Tendency, str] = {
    Tendency.SURVIVAL: "physical safety, resources, risk mitigation",
    Tendency.STATUS: "social standing, achievement, recognition",
    Tendency.MEANING: "significance, impact, legacy, purpose",
    Tendency.CONNECTION: "relationships, belonging, community",
    Tendency.AUTONOMY: "independence, self-determination, freedom",
    Tendency.COMFORT: "ease, pleasure, avoiding pain",
    Tendency.CURIOSITY: "knowledge, understanding, exploration",
}

#: Fixed order used for every (.., 7) score matrix in this package.
TENDENCY_ORDER: tuple[Tendency, ...] = tuple(Tendency)

#: Prior share of behaviour each tendency explains before training (sums to 1).
DEFAULT_ALLOCATIONS: dict[Tendency, float] = {
    Tendency.SURVIVAL: 0.18,
    Tendency.STATUS: 0.12,
    Tendency.MEANING: 0.10,
    Tendency.CONNECTION: 0.20,
    Tendency.AUTONOMY: 0.12,
    Tendency.COMFORT: 0.18,
    Tendency.CURIOSITY: 0.10,
}


def parse_tendency(value: str | Tendency) -> Tendency:
    """Return the tendency named by ``value`` (case-insensitive); ``ValueError`` lists the valid names."""
    if isinstance(value, Tendency):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        for t in Tendency:
            if t.value == key:
                return t
    names = ", ".join(t.value for t in Tendency)
    raise ValueError(f"unknown tendency {value!r}; use one of: {names}")
