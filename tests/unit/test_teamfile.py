"""The team file: every mistake is reported with the file, the line and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.bootstrap import team_sections
from bot.kernel.teamfile import TeamFileError, TeamSection, load_team, parse_team

ROOT = Path(__file__).resolve().parents[2]
SECTIONS: list[TeamSection] = team_sections()


def errors_of(text: str) -> list[str]:
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "t.yaml", SECTIONS)
    return err.value.errors


def test_demo_team_loads_with_six_people_in_six_zones() -> None:
    tf = load_team(ROOT / "examples" / "team.yaml", SECTIONS)
    assert len(tf.members) == 6
    assert len({m.tz for m in tf.members}) == 6
    noor = next(m for m in tf.members if m.id == "noor")
    assert noor.accounts["slack"] == "U04NOOR" and noor.is_away(__import__("datetime").date(2026, 12, 25))
    assert tf.standups[0].name == "ml-daily" and tf.standups[0].members is None


def test_unknown_zone_names_file_line_and_reason() -> None:
    errs = errors_of("workspace: w\nmembers:\n  - id: a\n    name: A\n    tz: Mars/Olympus\n")
    assert errs == ["t.yaml:5: Mars/Olympus is not a known time zone. Use a name like Europe/Berlin or Asia/Kolkata."]


def test_unknown_keys_are_rejected_at_their_line() -> None:
    errs = errors_of("workspace: w\ncolour: blue\nmembers:\n  - {id: a, tz: UTC, shoe: 42}\n")
    assert errs[0].startswith("t.yaml:2: unknown key `colour`")
    assert errs[1].startswith("t.yaml:4: unknown key `shoe` for a member")


def test_bad_times_and_ranges_are_all_reported_in_one_pass() -> None:
    errs = errors_of(
        "workspace: w\n"
        "members:\n"
        "  - {id: a, tz: UTC, hours: '25:00-17:00'}\n"
        "  - {id: b, tz: UTC, ooo: ['2027-01-02..2026-12-24']}\n"
        "standups:\n"
        "  - {name: d, channel: '#c', remind_at: '9h30', days: [mon, funday]}\n")
    assert any(e.startswith("t.yaml:3:") and "25:00" in e for e in errs)
    assert any(e.startswith("t.yaml:4:") and "ends before it starts" in e for e in errs)
    assert any(e.startswith("t.yaml:6:") and "9h30" in e for e in errs)
    assert any(e.startswith("t.yaml:6:") and "funday" in e for e in errs)


def test_unquoted_time_of_day_is_read_as_a_time() -> None:
    tf = parse_team("workspace: w\nmembers: [{id: a, tz: UTC}]\nstandups: [{name: d, channel: '#c', remind_at: 09:30}]\n",
                    "t.yaml", SECTIONS)
    assert f"{tf.standups[0].remind_at:%H:%M}" == "09:30"


def test_standup_naming_an_unknown_member_is_rejected() -> None:
    errs = errors_of("workspace: w\nmembers: [{id: a, tz: UTC}]\nstandups:\n  - {name: d, channel: '#c', members: [a, zed]}\n")
    assert errs == ["t.yaml:4: unknown member zed"]


def test_invalid_yaml_names_the_line() -> None:
    errs = errors_of("workspace: w\nmembers:\n  - {id: a, tz: UTC\n")
    assert errs[0].startswith("t.yaml:") and "not valid YAML" in errs[0]


def test_duplicate_member_ids_are_rejected() -> None:
    errs = errors_of("workspace: w\nmembers:\n  - {id: a, tz: UTC}\n  - {id: a, tz: UTC}\n")
    assert errs == ["t.yaml:4: member id `a` appears twice"]


def test_published_json_schema_accepts_the_demo_and_rejects_an_unknown_key() -> None:
    schema = json.loads((ROOT / "docs" / "team.schema.json").read_text())
    demo = yaml.safe_load((ROOT / "examples" / "team.yaml").read_text())
    jsonschema.validate(demo, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**demo, "colour": "blue"}, schema)
