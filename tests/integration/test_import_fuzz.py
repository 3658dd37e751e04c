"""A failed ``meridian import`` changes nothing: ``meridian export`` prints the same bytes before and after.

Hypothesis mutates the demo team file with hostile pieces (quoted booleans, NUL and control
characters, repeated keys, aliases, numbers too long to read, broken syntax, values of the wrong
type) and runs ``meridian import`` and ``meridian export`` through the command's own ``main`` on
SQLite and PostgreSQL. A mutation that happens to be valid imports, and the next comparison
starts from what it wrote; one that is refused must leave the export byte-identical and say why
in ``file:line`` lines.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from storage.kernel.repo import SqlStore

ROOT = Path(__file__).resolve().parents[2]
DEMO_LINES = (ROOT / "examples" / "team.yaml").read_text().splitlines(keepends=True)

HOSTILE = ['admin: "false"', "admin: 0", 'paused: "off"', 'name: "A\\0B"', 'name: "\\x1b[2J"', "tz: UTC\n    tz: UTC",
           "ooo: 3", "name: " + "9" * 5000, "&a [*a]", "*nowhere", "{", "- [", "workspace: other\nworkspace: again",
           "remind_at: 99:99", "days: [funday]", "accounts: [slack]", "max_votes: .nan", "\x00", "\ufeff#",
           "members: !!python/object:os.system x", "channel: 7", "every: 0w", "R: [nobody]"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The demo file with one to three lines replaced by, or extended with, a hostile piece."""
    lines = list(DEMO_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        piece = draw(st.sampled_from(HOSTILE))
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = draw(st.sampled_from([indent + piece + "\n", lines[i].rstrip("\n") + " " + piece + "\n",
                                         lines[i].replace(": ", f": {piece} ", 1)]))
    return "".join(lines)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_refused_import_leaves_the_export_byte_identical(store: SqlStore, db_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_APP_TOKEN", "MicrosoftAppId"):
        monkeypatch.delenv(name, raising=False)
    assert run("import", str(ROOT / "examples" / "team.yaml"))[0] == 0
    state = {"export": run("export")[1], "refused": 0}
    assert "acme-ml" in state["export"]

    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(mutated())
    def attempt(text: str) -> None:
        (tmp_path / "team.yaml").write_text(text)
        code, _out, err = run("import", "team.yaml")
        after = run("export")[1]
        if code == 0:
            state["export"] = after
            return
        state["refused"] += 1
        assert code == 2 and "Traceback" not in err
        assert all(re.fullmatch(r"team\.yaml:\d+: \S.*", line)
                   for line in err.strip().removeprefix("meridian: ").splitlines()), err
        assert after == state["export"]

    attempt()
    assert state["refused"] > 0, "the mutations were all accepted, so nothing was tested"
