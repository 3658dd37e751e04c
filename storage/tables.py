"""Imports every module that defines tables, so metadata (and Alembic) sees them all."""

from storage import models  # noqa: F401
from storage import raci_models  # noqa: F401
