"""Questionnaires in the gateway's store: publish, close, answer (one per resident), and tallies.

``answer`` is one transaction: an ``INSERT ... ON CONFLICT (questionnaire, resident) DO UPDATE`` of the
answer row — on PostgreSQL the conflicting row stays locked until commit, SQLite has one writer — then
the old items deleted and the new ones inserted. Two answers of one resident racing on two gateway
processes leave exactly one answer, the later one whole. ``tallies`` are ``GROUP BY`` queries by
station: a few hundred rows whatever the number of answers (``resolvers.questionnaire_results`` rolls
them up to towns, areas and the district and decides what may be shown).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.questionnaires import (
    Answerer,
    Draft,
    Item,
    Questionnaire,
    Receipt,
    area_of,
    questions_from_json,
    questions_json,
)
from domain.records import StationRecord
from store.questionnaires import AnswerItemRow, AnswerRow, QuestionnaireRow

Clock = Callable[[], datetime]
MAX_TEXTS = 1000  # free texts handed to results per question (the first by text order)


class QuestionnaireError(Exception):
    """A refusal the client can act on; ``code`` becomes ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StationCount:
    station_id: str
    town: str
    area: str
    answers: int


@dataclass(frozen=True, slots=True)
class ServiceTally:
    station_id: str
    question: int
    service_id: str
    named: int  # answers that chose or ranked it
    rank_sum: int  # ranked questions: the sum of its ranks (1 = most wanted); 0 for chosen ones


@dataclass(frozen=True, slots=True)
class RatingTally:
    station_id: str
    question: int
    count: int
    total: int  # sum of the ratings: means roll up exactly


@dataclass(frozen=True, slots=True)
class Tallies:
    stations: list[StationCount]
    services: list[ServiceTally]
    ratings: list[RatingTally]
    texts: dict[int, list[str]]  # per free-text question, sorted: no order that follows the answers


def _questionnaire(row: QuestionnaireRow) -> Questionnaire:
    return Questionnaire(
        row.id,
        row.title,
        row.title_en,
        questions_from_json(row.questions),
        tuple(json.loads(row.towns)),
        tuple(json.loads(row.station_ids)),
        row.opens_at,
        row.closes_at,
        row.published_at,
    )


class QuestionnaireBook:
    """The service object (``app.state.questionnaires``): the store, and the clock every open/closed
    decision reads (tests set their own)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utc_now) -> None:
        self.sessions = sessions
        self.clock = clock

    async def publish(self, draft: Draft, planner_digest: str) -> Questionnaire:
        row = QuestionnaireRow(
            id=secrets.token_hex(12),
            title=draft.title,
            title_en=draft.title_en,
            questions=questions_json(draft.questions),
            towns=json.dumps(list(draft.towns), ensure_ascii=False),
            station_ids=json.dumps(list(draft.station_ids)),
            opens_at=draft.opens_at,
            closes_at=draft.closes_at,
            published_by=planner_digest,
            published_at=self.clock(),
        )
        async with self.sessions() as session, session.begin():
            session.add(row)
        return _questionnaire(row)

    async def get(self, questionnaire_id: str) -> Questionnaire:
        if len(questionnaire_id) > 32:
            raise QuestionnaireError("NOT_FOUND", "no such questionnaire")
        async with self.sessions() as session:
            row = await session.get(QuestionnaireRow, questionnaire_id)
        if row is None:
            raise QuestionnaireError("NOT_FOUND", "no such questionnaire")
        return _questionnaire(row)

    async def close(self, questionnaire_id: str) -> Questionnaire:
        """Closed from now on (one already closed keeps its closing time)."""
        now = self.clock()
        found = await self.get(questionnaire_id)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(QuestionnaireRow)
                .where(QuestionnaireRow.id == found.id, QuestionnaireRow.closes_at > now)
                .values(closes_at=now)
            )
        return await self.get(questionnaire_id)

    async def open_for(self, station: StationRecord | None, town: str | None) -> list[Questionnaire]:
        """Open questionnaires a resident at ``station`` (or of ``town``) may answer, newest first."""
        now = self.clock()
        async with self.sessions() as session:
            rows = await session.scalars(
                select(QuestionnaireRow)
                .where(QuestionnaireRow.opens_at <= now, QuestionnaireRow.closes_at > now)
                .order_by(QuestionnaireRow.published_at.desc(), QuestionnaireRow.id)
            )
            found = [_questionnaire(r) for r in rows]
        if station is not None:
            return [q for q in found if q.targets(station)]
        return [q for q in found if town in q.towns]

    async def answer(
        self, questionnaire: Questionnaire, station: StationRecord, answerer: Answerer, items: Sequence[Item]
    ) -> Receipt:
        """Store the resident's answer, replacing an earlier one; refused unless the questionnaire is
        open and targets ``station``."""
        now = self.clock()
        if now < questionnaire.opens_at:
            raise QuestionnaireError("QUESTIONNAIRE_NOT_OPEN", "this questionnaire is not open yet")
        if not questionnaire.targets(station):
            raise QuestionnaireError("STATION_NOT_TARGETED", "this questionnaire is not for that station")
        values = {
            "questionnaire_id": questionnaire.id,
            "resident_digest": answerer.resident_digest,
            "station_id": station.id,
            "town": station.town,
            "area": area_of(station).value,
            "channel": answerer.channel,
            "entered_by": answerer.entered_by,
            "session_id": answerer.session_id,
            "answered_at": now,
            "revision": 1,
        }
        async with self.sessions() as session, session.begin():
            # closing is checked inside the transaction, against the stored closing time
            closes_at = await session.scalar(
                select(QuestionnaireRow.closes_at).where(QuestionnaireRow.id == questionnaire.id)
            )
            if closes_at is None or closes_at <= now:
                raise QuestionnaireError("QUESTIONNAIRE_CLOSED", "this questionnaire is closed")
            answer_id, revision = await _upsert(session, values)
            await session.execute(delete(AnswerItemRow).where(AnswerItemRow.answer_id == answer_id))
            if items:
                await session.execute(
                    insert(AnswerItemRow),
                    [
                        {
                            "answer_id": answer_id,
                            "questionnaire_id": questionnaire.id,
                            "question": i.question,
                            "service_id": i.service_id,
                            "rank": i.rank,
                            "rating": i.rating,
                            "text": i.text,
                        }
                        for i in items
                    ],
                )
        return Receipt(questionnaire.id, station.id, answerer.channel, now, revision)

    async def answers_count(self, questionnaire_id: str) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).where(AnswerRow.questionnaire_id == questionnaire_id)
            )
        return int(count or 0)

    async def tallies(self, questionnaire_id: str) -> Tallies:
        """Every count results need, grouped by station in SQL."""
        a, i = AnswerRow, AnswerItemRow
        joined = select().select_from(i).join(a, a.id == i.answer_id)
        async with self.sessions() as session:
            stations = await session.execute(
                select(a.station_id, a.town, a.area, func.count())
                .where(a.questionnaire_id == questionnaire_id)
                .group_by(a.station_id, a.town, a.area)
            )
            services = await session.execute(
                joined.add_columns(
                    a.station_id, i.question, i.service_id, func.count(), func.coalesce(func.sum(i.rank), 0)
                )
                .where(i.questionnaire_id == questionnaire_id, i.service_id.is_not(None))
                .group_by(a.station_id, i.question, i.service_id)
            )
            ratings = await session.execute(
                joined.add_columns(a.station_id, i.question, func.count(), func.sum(i.rating))
                .where(i.questionnaire_id == questionnaire_id, i.rating.is_not(None))
                .group_by(a.station_id, i.question)
            )
            texts = await session.execute(
                select(i.question, i.text)
                .where(i.questionnaire_id == questionnaire_id, i.text.is_not(None))
                .order_by(i.question, i.text)
            )
            by_question: dict[int, list[str]] = {}
            for question, text in texts:
                kept = by_question.setdefault(int(question), [])
                if len(kept) < MAX_TEXTS:
                    kept.append(str(text))
        return Tallies(
            [StationCount(s, t, ar, int(n)) for s, t, ar, n in stations],
            [ServiceTally(s, int(q), str(sv), int(n), int(r)) for s, q, sv, n, r in services],
            [RatingTally(s, int(q), int(n), int(t)) for s, q, n, t in ratings],
            by_question,
        )


async def _upsert(session: AsyncSession, values: Mapping[str, object]) -> tuple[int, int]:
    """(answer id, revision): inserted, or the resident's earlier answer replaced (revision + 1)."""
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AnswerRow).values(**values)
    replaced = {k: statement.excluded[k] for k in values if k not in ("questionnaire_id", "resident_digest")}
    replaced["revision"] = AnswerRow.revision + 1
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AnswerRow.questionnaire_id, AnswerRow.resident_digest], set_=replaced
        ).returning(AnswerRow.id, AnswerRow.revision)
    )
    answer_id, revision = result.one()
    return int(answer_id), int(revision)
