"""Imports every module that defines tables, so metadata (and Alembic) sees them all."""

from storage import (
    models,  # noqa: F401
    slack_models,  # noqa: F401
)
