"""appointments and applications: station slots, bookings, and submitted applications by idempotency key

Revision ID: 0003_appointments
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_appointments"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
ACTIVE = sa.text("status = 'BOOKED'")


def upgrade() -> None:
    op.create_table(
        "appointment_slots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(80), nullable=False),
        sa.Column("service_id", sa.String(40), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.UniqueConstraint("station_id", "service_id", "starts_at", name="uq_slot_station_service_start"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_within_capacity"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("slot_id", sa.Integer(), sa.ForeignKey("appointment_slots.id"), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(80), nullable=False),
        sa.Column("service_id", sa.String(40), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("booked_by", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("cancelled_at", WHEN, nullable=True),
    )
    op.create_index("ix_appointments_slot_id", "appointments", ["slot_id"])
    op.create_index("ix_appointment_resident", "appointments", ["resident_digest", "starts_at"])
    op.create_index(
        "uq_appointment_resident_start_active",
        "appointments",
        ["resident_digest", "starts_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "application_submissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("principal_digest", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("resident_digest", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(40), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("claim", sa.String(32), nullable=False),
        sa.Column("claimed_at", WHEN, nullable=False),
        sa.Column("case_ref", sa.String(120), nullable=True),
        sa.Column("department_status", sa.String(80), nullable=True),
        sa.Column("case_status", sa.String(16), nullable=True),
        sa.Column("submitted_at", WHEN, nullable=True),
        sa.UniqueConstraint("principal_digest", "idempotency_key", name="uq_submission_principal_key"),
    )


def downgrade() -> None:
    op.drop_table("application_submissions")
    op.drop_index("uq_appointment_resident_start_active", table_name="appointments")
    op.drop_index("ix_appointment_resident", table_name="appointments")
    op.drop_index("ix_appointments_slot_id", table_name="appointments")
    op.drop_table("appointments")
    op.drop_table("appointment_slots")
