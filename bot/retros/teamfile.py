"""The team file's ``retros:`` key as a ``TeamSection``: checked by ``bot.retros.config``, written here.

Applying a section replaces each listed retro's settings and drops its stored plan
fingerprint, so the coming slots are planned again from the new settings.
"""

from __future__ import annotations

from bot.kernel.teamfile import TeamFile, TeamSection
from bot.retros.config import parse_retros, validate
from bot.retros.context import RetroContext, plan_state_key

SECTION = "retros"


def apply_team_section(ctx: RetroContext, tf: TeamFile) -> None:
    retros, _errors = parse_retros(tf)
    for r in retros:
        ctx.store.upsert_retro(r)
        ctx.app.store.kv_delete(r.workspace, plan_state_key(r))


def team_section(ctx: RetroContext | None = None) -> TeamSection:
    """The ``retros:`` section; without a context it only checks (``meridian rotation plan`` writes nothing)."""
    if ctx is None:
        return TeamSection(SECTION, validate)
    return TeamSection(SECTION, validate, lambda tf: apply_team_section(ctx, tf))
