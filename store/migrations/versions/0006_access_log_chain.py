"""access log chain: each resident's rows numbered and MACed in order, and a head per resident

Rows written before this migration keep NULL ``seq``/``mac`` (the key is not known to migrations);
the resident's next access-log write chains them first (``access/chain.py``).

Revision ID: 0006_access_log_chain
Revises: 0002_access
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_access_log_chain"
down_revision = "0002_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
    op.create_index("uq_access_log_resident_seq", "access_log", ["resident_digest", "seq"], unique=True)
    op.create_table(
        "access_log_heads",
        sa.Column("resident_digest", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("anchor_mac", sa.String(64), nullable=False),
        sa.Column("anchor_tag", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("access_log_heads")
    op.drop_index("uq_access_log_resident_seq", table_name="access_log")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("mac")
        batch.drop_column("seq")
