"""Imports every module that defines tables, so metadata (and Alembic) sees them all."""

from storage import models, raci_models, retro_models, slack_models, teams_models  # noqa: F401
