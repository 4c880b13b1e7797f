"""Schema version 3: the statements of ``MIGRATIONS[2]`` (tesla_lab/store/schema.py, the one definition)."""

from tesla_lab.store.alembic_run import apply_step

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_step(3)
