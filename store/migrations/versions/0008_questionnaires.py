"""questionnaires: planners' questionnaires, one answer per resident (by digest), and the answers' items

Revision ID: 0008_questionnaires
Revises: 0007_payments
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_questionnaires"
down_revision = "0007_payments"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("towns", sa.Text(), nullable=False),
        sa.Column("station_ids", sa.Text(), nullable=False),
        sa.Column("opens_at", WHEN, nullable=False),
        sa.Column("closes_at", WHEN, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("published_at", WHEN, nullable=False),
    )
    op.create_table(
        "questionnaire_answers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("questionnaire_id", sa.String(32), sa.ForeignKey("questionnaires.id"), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(80), nullable=False),
        sa.Column("town", sa.String(80), nullable=False),
        sa.Column("area", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("answered_at", WHEN, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.UniqueConstraint("questionnaire_id", "resident_digest", name="uq_questionnaire_answer_resident"),
    )
    op.create_index(
        "ix_questionnaire_answers_station", "questionnaire_answers", ["questionnaire_id", "station_id"]
    )
    op.create_table(
        "questionnaire_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.Integer(), sa.ForeignKey("questionnaire_answers.id"), nullable=False),
        sa.Column("questionnaire_id", sa.String(32), nullable=False),
        sa.Column("question", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(40), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
    )
    op.create_index("ix_questionnaire_items_answer", "questionnaire_items", ["answer_id"])
    op.create_index(
        "ix_questionnaire_items_questionnaire", "questionnaire_items", ["questionnaire_id", "question"]
    )


def downgrade() -> None:
    op.drop_index("ix_questionnaire_items_questionnaire", table_name="questionnaire_items")
    op.drop_index("ix_questionnaire_items_answer", table_name="questionnaire_items")
    op.drop_table("questionnaire_items")
    op.drop_index("ix_questionnaire_answers_station", table_name="questionnaire_answers")
    op.drop_table("questionnaire_answers")
    op.drop_table("questionnaires")
