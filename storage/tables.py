"""Imports every module that defines tables, so metadata (and Alembic) sees them all, whichever of them the
caller happened to import first."""

from storage.kernel import models as kernel_models  # noqa: F401
from storage.raci import models as raci_models  # noqa: F401
from storage.retros import models as retros_models  # noqa: F401
from storage.slack import models as slack_models  # noqa: F401
from storage.teams import models as teams_models  # noqa: F401
