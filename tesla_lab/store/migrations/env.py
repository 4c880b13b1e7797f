"""Alembic's environment for the store: migrate on the connection tesla_lab passes in (never from a URL here)."""

from alembic import context

from tesla_lab.store.alembic_run import run_env

if hasattr(context, "config"):  # run by Alembic; a plain import (pytest's doctest scan) does nothing
    run_env(context)
