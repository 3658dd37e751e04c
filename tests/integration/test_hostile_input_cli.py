"""Hostile and unlucky input to the ``meridian`` command: one line naming the problem, never a traceback.

Each case runs ``python -m bot ...`` as a process, the way an operator does: a team file that
tries quoted booleans, repeated keys, an alias bomb, a foreign encoding, a NUL byte or a number
too long to read; a ``DATABASE_URL`` that is not a URL, names no driver, points into a missing
folder or at a server that is down; ``meridian socket`` without its app token.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "examples" / "team.yaml").read_text()


def meridian(tmp: Path, *args: str, database_url: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft", "MERIDIAN_TEAMS"))}
    clean.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": database_url or f"sqlite:///{tmp / 'meridian.db'}",
                  **(env or {})})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=tmp,
                          env=clean, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (and no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("meridian: ")
    return lines[0].removeprefix("meridian: ")


def team(tmp: Path, text: str | bytes, name: str = "team.yaml") -> str:
    path = tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return name


# --- the team file ----------------------------------------------------------------------------


@pytest.mark.parametrize("written", ['"false"', '"0"', '"off"'])
def test_a_quoted_or_non_boolean_admin_is_refused_and_makes_nobody_admin(tmp_path: Path, written: str) -> None:
    name = team(tmp_path, f"workspace: w\nmembers:\n  - {{id: a, tz: UTC}}\n  - {{id: b, tz: UTC, admin: {written}}}\n")
    result = meridian(tmp_path, "import", name)
    assert result.returncode == 2
    assert re.fullmatch(r"team\.yaml:4: admin must be true or false, written without quotes, not .+", one_line(result))
    assert meridian(tmp_path, "export").returncode == 2, "nothing was imported"


def test_every_team_file_boolean_is_checked_and_each_mistake_has_its_line(tmp_path: Path) -> None:
    name = team(tmp_path, "workspace: w\nmembers:\n  - {id: a, tz: UTC, admin: yes}\nstandups:\n"
                          "  - name: d\n    channel: '#c'\n    paused: \"no\"\n    mention_missing: 'true'\n")
    result = meridian(tmp_path, "import", name)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert sorted(result.stderr.strip().removeprefix("meridian: ").splitlines()) == [
        'team.yaml:7: paused must be true or false, written without quotes, not "no"',
        'team.yaml:8: mention_missing must be true or false, written without quotes, not "true"']


def test_yaml_booleans_round_trip_through_export(tmp_path: Path) -> None:
    name = team(tmp_path, "workspace: w\nmembers:\n  - {id: a, tz: UTC, admin: on}\n  - {id: b, tz: UTC, admin: false}\n"
                          "standups:\n  - {name: d, channel: '#c', paused: yes, mention_missing: true}\n")
    assert meridian(tmp_path, "import", name).returncode == 0
    exported = meridian(tmp_path, "export").stdout
    assert "admin: true" in exported and exported.count("admin:") == 1
    assert "paused: true" in exported and "mention_missing: true" in exported


def test_a_repeated_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    name = team(tmp_path, "workspace: w\nmembers:\n  - id: a\n    admin: false\n    tz: UTC\n    admin: true\n")
    result = meridian(tmp_path, "import", name)
    assert result.returncode == 2
    assert one_line(result) == "team.yaml:6: key `admin` is given twice in one mapping (lines 4 and 6); give it once"


def test_a_repeated_top_level_section_is_refused(tmp_path: Path) -> None:
    name = team(tmp_path, DEMO + "standups: []\n")
    line = DEMO.count("\n") + 1
    first = DEMO.splitlines().index("standups:") + 1
    assert one_line(meridian(tmp_path, "import", name)) == (
        f"team.yaml:{line}: key `standups` is given twice in one mapping (lines {first} and {line}); give it once")


def test_an_alias_bomb_is_refused_with_the_limit_named(tmp_path: Path) -> None:
    levels = ["  l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    levels += [f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 9)]
    name = team(tmp_path, "workspace: w\nmembers: [{id: a, tz: UTC}]\nbomb:\n" + "\n".join(levels) + "\n")
    line = one_line(meridian(tmp_path, "import", name))
    assert line.startswith("team.yaml:9: the file stands for more than 100,000 YAML nodes"), line


def test_an_alias_inside_what_it_names_is_refused(tmp_path: Path) -> None:
    name = team(tmp_path, "workspace: w\nmembers: &m\n  - {id: a, tz: UTC, accounts: *m}\n")
    assert one_line(meridian(tmp_path, "import", name)).startswith("team.yaml:3: alias *m is used inside the node")


def test_a_team_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    name = team(tmp_path, "workspace: w\nmembers:\n  - {id: a, name: Andr\xe9, tz: UTC}\n".encode("latin-1"))
    assert one_line(meridian(tmp_path, "import", name)) == (
        "team.yaml:3: the file is not UTF-8 text (byte 0xe9 at column 23); save it as UTF-8")


def test_an_env_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"PORT=3000\nMERIDIAN_LOG_LEVEL=INFO # caf\xe9\n")
    name = team(tmp_path, DEMO)
    result = meridian(tmp_path, "import", name)
    assert result.returncode == 2
    assert one_line(result) == ".env:2: the file is not UTF-8 text (byte 0xe9); save it as UTF-8"


@pytest.mark.parametrize(("member", "message"), [
    ("{id: a, tz: UTC, ooo: 3}", 'ooo must be a list of dates or ranges, like ["2026-12-24..2027-01-02"]'),
    ("{id: a, tz: UTC, name: " + "9" * 5000 + "}",
     "a number of 5,000 digits is longer than Meridian reads (at most 4,300); quote it if it is text"),
    ("{id: a, tz: UTC, ooo: [2027-02-30]}", "`2027-02-30` is not a valid date: day is out of range for month"),
    ('{id: a, tz: UTC, name: "A\\0B"}', "`A\\x00B` holds the control character U+0000; write plain text"),
    ('{id: a, tz: UTC, name: "Ann\\nOther"}', "name must be one line of text"),
    ("{id: a, tz: UTC, accounts: {slack: [U1, U2]}}", "each account must be an id, like {slack: U04NOOR}"),
    ("{id: a, tz: !!python/object:os.system UTC}",
     "the tag `!!python/object:os.system` is not one Meridian reads; write a plain value"),
])
def test_values_python_cannot_take_as_given_are_one_line(tmp_path: Path, member: str, message: str) -> None:
    name = team(tmp_path, f"workspace: w\nmembers:\n  - {member}\n")
    assert one_line(meridian(tmp_path, "import", name)) == f"team.yaml:3: {message}"


def test_a_nul_byte_on_postgresql_is_refused_before_anything_is_written(tmp_path: Path, postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    name = team(tmp_path, DEMO.replace("name: Tomás", 'name: "Tom\\0as"').replace("acme-ml", "nul-test"))
    result = meridian(tmp_path, "import", name, database_url=postgres_url)
    tomas = next(n for n, text in enumerate(DEMO.splitlines(), 1) if "name: Tomás" in text)
    assert one_line(result) == f"team.yaml:{tomas}: `Tom\\x00as` holds the control character U+0000; write plain text"
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM workspace WHERE id = 'nul-test'")).scalar() == 0
    engine.dispose()


# --- the database and the settings ------------------------------------------------------------

BAD_URL = "DATABASE_URL is not a database URL; write it like sqlite:///data/meridian.db or " \
          "postgresql://user:password@host:5432/meridian"


@pytest.mark.parametrize(("command", "url", "message"), [
    (["import", "team.yaml"], "sqlite:garbage", BAD_URL),
    (["export"], "sqlite:garbage", BAD_URL),
    (["worker"], "postgresql+bogus://", "DATABASE_URL names the driver `postgresql+bogus`, which does not exist; "
                                        "write it like sqlite:///data/meridian.db or "
                                        "postgresql://user:password@host:5432/meridian"),
    (["db", "upgrade"], "sqlite:////nonexistent-meridian/dir/m.db",
     "DATABASE_URL points into /nonexistent-meridian/dir, a folder that does not exist; create it or choose another path"),
    (["import", "team.yaml"], "sqlite:////nonexistent-meridian/dir/m.db",
     "DATABASE_URL points into /nonexistent-meridian/dir, a folder that does not exist; create it or choose another path"),
])
def test_a_wrong_database_url_is_one_line(tmp_path: Path, command: list[str], url: str, message: str) -> None:
    team(tmp_path, DEMO)
    result = meridian(tmp_path, *command, database_url=url)
    assert result.returncode == 2
    assert one_line(result) == message


@pytest.mark.parametrize("command", [["import", "team.yaml"], ["worker"]])
def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path, command: list[str]) -> None:
    team(tmp_path, DEMO)
    result = meridian(tmp_path, *command, database_url="postgresql://meridian:s3cret@127.0.0.1:1/meridian")
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("cannot use the database at postgresql+psycopg://meridian:***@127.0.0.1:1/meridian: "), line
    assert "s3cret" not in result.stderr


def test_socket_without_an_app_token_names_the_app_token(tmp_path: Path) -> None:
    result = meridian(tmp_path, "socket", env={"SLACK_BOT_TOKEN": "xoxb-1"})
    assert result.returncode == 2
    assert one_line(result) == "SLACK_APP_TOKEN is required for Socket Mode (an app-level token, xapp-…)"


def test_serve_with_a_bot_token_alone_names_both_ways_to_finish(tmp_path: Path) -> None:
    result = meridian(tmp_path, "serve", env={"SLACK_BOT_TOKEN": "xoxb-1"})
    assert one_line(result) == ("SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set "
                                "(or SLACK_APP_TOKEN, for `meridian socket`)")


def test_standup_setup_mentions_takes_on_or_off_and_nothing_else(tmp_path: Path) -> None:
    script = ":as alice\n:channel #ml-team\n/standup setup ml-daily mentions=maybe\n/standup setup ml-daily mentions=ON\n"
    result = subprocess.run([sys.executable, "-m", "bot", "console", "--start", "2027-03-15T00:00Z"], input=script,
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "`mentions` is on or off, not `maybe`." in result.stdout
    assert result.stdout.count("ml-daily in #ml-team: 09:30") == 1, "only the valid setup was saved"
