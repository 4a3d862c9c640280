"""The built-in corpus generator: sentences of varied length with named entities, from a seed, with faker.

faker ships its names, companies, places and English words: nothing is downloaded. One `random.Random`
(the first faker's, seeded) drives every choice, and each locale's faker is seeded from the same seed, so a seed
and a faker version give one corpus. faker is imported on first use.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from infbench.errors import ConfigError

LABELS = ("PER", "ORG", "LOC", "DATE", "MONEY")
NEEDS_FAKER = "the built-in corpus needs the faker package: pip install faker (or pass a corpus file)"

# (locale, weight): names, companies and places from several locales give the tokenizer accents and variety
_LOCALES = (("en_US", 0.6), ("en_GB", 0.15), ("de_DE", 0.13), ("fr_FR", 0.12))
_CLAUSES = (
    "{PER} joined {ORG} in {LOC} on {DATE}",
    "{ORG} reported revenue of {MONEY} for the quarter ending {DATE}",
    "on {DATE}, {PER} flew from {LOC} to {LOC}",
    "{PER} paid {MONEY} to {ORG}",
    "{PER} met {PER} at the {ORG} office in {LOC}",
    "the contract between {ORG} and {ORG} is worth {MONEY}",
    "{PER} was born in {LOC} on {DATE}",
    "{ORG} opened a new site in {LOC}",
    "{PER} will speak in {LOC} on {DATE}",
    "shares of {ORG} fell after {PER} resigned",
    "{PER} bought a house in {LOC} for {MONEY}",
    "{ORG} hired {PER} as chief executive",
    "the invoice from {ORG} dated {DATE} totals {MONEY}",
    "{PER} and {PER} moved to {LOC} on {DATE}",
    "a spokesperson for {ORG} declined to comment",
    "the weather in {LOC} delayed the shipment",
)
_SHORT = (
    "Thanks, {PER}!",
    "See you in {LOC}.",
    "{ORG} again?",
    "Call {PER}.",
    "Due {DATE}.",
    "Total: {MONEY}.",
    "Hello from {LOC}.",
    "{PER} agreed.",
    "Ask {ORG}.",
)
_JOINS = (", and ", "; ", ", while ", ", although ", ", because ", " after ", ", so ", " before ")
_FILLER_LEADS = (", ", ", which ", " with ", ", noting that ", " as ", " - ")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SLOT = re.compile(r"\{(PER|ORG|LOC|DATE|MONEY)\}")


@dataclass(frozen=True)
class Entity:
    """A named entity in a sentence: ``text[start:end]`` with one of `LABELS`."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Sentence:
    """One text of the corpus and the character spans of its named entities."""

    text: str
    entities: tuple[Entity, ...] = ()


class _Writer:
    """Assembles a sentence from pieces, recording where each entity lands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.entities: list[Entity] = []
        self.pos = 0
        self.words = 0

    def text(self, piece: str) -> None:
        if not self.parts and piece[:1].islower():
            piece = piece[0].upper() + piece[1:]
        self.parts.append(piece)
        self.pos += len(piece)
        self.words += len(piece.split())

    def entity(self, piece: str, label: str) -> None:
        self.entities.append(Entity(self.pos, self.pos + len(piece), label))
        self.parts.append(piece)
        self.pos += len(piece)
        self.words += len(piece.split())

    def sentence(self) -> Sentence:
        return Sentence("".join(self.parts), tuple(self.entities))


class Generator:
    """The sentence generator: one `random.Random` (faker's, seeded) drives every choice."""

    def __init__(self, seed: int) -> None:
        fakers = _fakers()
        for i, (_, fake) in enumerate(fakers):
            fake.seed_instance(seed * 1000 + i)
        self.fakers = [fake for _, fake in fakers]
        self.weights = [w for w, _ in fakers]
        self.words_fake = self.fakers[0]  # English filler words
        self.rng = self.words_fake.random

    def entity(self, label: str) -> str:
        rng = self.rng
        fake = rng.choices(self.fakers, self.weights)[0]
        if label == "PER":
            return str(fake.name())
        if label == "ORG":
            return str(fake.company())
        if label == "LOC":
            return str(rng.choice((fake.city, fake.city, fake.country))())
        if label == "DATE":
            d = date(2005, 1, 1) + timedelta(days=rng.randrange(8000))
            month = _MONTHS[d.month - 1]
            return rng.choice((f"{month} {d.day}, {d.year}", f"{d.day} {month} {d.year}", d.isoformat()))
        amount = math.exp(rng.gauss(8.5, 2.2))  # a few dollars to tens of millions
        if amount >= 1e6 and rng.random() < 0.5:
            return rng.choice((f"${amount / 1e6:.1f} million", f"€{amount / 1e6:.1f}m"))
        return rng.choice((f"${amount:,.2f}", f"€{amount:,.0f}", f"{amount:,.0f} USD", f"£{amount:,.0f}"))

    def fill(self, w: _Writer, template: str) -> None:
        pos = 0
        for m in _SLOT.finditer(template):
            if m.start() > pos:
                w.text(template[pos : m.start()])
            w.entity(self.entity(m.group(1)), m.group(1))
            pos = m.end()
        if pos < len(template):
            w.text(template[pos:])

    def sentence(self) -> Sentence:
        rng = self.rng
        # word counts: log-normal around 13 words, so a few words to 100+ (a heavy right tail)
        target = min(160, max(2, round(math.exp(rng.gauss(math.log(13), 0.8)))))
        w = _Writer()
        if target <= 4:
            self.fill(w, rng.choice(_SHORT))
            return w.sentence()
        self.fill(w, rng.choice(_CLAUSES))
        while w.words < target:
            if rng.random() < 0.55:
                w.text(rng.choice(_JOINS))
                self.fill(w, rng.choice(_CLAUSES))
            else:
                n = min(max(2, target - w.words), rng.randint(3, 14))
                w.text(rng.choice(_FILLER_LEADS) + " ".join(self.words_fake.words(n)))
        w.text(rng.choices((".", "?", "!"), (0.9, 0.06, 0.04))[0])
        return w.sentence()


@functools.lru_cache(maxsize=1)
def _fakers() -> tuple[tuple[float, Any], ...]:
    try:
        from faker import Faker
    except ImportError as exc:
        raise ConfigError(NEEDS_FAKER) from exc
    return tuple((weight, Faker(locale)) for locale, weight in _LOCALES)
