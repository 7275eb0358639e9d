"""Service-demand questionnaires as plain records: what a planner published, the parts of an answer,
and whether a station is urban or rural. No GraphQL, no database (``store.questionnaire_book`` keeps
them; ``resolvers.questionnaires`` checks what clients send)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.records import StationRecord


class QuestionKind(StrEnum):
    CHOOSE_SERVICES = "CHOOSE_SERVICES"  # tick up to ``max_choices`` of the listed services
    RANK_SERVICES = "RANK_SERVICES"  # order up to ``max_choices`` of them, most wanted first
    RATE_STATION = "RATE_STATION"  # 1-5 for the station the answer is given for
    FREE_TEXT = "FREE_TEXT"  # words of the resident's own


SERVICE_KINDS = frozenset({QuestionKind.CHOOSE_SERVICES, QuestionKind.RANK_SERVICES})


class Area(StrEnum):
    URBAN = "URBAN"
    RURAL = "RURAL"


@dataclass(frozen=True, slots=True)
class Question:
    kind: QuestionKind
    text: str
    text_en: str
    service_ids: tuple[str, ...] = ()  # the options of a service question, from the catalogue
    max_choices: int = 0  # service questions: at most this many chosen or ranked

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "text_en": self.text_en,
            "service_ids": list(self.service_ids),
            "max_choices": self.max_choices,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Question:
        return cls(
            QuestionKind(value["kind"]),
            str(value["text"]),
            str(value["text_en"]),
            tuple(str(s) for s in value["service_ids"]),
            int(value["max_choices"]),
        )


@dataclass(frozen=True, slots=True)
class Draft:
    """What a planner asks to publish, before it is checked."""

    title: str
    title_en: str
    questions: tuple[Question, ...]
    towns: tuple[str, ...]
    station_ids: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class Questionnaire:
    id: str
    title: str
    title_en: str
    questions: tuple[Question, ...]
    towns: tuple[str, ...]
    station_ids: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime
    published_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def targets(self, station: StationRecord) -> bool:
        return station.id in self.station_ids or station.town in self.towns


@dataclass(frozen=True, slots=True)
class Item:
    """One part of an answer, as stored: a service (chosen: rank None; ranked: 1 = most wanted), a
    rating of the answer's station, or a free text."""

    question: int
    service_id: str | None = None
    rank: int | None = None
    rating: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Answerer:
    """Whose answer (the resident's digest) and who entered it (the resident, or staff in a session)."""

    resident_digest: str
    entered_by: str
    session_id: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class Receipt:
    questionnaire_id: str
    station_id: str
    channel: str
    answered_at: datetime
    revision: int  # 1 for a first answer; more when it replaced an earlier one


def area_of(station: StationRecord) -> Area:
    """Urban or rural, from the stations data: a village (村) station of a town is rural; a subdistrict
    (街道, urban by definition) and a town's residential areas (居民区) and centre are urban."""
    if station.town.endswith("街道"):
        return Area.URBAN
    own_name = station.name.removeprefix(station.town)
    return Area.RURAL if "村" in own_name and "居民区" not in own_name else Area.URBAN


def questions_json(questions: Sequence[Question]) -> str:
    return json.dumps([q.to_json() for q in questions], ensure_ascii=False)


def questions_from_json(text: str) -> tuple[Question, ...]:
    return tuple(Question.from_json(q) for q in json.loads(text))
