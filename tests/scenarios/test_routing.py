"""Issue 13, alerts and routing, as the demo team lives it in the console.

Alice (Accountable for churn model retraining) is out of office all week and names Marta as her
delegate; Ravi (Responsible) is out on Tuesday and names Noor. A blocker Tomás reports on Monday
and Tuesday's drift ALERT ping only people at work: the away are named with why, their delegates
stand in, and a delegate outside their own hours is named, not pinged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scenarios.transcript import ROOT, Said, after_echo, meridian, parse

SCRIPT = """
:at 2027-03-22T12:31Z
:as tomas
:dm
Wrote the data contract checks
Retrain the churn model
Blocked on churn retrain: the feature table is stale
:channel #ml-team
/raci churn retrain
:at 2027-03-23T06:01Z
"""


def add_to_member(text: str, member: str, extra: str) -> str:
    """Append ``extra`` to the one-line ``{id: <member>, ...}`` mapping of the demo team, whatever else it holds
    (holidays, hours, ...), so the test does not break when the demo team gains a field."""
    pattern = re.compile(r"(\{id: " + re.escape(member) + r",[^\n]*)\}(\s*)$", re.MULTILINE)
    text, n = pattern.subn(lambda m: f"{m.group(1)}, {extra}}}{m.group(2)}", text, count=1)
    assert n == 1, f"no one-line mapping for {member} in examples/team.yaml"
    return text


def team_with_delegates() -> str:
    text = (ROOT / "examples" / "team.yaml").read_text()
    text = add_to_member(text, "alice", 'ooo: ["2027-03-22..2027-03-26"], delegate: marta')
    text = add_to_member(text, "ravi", 'ooo: ["2027-03-23"], delegate: noor')
    assert text.count("delegate:") == 2
    return text


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Said]]:
    team = Path(tmp_path_factory.mktemp("routing")) / "team.yaml"
    team.write_text(team_with_delegates())
    done = meridian("console", "--team", str(team), "--start", "2027-03-22T12:00Z", "--strict", stdin=SCRIPT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    return done.stdout, parse(done.stdout)


def test_a_blocker_on_an_away_owners_activity_pings_her_delegate_and_names_her(week: tuple[str, list[Said]]) -> None:
    _, said = week
    answer = next(s for s in said if s.where == "#ml-team ↳ thread" and "🚧 Blocker" in s.body)
    assert answer.utc == "2027-03-22 12:31"
    assert ("churn model retraining is owned by Alice (away — out of office until Fri 26 Mar), "
            "@Marta (standing in for Alice, away until Fri 26 Mar))") in answer.body
    assert "@Alice" not in answer.body


def test_the_summary_at_night_in_berlin_names_the_delegate_without_a_ping(week: tuple[str, list[Said]]) -> None:
    _, said = week
    summary = next(s for s in said if "🧾 ml-daily summary" in s.body and "Mon 22 Mar" in s.body)
    assert ("is owned by Alice (away — out of office until Fri 26 Mar), Marta (standing in for Alice, away until "
            "Fri 26 Mar; off hours, 21:00 in Berlin)") in summary.body
    assert "@Marta" not in summary.body and "@Alice" not in summary.body


def test_a_raci_lookup_shows_who_stands_in_and_pings_only_people_at_work(week: tuple[str, list[Said]]) -> None:
    out, _ = week
    lookup = parse(after_echo(out, "/raci churn retrain"))[0].body
    # Mon 22 Mar 2027 is Holi, a public holiday for Ravi (holidays: IN-KA in the demo team), so he is away
    # rather than merely off hours, and his delegate Noor (in hours in Dubai) stands in for him.
    assert "Ravi — 🏝️ holiday: Holi, 18:01 in Kolkata" in lookup and "@Ravi" not in lookup
    assert "↳ @Noor standing in for Ravi, away — holiday: Holi — 🟢 in hours, 16:31 in Dubai" in lookup
    assert "Alice — 🏝️ out of office until Fri 26 Mar, 05:31 in Los Angeles" in lookup
    assert "↳ @Marta standing in for Alice, away until Fri 26 Mar — 🟢 in hours, 13:31 in Berlin" in lookup
    assert "@Noor — 🟢 in hours, 16:31 in Dubai" in lookup and "Kenji — 🌙 23:31 in Sydney" in lookup


def test_a_drift_alert_with_the_responsible_away_goes_to_his_delegate(week: tuple[str, list[Said]]) -> None:
    _, said = week
    (alert,) = [s for s in said if "churn-model drift ALERT" in s.body]
    assert alert.utc == "2027-03-23 06:00"
    over = next(line for line in alert.body.splitlines() if line.startswith("Over to "))
    assert over == ("Over to Ravi (R; away — out of office), @Noor (R; standing in for Ravi, away today), "
                    "Alice (A; away — out of office until Fri 26 Mar), "
                    "Marta (A; standing in for Alice, away until Fri 26 Mar; off hours, 07:00 in Berlin)")


def with_delegates(**delegates: str) -> str:
    text = (ROOT / "examples" / "team.yaml").read_text()
    for member in ("alice", "ravi", "marta"):
        if member in delegates:
            text = add_to_member(text, member, f"delegate: {delegates[member]}")
    return text


@pytest.mark.parametrize(("delegates", "said"), [
    ({"alice": "nour"}, "team.yaml:5: delegate `nour` is not a member of this team (did you mean noor?)"),
    ({"alice": "alice"}, "team.yaml:5: alice cannot be their own delegate; name someone who covers for them, "
                         "or leave it out"),
    ({"alice": "ravi", "ravi": "marta", "marta": "alice"},
     "team.yaml:5: delegates go round in a circle (alice → ravi → marta → alice); someone on it must delegate "
     "outside it, or not at all"),
    ({"alice": "[ravi, noor]"}, "team.yaml:5: delegate must be the id of another member, like ravi"),
])
def test_a_wrong_delegate_stops_the_console_with_one_line(tmp_path: Path, delegates: dict[str, str],
                                                          said: str) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(with_delegates(**delegates))
    # The error points at alice's line, wherever the demo team's header comments put it.
    line_no = next(i for i, line in enumerate(team.read_text().splitlines(), 1) if "{id: alice," in line)
    said = said.replace("team.yaml:5:", f"team.yaml:{line_no}:")
    done = meridian("console", "--team", str(team), "--start", "2027-03-22T12:00Z", stdin="")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == f"meridian: {team.parent}/{said}"
