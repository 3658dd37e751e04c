"""Fuzzing the team-file loader: any input loads, or is refused as ``FILE:LINE: reason`` lines, never a traceback.

Two kinds of input: team-shaped YAML built from strategies (every section's keys, with values of
every YAML type, hostile text and numbers, then sometimes spliced with YAML syntax), and raw
bytes (random, or the demo file with bytes replaced). The example counts are small so the suite
stays fast; ``MERIDIAN_FUZZ_EXAMPLES=2000`` runs a longer session, and the runs are derandomized
so a failure reproduces on every machine.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bootstrap import team_sections
from bot.kernel.teamfile import (
    MEMBER_KEYS,
    STANDUP_KEYS,
    TeamFile,
    TeamFileError,
    TeamSection,
    load_team,
    parse_team,
)
from bot.retros.config import RETRO_KEYS

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "examples" / "team.yaml").read_bytes()
SECTIONS: list[TeamSection] = team_sections()
EXAMPLES = int(os.environ.get("MERIDIAN_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE_TEXT = ["false", "0", "off", "yes", "09:30", "25:00", "2027-02-30", "2027-01-02..2026-12-24", "UTC",
                "Mars/Olympus", "Europe/Berlin", "mon", "funday", "#ml-team", "all", "2w", "60m", "0m", "-5h",
                "a\x00b", "\x1b[31m", "line\nbreak", "<!channel>", "é" * 50, "9" * 5000, ".nan", "~", "*x", "&x"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(HOSTILE_TEXT),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)


def entry(keys: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping of mostly known keys (and now and then an unknown one) to any values."""
    return st.dictionaries(st.sampled_from(sorted(keys | {"colour"})), values, max_size=len(keys) + 1)


SOURCE_KEYS = {"kind", "name", "uri", "url", "experiments", "projects", "entity", "metric", "goal", "models",
               "page_size", "timeout", "stale_after", "lookback", "project", "owner", "drift_share", "prometheus",
               "monitoring", "query", "warn_above", "alert_below"}
DIGEST_KEYS = {"kind", "channel", "at", "days", "sources", "alerts_channel", "check_every", "cooldown"}
RACI_KEYS = {"activity", "R", "A", "C", "I", "aliases", "description", "channel"}

team_data = st.fixed_dictionaries(
    {"workspace": st.one_of(st.just("acme-ml"), scalars),
     "members": st.one_of(st.lists(entry(MEMBER_KEYS), max_size=3), values)},
    optional={"standups": st.one_of(st.lists(entry(STANDUP_KEYS), max_size=2), scalars),
              "raci": st.one_of(st.lists(entry(RACI_KEYS), max_size=2), scalars),
              "retros": st.one_of(st.lists(entry(RETRO_KEYS), max_size=2), scalars),
              "sources": st.fixed_dictionaries({}, optional={
                  "tracking": st.lists(entry(SOURCE_KEYS), max_size=2),
                  "monitoring": st.lists(entry(SOURCE_KEYS), max_size=1),
                  "models": st.lists(entry(SOURCE_KEYS), max_size=2),
                  "prometheus": entry({"url", "timeout"}), "alertmanager": entry({"channel"})}) | scalars,
              "digests": st.one_of(st.lists(entry(DIGEST_KEYS), max_size=2), scalars),
              "junk": values})

SYNTAX = ["\n  - ", ": ", "{", "}", "[", "]", "&a ", "*a", "? ", "\t", '"', "'", "!!binary ", "!!set ", "<<: ", " " + "9" * 5000,
          "\nworkspace: again\n", "---\n", "%YAML 1.1\n", "\\x00", "\x00", "\ufeff", "\r", "\u2028", "#"]


@st.composite
def team_yaml(draw: st.DrawFn) -> str:
    data = draw(team_data)
    text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False,
                          default_flow_style=draw(st.sampled_from([False, None, True])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SYNTAX) | st.text(max_size=4)) + text[at:]
    return text


LINE = re.compile(r"(?P<path>.+?):(?P<line>\d+): \S[^\n]*")


def check(loading: Any, path: str, text_lines: int) -> TeamFile | None:
    """Loads, or raises ``TeamFileError`` whose every error is one line ``path:N: reason`` with N in the file."""
    try:
        return loading()  # type: ignore[no-any-return]
    except TeamFileError as err:
        assert err.errors, "a refusal names at least one problem"
        for line in err.errors:
            found = LINE.fullmatch(line)
            assert found, f"not one `file:line: reason` line: {line!r}"
            assert found["path"] == path
            assert 1 <= int(found["line"]) <= text_lines + 1, line
        return None


@FUZZ
@given(team_yaml())
def test_any_team_shaped_yaml_loads_or_is_refused_line_by_line(text: str) -> None:
    breaks = sum(text.count(c) for c in "\n\r\x85\u2028\u2029")  # YAML 1.1 ends a line at each
    tf = check(lambda: parse_team(text, "t.yaml", SECTIONS), "t.yaml", breaks + 1)
    if tf is not None:  # what loaded is what a person wrote: booleans are booleans
        assert all(isinstance(m.is_admin, bool) for m in tf.members)
        assert all(isinstance(s.paused, bool) and isinstance(s.mention_missing, bool) for s in tf.standups)


def spliced(data: bytes, at: int, junk: bytes) -> bytes:
    at = at % (len(data) + 1)
    return data[:at] + junk + data[at + len(junk):]


raw_bytes = st.one_of(
    st.binary(max_size=400),
    st.builds(spliced, st.just(DEMO), st.integers(0, len(DEMO)), st.binary(min_size=1, max_size=6)),
)
FOLDER = Path(tempfile.mkdtemp(prefix="meridian-fuzz-"))


@FUZZ
@given(raw_bytes)
def test_any_bytes_load_or_are_refused_line_by_line(data: bytes) -> None:
    path = FOLDER / "team.yaml"
    path.write_bytes(data)
    check(lambda: load_team(path, SECTIONS), str(path), len(data) + 1)


def test_a_nan_page_size_is_refused_not_read() -> None:
    """Found by the fuzzer: ``page_size: .nan`` passed the range check and then failed ``int()``."""
    text = ("workspace: w\nmembers: [{id: a, tz: UTC}]\nsources:\n  tracking:\n"
            "    - {kind: mlflow, uri: 'http://m:5000', experiments: [x], metric: auc, page_size: .nan}\n")
    try:
        parse_team(text, "t.yaml", SECTIONS)
    except TeamFileError as err:
        assert err.errors == ["t.yaml:5: sources.tracking[0].page_size: must be a number, not nan"]
    else:
        raise AssertionError("a nan page size loaded")
