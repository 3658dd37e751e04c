"""Reads and writes of the Slack adapter's own tables (see ``storage.slack.models``)."""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from storage.db import session_scope, table_of
from storage.kernel.models import WorkerBeatRow
from storage.slack.models import SlackEventRow, SlackInstallationRow, SlackOAuthStateRow

EVENT_MEMORY_SECONDS = 24 * 3600
"""Slack retries an event for about an hour; a day of event ids is plenty."""
MAX_ATTEMPTS = 3
"""Owed work is started at most this often: a request that killed its process twice is given up."""

EventC = table_of(SlackEventRow).c
BeatC = table_of(WorkerBeatRow).c


@dataclass(frozen=True)
class OwedRequest:
    """A request acknowledged to Slack whose work never finished, now taken over."""

    event_id: str
    body: str
    attempts: int


class SlackRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_tables(self) -> None:
        names = ("slack_installation", "slack_oauth_state", "slack_event")
        SQLModel.metadata.create_all(self.engine, tables=[SQLModel.metadata.tables[n] for n in names])

    def _session(self) -> AbstractContextManager[Session]:
        return session_scope(self.engine)

    # --- events ----------------------------------------------------------------------
    def claim_event(self, event_id: str, workspace: str, now: float, body: str | None = None,
                    by: str | None = None) -> bool:
        """``True`` the first time an event id is seen, ``False`` for every retry of it.

        With ``body``, the request is kept as owed work taken by ``by`` until ``finish_event``."""
        row = SlackEventRow(event_id=event_id, workspace=workspace, received_at=now, body=body,
                            taken_by=by if body is not None else None, attempts=1 if body is not None else 0)
        try:
            with self._session() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def finish_event(self, event_id: str) -> None:
        """The work behind the request is done (or given up): forget the request, keep its id."""
        with self._session() as session:
            session.execute(update(SlackEventRow).where(EventC.event_id == event_id).values(body=None))

    def take_owed(self, by: str, silent_since: datetime, stale_before: float, limit: int = 50,
                  mine_too: bool = False, running: frozenset[str] = frozenset()) -> list[OwedRequest]:
        """Owed work whose taker's heartbeat stopped (at or before ``silent_since``), or whose taker was never
        heard and which was received before ``stale_before`` (a lease, as for due work), taken by ``by`` with
        a compare-and-set each, so that of two processes looking at once only one gets it.

        ``mine_too`` (once, at start-up) takes ``by``'s own owed work as well, but for ``running``: a restarted
        process may come back under the same worker id (a container's host name and pid)."""
        silent = select(BeatC.worker).where(BeatC.beat_at <= silent_since)
        heard = select(BeatC.worker)
        orphaned = or_(EventC.taken_by.in_(silent),
                       and_(or_(EventC.taken_by.is_(None), EventC.taken_by.not_in(heard)),
                            EventC.received_at < stale_before))
        if mine_too:
            orphaned = or_(orphaned, EventC.taken_by == by)
        else:  # a live process's own work is its own business, whatever its heartbeat looks like
            orphaned = and_(orphaned, or_(EventC.taken_by.is_(None), EventC.taken_by != by))
        with self._session() as session:
            rows = session.execute(select(EventC.event_id, EventC.body, EventC.taken_by, EventC.attempts)
                                   .where(EventC.body.is_not(None), orphaned)
                                   .order_by(EventC.received_at).limit(limit)).all()
        taken: list[OwedRequest] = []
        for event_id, body, taker, attempts in rows:
            if event_id in running or body is None:
                continue
            same = EventC.taken_by.is_(None) if taker is None else EventC.taken_by == taker
            with self._session() as session:
                if attempts >= MAX_ATTEMPTS:
                    session.execute(update(SlackEventRow).where(EventC.event_id == event_id).values(body=None))
                    continue
                won = session.execute(update(SlackEventRow)
                                      .where(EventC.event_id == event_id, EventC.body.is_not(None), same,
                                             EventC.attempts == attempts)
                                      .values(taken_by=by, attempts=attempts + 1))
            if int(getattr(won, "rowcount", 0) or 0) == 1:
                taken.append(OwedRequest(event_id, body, attempts + 1))
        return taken

    def forget_events_before(self, cutoff: float) -> int:
        with self._session() as session:
            result = session.execute(delete(SlackEventRow).where(SlackEventRow.received_at < cutoff))  # type: ignore[arg-type]
            return int(getattr(result, "rowcount", 0) or 0)

    # --- installations ---------------------------------------------------------------
    def save_installation(self, row: SlackInstallationRow) -> None:
        with self._session() as session:
            session.merge(row)

    def find_installation(self, workspace: str) -> SlackInstallationRow | None:
        with self._session() as session:
            return session.get(SlackInstallationRow, workspace)

    def delete_installation(self, workspace: str) -> None:
        with self._session() as session:
            row = session.get(SlackInstallationRow, workspace)
            if row is not None:
                session.delete(row)

    def installed_workspaces(self) -> list[str]:
        with self._session() as session:
            return list(session.exec(select(SlackInstallationRow.workspace)).all())

    # --- OAuth state -----------------------------------------------------------------
    def issue_state(self, now: float, ttl: float) -> str:
        state = secrets.token_urlsafe(24)
        with self._session() as session:
            session.add(SlackOAuthStateRow(state=state, expires_at=now + ttl))
        return state

    def consume_state(self, state: str, now: float) -> bool:
        """Use a state once: the delete is the check, so two processes cannot both accept it."""
        with self._session() as session:
            result = session.execute(delete(SlackOAuthStateRow).where(
                SlackOAuthStateRow.state == state, SlackOAuthStateRow.expires_at >= now))  # type: ignore[arg-type]
            return int(getattr(result, "rowcount", 0) or 0) == 1
