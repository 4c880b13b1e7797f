"""Schema version 1: the statements of ``MIGRATIONS[0]`` (tesla_lab/store/schema.py, the one definition)."""

from tesla_lab.store.alembic_run import apply_step

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_step(1)
