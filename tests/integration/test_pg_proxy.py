"""The PostgreSQL proxy the fault tests and latency benchmarks stand on does what they assume of it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, exc

from storage.db import normalise_url
from tests.pg_proxy import proxied

pytestmark = pytest.mark.postgres


def test_it_adds_the_round_trip_it_is_asked_for_and_keeps_every_byte_in_order(postgres_url: str) -> None:
    with proxied(postgres_url, rtt_ms=2) as proxy:
        engine = create_engine(normalise_url(proxy.url))
        try:
            with engine.connect() as conn:
                trips = []
                for _ in range(50):
                    started = time.perf_counter()
                    conn.exec_driver_sql("SELECT 1")
                    trips.append(time.perf_counter() - started)
            assert min(trips) >= 0.002, "no round trip is quicker than the added 2 ms"
            with (
                engine.connect() as conn
            ):  # an answer of many chunks, each held 1 ms, arrives whole and in order
                rows = conn.exec_driver_sql(
                    "SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g"
                ).all()
            assert [r[0] for r in rows] == list(range(1, 20001))
        finally:
            engine.dispose()


def test_a_restart_cuts_open_connections_refuses_new_ones_then_accepts_again(postgres_url: str) -> None:
    with proxied(postgres_url) as proxy:
        engine = create_engine(normalise_url(proxy.url), pool_size=1, max_overflow=0)
        try:
            held = engine.connect()
            assert held.exec_driver_sql("SELECT 1").scalar() == 1
            assert proxy.down() == 1
            with pytest.raises(exc.OperationalError, match=r"closed the connection|consuming input"):
                held.exec_driver_sql("SELECT 1")
            held.close()
            with pytest.raises(exc.OperationalError, match="refused"), engine.connect():
                pass
            proxy.up()
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            engine.dispose()
