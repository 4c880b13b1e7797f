"""Schema version 4: the statements of ``MIGRATIONS[3]`` (tesla_lab/store/schema.py, the one definition)."""

from tesla_lab.store.alembic_run import apply_step

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_step(4)
