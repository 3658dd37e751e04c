"""What every retro use case works with: the app, the retros' own store and the sprint-numbers port.

The capability (``bot.retros.install.Retros``) builds one at install and hands it to the
plan, the flow, the commands, the home section and the team-file section, so none of
them looks anything up on the app by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.ports import SprintNumbers
from bot.kernel.timekeeping import zone_label
from bot.retros.model import Occurrence, Retro, RetroStore


@dataclass(frozen=True)
class RetroContext:
    app: Meridian
    store: RetroStore
    numbers: SprintNumbers | None = None
    """The sprint in numbers for a thread's opening message; ``None`` leaves that part out."""


# --- keys: what, for whom, which occurrence (DESIGN §8) --------------------------------------
def key(r: Retro | Occurrence, *parts: object) -> str:
    name = r.name if isinstance(r, Retro) else r.retro
    return ":".join(["retro", r.workspace, name, *(str(p) for p in parts)])


def thread_key(r: Retro, day: date) -> str:
    return key(r, day, "thread")


def plan_state_key(r: Retro) -> str:
    return f"retro:{r.name}:plan"


def notices_key(r: Retro) -> str:
    """Where re-plan notices wait until they are delivered as ``retro.replanned``."""
    return f"retro:{r.name}:replanned"


# --- how times read in messages ---------------------------------------------------------------
def fmt_local(instant: datetime, tz: str) -> str:
    local = instant.astimezone(Member("", "", "", tz=tz).zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} {zone_label(local, tz)}"


def fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"
