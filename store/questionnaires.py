"""Planners' questionnaires and residents' answers to them.

One answer per resident per questionnaire, by the database: a unique constraint on
(questionnaire, resident digest). No ID number is stored: residents are known by their keyed digest.
Each answer's station, town and urban/rural area are copied onto its row when it is written (from the
stations department's data), so results are ``GROUP BY`` queries over two tables, never a loop over
every answer in Python. The items of an answer (services chosen or ranked, a rating, a free text) are
rows of their own; an answer that replaces an earlier one replaces all of its items.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.appointments import UtcDateTime
from store.models import Base


class QuestionnaireRow(Base):
    """A questionnaire as a planner published it; ``questions`` and the targets are JSON text."""

    __tablename__ = "questionnaires"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    title_en: Mapped[str] = mapped_column(Text, nullable=False)
    questions: Mapped[str] = mapped_column(Text, nullable=False)
    towns: Mapped[str] = mapped_column(Text, nullable=False)
    station_ids: Mapped[str] = mapped_column(Text, nullable=False)
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    published_by: Mapped[str] = mapped_column(String(64), nullable=False)  # the planner's digest
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AnswerRow(Base):
    """One resident's answer to one questionnaire (the latest: a second answer replaces it)."""

    __tablename__ = "questionnaire_answers"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "resident_digest", name="uq_questionnaire_answer_resident"),
        Index("ix_questionnaire_answers_station", "questionnaire_id", "station_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    questionnaire_id: Mapped[str] = mapped_column(ForeignKey("questionnaires.id"), nullable=False)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    station_id: Mapped[str] = mapped_column(String(80), nullable=False)
    town: Mapped[str] = mapped_column(String(80), nullable=False)
    area: Mapped[str] = mapped_column(String(8), nullable=False)  # URBAN or RURAL
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    entered_by: Mapped[str] = mapped_column(String(64), nullable=False)  # the resident's or staff's digest
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # staff: the assisted session
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, then +1 for each replacement


class AnswerItemRow(Base):
    """One part of an answer: a service chosen (``rank`` None) or ranked, a rating, or a free text."""

    __tablename__ = "questionnaire_items"
    __table_args__ = (
        Index("ix_questionnaire_items_answer", "answer_id"),
        Index("ix_questionnaire_items_questionnaire", "questionnaire_id", "question"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_answers.id"), nullable=False)
    questionnaire_id: Mapped[str] = mapped_column(String(32), nullable=False)
    question: Mapped[int] = mapped_column(Integer, nullable=False)
    service_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)  # stored, never logged
