"""Imports every module that defines tables, so metadata (and Alembic) sees them all."""

from storage.kernel import models  # noqa: F401
