"""Reads and writes of the Slack adapter's own tables (see ``storage.slack.models``)."""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from storage.db import session_scope
from storage.slack.models import SlackEventRow, SlackInstallationRow, SlackOAuthStateRow

EVENT_MEMORY_SECONDS = 24 * 3600
"""Slack retries an event for about an hour; a day of event ids is plenty."""


class SlackRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_tables(self) -> None:
        names = ("slack_installation", "slack_oauth_state", "slack_event")
        SQLModel.metadata.create_all(self.engine, tables=[SQLModel.metadata.tables[n] for n in names])

    def _session(self) -> AbstractContextManager[Session]:
        return session_scope(self.engine)

    # --- events ----------------------------------------------------------------------
    def claim_event(self, event_id: str, workspace: str, now: float) -> bool:
        """``True`` the first time an event id is seen, ``False`` for every retry of it."""
        try:
            with self._session() as session:
                session.add(SlackEventRow(event_id=event_id, workspace=workspace, received_at=now))
        except IntegrityError:
            return False
        return True

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
