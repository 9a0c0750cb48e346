"""The seven tendencies a person's behaviour is explained by, and their default allocations.

Values and descriptions follow the original debate world model: each tendency is an
agent that argues that it drives the observed behaviour.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "DESCRIPTION_MODES",
    "DEFAULT_ALLOCATIONS",
    "TENDENCY_ORDER",
    "Tendency",
    "description_texts",
    "parse_tendency",
]


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
    def exemplars(self) -> tuple[str, ...]:
        """Generic sentences about a person driven by this tendency, one per facet of its
        description; written from the definitions, about nobody in particular."""
        return _EXEMPLARS[self]

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

# Six generic facets per tendency, paraphrasing its definition (no observation of any sample
# person was used to write them). Judges average them with the anchor sentence when a
# TrainConfig asks for descriptions="exemplars": one terse phrase per tendency is a weak
# target for a sentence encoder, whereas the mean of several plain sentences is not.
_EXEMPLARS: dict[Tendency, tuple[str, ...]] = {
    Tendency.SURVIVAL: (
        "They put money aside for emergencies and avoid debt.",
        "They take precautions to stay safe and avoid accidents or injury.",
        "They look after their health and get medical problems checked early.",
        "They prepare for disasters and keep supplies in case something goes wrong.",
        "They protect their home, job and income against threats.",
        "They avoid risky or dangerous situations.",
    ),
    Tendency.STATUS: (
        "They want to be admired and recognised for their achievements.",
        "They compare themselves with others and want to rank higher.",
        "They seek promotions, titles, awards and prestige.",
        "They care about their reputation and how others see them.",
        "They like to show off their success and be seen as important.",
        "They compete to win and to be the best.",
    ),
    Tendency.MEANING: (
        "They want their life to have a purpose and to make a difference.",
        "They want to leave a legacy that outlives them.",
        "They help others and serve causes bigger than themselves.",
        "They volunteer and give to charity to have a positive impact.",
        "They reflect on what their life is for and what will matter in the end.",
        "They pass on what they know and value to the next generation.",
    ),
    Tendency.CONNECTION: (
        "They spend time with family and friends and keep in touch.",
        "They want to belong to a group or a community.",
        "They care for the people close to them and support them.",
        "They feel lonely without others and seek company.",
        "They welcome newcomers and build friendships.",
        "They show up for the people they love.",
    ),
    Tendency.AUTONOMY: (
        "They want to make their own decisions without being controlled.",
        "They resist rules, supervision and being told what to do.",
        "They value independence and not depending on anyone.",
        "They want the freedom to choose how to spend their time.",
        "They prefer to be their own boss.",
        "They refuse arrangements that limit their freedom.",
    ),
    Tendency.COMFORT: (
        "They seek relaxation, rest and pleasure.",
        "They avoid effort, discomfort and pain.",
        "They treat themselves to good food and small indulgences.",
        "They choose the easy and convenient option.",
        "They enjoy cosy, familiar routines that feel good.",
        "They sleep in and take it easy when they can.",
    ),
    Tendency.CURIOSITY: (
        "They want to learn how things work and why.",
        "They explore new places, ideas and experiences.",
        "They read, study and ask questions to understand.",
        "They experiment to find out what happens.",
        "They are fascinated by science, history and the unknown.",
        "They try unfamiliar things just to discover them.",
    ),
}

#: How a judge describes a tendency: ``seed`` = its anchor sentence only (the original model);
#: ``exemplars`` = the anchor sentence and its six exemplar sentences, averaged.
DESCRIPTION_MODES: tuple[str, ...] = ("seed", "exemplars")


def description_texts(tendency: Tendency, mode: str = "seed") -> tuple[str, ...]:
    """The sentences whose mean embedding describes ``tendency`` under ``mode`` (see :data:`DESCRIPTION_MODES`)."""
    if mode == "seed":
        return (tendency.anchor_text,)
    if mode == "exemplars":
        return (tendency.anchor_text, *tendency.exemplars)
    raise ValueError(f"unknown descriptions {mode!r}; use one of {', '.join(DESCRIPTION_MODES)}")


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
