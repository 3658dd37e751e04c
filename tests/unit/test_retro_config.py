"""The team file's retros section and ``meridian rotation plan``: bad input gets a clear answer."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.kernel.teamfile import TeamFileError, parse_team
from bot.retros.config import parse_retros
from bot.retros.teamfile import team_section

ROOT = Path(__file__).resolve().parents[2]

MEMBERS = """workspace: w
members:
  - {id: sf, name: Sam, tz: America/Los_Angeles}
  - {id: sao, name: Sara, tz: America/Sao_Paulo}
  - {id: ber, name: Ben, tz: Europe/Berlin}
  - {id: syd, name: Sid, tz: Australia/Sydney}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "t.yaml", [team_section()])
    return err.value.errors


def test_retro_mistakes_are_reported_with_file_line_and_reason_in_one_pass() -> None:
    errs = errors_of(MEMBERS + "retros:\n"
                     "  - {name: r, channel: '#c', every: fortnightly, starts: 2027-01-04, colour: red}\n"
                     "  - {name: s, channel: '#c', every: 1w, starts: 2027-01-04, members: [sf, zed],\n"
                     "     prompts: {well: ok, rants: no}, max_votes: 0}\n"
                     "  - {name: a, channel: '#c', every: 1w, async: {opens: 2027-01-11T09:00Z, closes: 2027-01-10T09:00Z}}\n"
                     "  - {name: n, channel: '#c'}\n")
    assert any(e.startswith("t.yaml:8: unknown key `colour`") for e in errs)
    assert any(e.startswith("t.yaml:8:") and "every='fortnightly'" in e for e in errs)
    assert "t.yaml:9: unknown member zed" in errs
    assert any(e.startswith("t.yaml:10:") and "unknown prompt category `rants`" in e for e in errs)
    assert any(e.startswith("t.yaml:10:") and "max_votes" in e for e in errs)
    assert any(e.startswith("t.yaml:11:") and "must close after it opens" in e for e in errs)
    assert any(e.startswith("t.yaml:11:") and "`every` belongs to retros with a meeting" in e for e in errs)
    assert any(e.startswith("t.yaml:12:") and "needs `every`" in e for e in errs)


def test_a_candidate_outside_the_occurrences_date_is_refused() -> None:
    errs = errors_of(MEMBERS + "retros:\n  - {name: r, channel: '#c', every: 1w, starts: 2027-01-04,\n"
                     "     candidates: ['08:00', '2027-01-05T09:00', '25:30']}\n")
    assert len(errs) == 1 and errs[0].startswith("t.yaml:9:")
    assert "outside the occurrence's date" in errs[0] and "2027-01-05T09:00" in errs[0]


def test_published_schema_accepts_a_meeting_and_an_async_retro_and_rejects_mixing_them() -> None:
    schema = json.loads((ROOT / "docs" / "team.schema.json").read_text())
    demo = yaml.safe_load((ROOT / "examples" / "team.yaml").read_text())
    assert demo["retros"]
    jsonschema.validate(demo, schema)
    asynchronous = {"name": "q1", "channel": "#c", "async": {"opens": "2027-01-11T09:00Z", "closes": "2027-01-15T17:00Z"}}
    jsonschema.validate({**demo, "retros": [asynchronous]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**demo, "retros": [{**asynchronous, "every": "1w"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**demo, "retros": [{"name": "r", "channel": "#c"}]}, schema)


# --- meridian rotation plan --------------------------------------------------------------------
def team_file(tmp_path: Path, retro: str, members: str = MEMBERS) -> str:
    path = tmp_path / "team.yaml"
    path.write_text(members + "retros:\n  - " + retro + "\n")
    return str(path)


def test_json_plan_has_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = team_file(tmp_path, "{name: r, channel: '#c', every: 2w, duration: 60m, starts: 2027-01-04}")
    assert main(["rotation", "plan", "--team", path, "--retro", "r", "--occurrences", "3", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan) == {"occurrences", "burden"} and len(plan["occurrences"]) == 3
    first = plan["occurrences"][0]
    assert first["start_utc"].startswith("2027-01-04T") and first["start_utc"].endswith("Z")
    assert set(first["local"]) == set(first["penalty"]) == set(plan["burden"]) == {"sf", "sao", "ber", "syd"}


def test_no_slot_avoids_someones_night_and_the_plan_says_who_carries_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = team_file(tmp_path, "{name: r, channel: '#c', every: 1w, starts: 2025-09-09}")
    assert main(["rotation", "plan", "--team", path, "--retro", "r", "--occurrences", "4"]) == 0
    out = capsys.readouterr().out
    assert "member" in out and "burden" in out and "night" in out
    note = next(line for line in out.splitlines() if line.startswith("No start time keeps everyone out of their night"))
    assert "×" in note


def test_a_night_cap_that_cannot_be_met_gives_a_clear_message_and_the_best_plan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = team_file(tmp_path, "{name: r, channel: '#c', every: 1w, starts: 2025-09-09, night_cap: 0}")
    assert main(["rotation", "plan", "--team", path, "--retro", "r", "--occurrences", "4", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["occurrences"]) == 4
    assert "The night cap of 0 per member could not be met" in captured.err


def test_a_retro_with_one_member_gets_their_best_slot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = team_file(tmp_path, "{name: r, channel: '#c', every: 1w, starts: 2027-01-04, members: [syd]}")
    assert main(["rotation", "plan", "--team", path, "--retro", "r", "--occurrences", "3", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["burden"] == {"syd": 0}
    assert all("09:00" <= o["local"]["syd"][11:16] <= "16:00" for o in plan["occurrences"])  # inside working hours


def test_bad_team_file_or_retro_name_ends_with_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = team_file(tmp_path, "{name: r, channel: '#c', every: 1w, starts: 2027-01-04, candidates: ['2027-01-05 10:00']}")
    assert main(["rotation", "plan", "--team", path, "--retro", "r"]) == 2
    err = capsys.readouterr().err
    assert "team.yaml:8:" in err and "outside the occurrence's date" in err and "Traceback" not in err
    good = team_file(tmp_path, "{name: r, channel: '#c', every: 1w, starts: 2027-01-04}")
    assert main(["rotation", "plan", "--team", good, "--retro", "nope"]) == 2
    assert "no retro called `nope` (retros: r)" in capsys.readouterr().err


def test_a_facilitator_must_be_a_member_of_the_retro() -> None:
    errs = errors_of(MEMBERS + "retros:\n"
                     "  - {name: r, channel: '#c', every: 1w, starts: 2027-01-04, facilitator: zed}\n"
                     "  - {name: s, channel: '#c', every: 1w, starts: 2027-01-04, members: [sf, ber], facilitator: syd}\n"
                     "  - {name: t, channel: '#c', every: 1w, starts: 2027-01-04, facilitator: [sf]}\n")
    assert errs == ["t.yaml:8: facilitator must be the id of a member, like ber; `zed` is not one",
                    "t.yaml:9: facilitator `syd` is not one of this retro's members",
                    "t.yaml:10: facilitator must be the id of a member, like ber"]
    tf = parse_team(MEMBERS + "retros:\n  - {name: r, channel: '#c', every: 1w, starts: 2027-01-04, facilitator: syd}\n",
                    "t.yaml", [team_section()])
    (retro,), _ = parse_retros(tf)
    assert retro.facilitator == "syd"
