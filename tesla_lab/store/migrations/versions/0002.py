"""Schema version 2: the statements of ``MIGRATIONS[1]`` (tesla_lab/store/schema.py, the one definition)."""

from tesla_lab.store.alembic_run import apply_step

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_step(2)
