"""The team file's `raci:` section."""

from __future__ import annotations

from bot.kernel.domain import Member
from bot.raci.model import Assignment, Role
from bot.raci.teamfile import load_raci_section

WS = "acme-ml"
TEAM = [Member(WS, "alice", "Alice"), Member(WS, "ravi", "Ravi"),
        Member(WS, "noor", "Noor", accounts={"email": "noor@acme.example"})]


def test_the_design_example_loads() -> None:
    section = load_raci_section(
        [{"activity": "churn model retraining", "R": ["ravi"], "A": "alice", "C": ["noor@acme.example"], "I": []}],
        TEAM)
    assert section.ok
    [activity] = section.activities
    assert activity.workspace == WS
    assert activity.assignments == (Assignment("ravi", Role.R), Assignment("alice", Role.A),
                                    Assignment("noor", Role.C))


def test_every_problem_names_its_entry_and_key_and_nothing_loads() -> None:
    section = load_raci_section([
        {"activity": "ok", "R": ["ravi"], "A": "alice"},
        {"activity": "", "R": ["bob"], "A": ["alice", "ravi"], "owner": "x"},
        {"activity": "OK", "R": "ravi", "A": "alice"},
        "just text",
    ], TEAM)
    shown = [str(p) for p in section.problems]
    assert section.activities == []
    assert "raci[1].owner: unknown key; use A, C, I, R, activity, aliases, channel, description." in shown
    assert "raci[1].activity: the activity needs a name." in shown
    assert any(s.startswith("raci[1].R: `bob` is not a member") for s in shown)
    assert "raci[2]: Rule “names are unique”: `OK` is already a name of “ok”." in shown
    assert any(s.startswith("raci[3]: each entry is a mapping") for s in shown)


def test_two_accountables_are_named() -> None:
    section = load_raci_section([{"activity": "x", "R": ["ravi"], "A": ["alice", "noor"]}], TEAM)
    assert [str(p) for p in section.problems] == [
        "raci[0]: Rule “exactly one Accountable”: x has 2 Accountables (Alice, Noor); keep one."]
