"""Service-demand questionnaires: what a planner may publish and what a resident's answer may say.

Plain values and plain checks, no GraphQL and no database (``store.questionnaire_book`` keeps them,
``resolvers.questionnaire_results`` turns the stored answers into results). A questionnaire targets a
set of towns and/or stations; a resident answers for one station (where they are served: the kiosk's,
the staff member's, or the one they choose in the app), and that station's town and urban/rural area
are what the answer is counted under.

Who: a ``planner`` (district-wide: every town of the district; tokens carry no narrower scope) publishes,
closes and reads results; residents answer for themselves; station staff enter a villager's paper
answers inside an assisted session the villager consented to for ``QUESTIONNAIRES``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from access.policy import AccessDenied
from domain.questionnaires import (
    SERVICE_KINDS,
    Draft,
    Item,
    Question,
    QuestionKind,
    Questionnaire,
)
from domain.records import StationRecord
from identity.principal import Principal, Role
from resolvers.errors import InputError

MAX_TITLE = 200
MAX_QUESTIONS = 20
MAX_QUESTION_TEXT = 500
MAX_OPTIONS = 50
MAX_TARGETS = 500
MAX_FREE_TEXT = 1000
MAX_OPEN_DAYS = 366


@dataclass(frozen=True, slots=True)
class GivenAnswer:
    """One question's answer as the client sent it (which fields apply depends on the question)."""

    question: int
    service_ids: tuple[str, ...] = ()
    rating: int | None = None
    text: str | None = None


def require_planner(principal: Principal | None) -> Principal:
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "questionnaires are published and read by planners")
    if principal.role is not Role.PLANNER:
        raise AccessDenied("FORBIDDEN", "only a planner publishes questionnaires and reads their results")
    return principal


def _text(argument: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InputError(argument, "must not be empty")
    if len(value) > limit:
        raise InputError(argument, f"at most {limit} characters")
    return value


def check_question(index: int, question: Question, catalogue: Mapping[str, object]) -> Question:
    where = f"questions[{index}]"
    text = _text(f"{where}.text", question.text, MAX_QUESTION_TEXT)
    text_en = _text(f"{where}.textEn", question.text_en, MAX_QUESTION_TEXT)
    if question.kind not in SERVICE_KINDS:
        if question.service_ids or question.max_choices:
            raise InputError(f"{where}.serviceIds", f"a {question.kind.value} question lists no services")
        return Question(question.kind, text, text_en)
    options = question.service_ids
    if not 1 <= len(options) <= MAX_OPTIONS:
        raise InputError(f"{where}.serviceIds", f"between 1 and {MAX_OPTIONS} services")
    if len(set(options)) != len(options):
        raise InputError(f"{where}.serviceIds", "a service is listed twice")
    unknown = [s for s in options if s not in catalogue]
    if unknown:
        listed = ", ".join(s[:40] for s in unknown[:5])
        raise InputError(f"{where}.serviceIds", f"not in the catalogue: {listed}")
    choices = question.max_choices or len(options)
    if not 1 <= choices <= len(options):
        raise InputError(f"{where}.maxChoices", f"between 1 and the {len(options)} services listed")
    return Question(question.kind, text, text_en, options, choices)


def check_draft(
    draft: Draft, catalogue: Mapping[str, object], stations: Sequence[StationRecord], now: datetime
) -> Draft:
    """The draft with its texts trimmed, or the first ``InputError`` (service ids from the catalogue,
    towns and stations from the stations data, times that make sense)."""
    title = _text("title", draft.title, MAX_TITLE)
    title_en = _text("titleEn", draft.title_en, MAX_TITLE)
    if not 1 <= len(draft.questions) <= MAX_QUESTIONS:
        raise InputError("questions", f"between 1 and {MAX_QUESTIONS} questions")
    questions = tuple(check_question(i, q, catalogue) for i, q in enumerate(draft.questions))
    if not draft.towns and not draft.station_ids:
        raise InputError("towns", "name the towns or the stations the questionnaire is for")
    if len(draft.towns) + len(draft.station_ids) > MAX_TARGETS:
        raise InputError("stationIds", f"at most {MAX_TARGETS} towns and stations")
    known_towns = {s.town for s in stations}
    known_stations = {s.id for s in stations}
    strange_towns = [t for t in draft.towns if t not in known_towns]
    if strange_towns:
        raise InputError("towns", f"no station lies in: {', '.join(t[:40] for t in strange_towns[:5])}")
    strange_stations = [s for s in draft.station_ids if s not in known_stations]
    if strange_stations:
        raise InputError("stationIds", f"no such station: {', '.join(s[:40] for s in strange_stations[:5])}")
    if draft.opens_at.tzinfo is None or draft.closes_at.tzinfo is None:
        raise InputError("opensAt", "give times with their offset")
    if draft.opens_at > now + timedelta(days=MAX_OPEN_DAYS):
        raise InputError("opensAt", f"within {MAX_OPEN_DAYS} days from now")
    if draft.closes_at <= max(draft.opens_at, now):
        raise InputError("closesAt", "must be after it opens, and in the future")
    if draft.closes_at - draft.opens_at > timedelta(days=MAX_OPEN_DAYS):
        raise InputError("closesAt", f"open at most {MAX_OPEN_DAYS} days")
    towns = tuple(dict.fromkeys(draft.towns))
    station_ids = tuple(dict.fromkeys(draft.station_ids))
    return Draft(title, title_en, questions, towns, station_ids, draft.opens_at, draft.closes_at)


def items_of(questionnaire: Questionnaire, given: Sequence[GivenAnswer]) -> list[Item]:
    """The stored items of an answer, or ``InputError`` (never echoing a free text back)."""
    if not given:
        raise InputError("answers", "answer at least one question")
    seen: set[int] = set()
    items: list[Item] = []
    for answer in given:
        where = f"answers[question {answer.question}]"
        if not 0 <= answer.question < len(questionnaire.questions):
            raise InputError(where, "no such question in this questionnaire")
        if answer.question in seen:
            raise InputError(where, "answered twice")
        seen.add(answer.question)
        items += _items(questionnaire.questions[answer.question], answer, where)
    return items


def _items(question: Question, answer: GivenAnswer, where: str) -> list[Item]:
    if question.kind in SERVICE_KINDS:
        if answer.rating is not None or answer.text is not None:
            raise InputError(where, "a service question takes serviceIds only")
        chosen = answer.service_ids
        if not 1 <= len(chosen) <= question.max_choices:
            raise InputError(where, f"between 1 and {question.max_choices} services")
        if len(set(chosen)) != len(chosen):
            raise InputError(where, "a service is given twice")
        if any(s not in question.service_ids for s in chosen):
            raise InputError(where, "only the services the question lists")
        ranked = question.kind is QuestionKind.RANK_SERVICES
        return [
            Item(answer.question, service_id=s, rank=i + 1 if ranked else None) for i, s in enumerate(chosen)
        ]
    if answer.service_ids:
        raise InputError(where, "this question lists no services")
    if question.kind is QuestionKind.RATE_STATION:
        if answer.text is not None or answer.rating is None or not 1 <= answer.rating <= 5:
            raise InputError(where, "a rating from 1 to 5")
        return [Item(answer.question, rating=answer.rating)]
    if answer.rating is not None or answer.text is None:
        raise InputError(where, "a free-text question takes text")
    text = answer.text.strip()
    if not text or len(text) > MAX_FREE_TEXT:  # the message names the limit, never the text
        raise InputError(where, f"between 1 and {MAX_FREE_TEXT} characters")
    return [Item(answer.question, text=text)]
