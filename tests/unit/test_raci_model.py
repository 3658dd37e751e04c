"""The RACI model's rules, its forgiving matcher and the "who is awake" status."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.kernel.domain import DateRange, Hours, Member
from bot.kernel.members import People, PersonNotFound, normalise
from bot.kernel.routing import presence
from bot.raci.lookup import ActivityIndex
from bot.raci.model import Activity, Assignment, Role, validate

WS = "acme"


def act(name: str, **roles: list[str] | str) -> Activity:
    assignments = []
    for letter, who in roles.items():
        for m in [who] if isinstance(who, str) else who:
            assignments.append(Assignment(m, Role(letter)))
    return Activity(WS, name, tuple(assignments))


def rules(activity: Activity, **kw: object) -> list[str]:
    return [v.rule for v in validate(activity, **kw)]  # type: ignore[arg-type]


def test_a_clean_activity_breaks_no_rule() -> None:
    assert rules(act("churn model retraining", R=["ravi"], A="alice", C=["noor"])) == []


def test_the_accountable_may_also_be_responsible() -> None:
    assert rules(act("feature store", R=["alice"], A="alice")) == []


def test_two_accountables_are_refused_and_both_are_named() -> None:
    found = validate(act("x", R=["ravi"], A=["alice", "bob"]))
    assert [v.rule for v in found] == ["exactly one Accountable"]
    assert {a.member_id for a in found[0].culprits} == {"alice", "bob"}
    assert "alice, bob" in str(found[0])


def test_no_accountable_and_no_responsible_are_each_named() -> None:
    assert rules(act("x", C=["noor"])) == ["exactly one Accountable", "at least one Responsible"]


def test_a_person_holds_one_letter_unless_accountable_and_responsible() -> None:
    assert rules(act("x", R=["ravi"], A="alice", C=["ravi"])) == ["one letter per person"]
    assert rules(act("x", R=["ravi"], A="alice", I=["alice"])) == ["one letter per person"]


def test_empty_and_overlong_names_are_refused() -> None:
    assert "a name is required" in rules(act("  ", R=["a"], A="a"))
    assert "names are short" in rules(act("x" * 500, R=["a"], A="a"))


def test_unknown_people_and_taken_names_are_refused() -> None:
    found = rules(act("Feature Store", R=["ghost"], A="alice"), known_members={"alice"},
                  taken={"feature store": "feature store"})
    assert found == ["people must be known", "names are unique"]


def test_names_compare_without_accents_case_or_punctuation() -> None:
    assert normalise("  Café—Modèle  RETRAINING ") == "cafe modele retraining"


@pytest.fixture
def index() -> ActivityIndex:
    return ActivityIndex([
        ("churn model retraining", ("churn retrain",)),
        ("churn model monitoring", ()),
        ("feature store", ("fs",)),
        ("données clients", ()),
        ("label review", ()),
    ])


def test_exact_names_and_aliases_hit_whatever_the_case_or_accents(index: ActivityIndex) -> None:
    assert index.find("FEATURE store").activity == "feature store"
    assert index.find("fs").activity == "feature store"
    assert index.find("donnees CLIENTS").activity == "données clients"
    assert index.find("Churn Retrain").exact


@pytest.mark.parametrize("typo", ["feature stroe", "featur store", "feeture store", "churn model retrainig"])
def test_small_typos_still_find_the_activity(index: ActivityIndex, typo: str) -> None:
    assert index.find(typo).activity is not None


def test_a_query_naming_two_activities_asks_which_one(index: ActivityIndex) -> None:
    match = index.find("churn model")
    assert match.activity is None
    assert set(match.suggestions[:2]) == {"churn model retraining", "churn model monitoring"}
    assert len(match.suggestions) <= 3


@pytest.mark.parametrize("text", ["zzqx", "quantum teleport", "ml"])
def test_no_match_at_all_offers_nothing_unrelated(index: ActivityIndex, text: str) -> None:
    match = index.find(text)
    assert match.activity is None
    assert match.suggestions == ()
    assert not match.empty


def test_activities_named_in_free_text_are_found(index: ActivityIndex) -> None:
    assert index.mentioned_in("Blocked on Feature-Store access since Monday") == ["feature store"]


def test_people_are_found_by_id_name_email_or_platform_account() -> None:
    noor = Member(WS, "noor", "Noor Haddad", accounts={"slack": "U04NOOR", "email": "noor@acme.example"})
    people = People([noor, Member(WS, "ravi", "Ravi")])
    for text in ["noor", "@Noor Haddad", "NOOR@acme.example", "@U04NOOR", "U04NOOR", "@noorhaddad", "@Noor"]:
        assert people.find(text) == noor, text


def test_platform_mention_syntax_is_the_adapters_job_not_the_cores() -> None:
    noor = Member(WS, "noor", "Noor Haddad", accounts={"slack": "U04NOOR"})
    assert isinstance(People([noor]).find("<@U04NOOR>"), PersonNotFound)


def test_a_near_miss_suggests_the_member() -> None:
    people = People([Member(WS, "noor", "Noor Haddad"), Member(WS, "ravi", "Ravi Kumar")])
    found = people.find("@nour")
    assert isinstance(found, PersonNotFound)
    assert found.suggestions == ("noor",)
    assert "Did you mean @noor?" in found.reason
    assert isinstance(people.find("@bob"), PersonNotFound)


def berliner(**kw: object) -> Member:
    return Member(WS, "b", "Bea", tz="Europe/Berlin", hours=Hours(time(9), time(17)), **kw)  # type: ignore[arg-type]


def test_in_hours_shows_local_time_and_city() -> None:
    p = presence(berliner(), datetime(2027, 3, 15, 13, 20, tzinfo=UTC))
    assert p.label() == "🟢 in hours, 14:20 in Berlin"


def test_night_in_sydney_is_a_moon() -> None:
    sydney = Member(WS, "s", "Sam", tz="Australia/Sydney")
    assert presence(sydney, datetime(2027, 3, 15, 15, 10, tzinfo=UTC)).label() == "🌙 02:10 in Sydney"


def test_out_of_office_beats_working_hours() -> None:
    away = berliner(ooo=(DateRange(date(2027, 3, 10), date(2027, 3, 19)),))
    p = presence(away, datetime(2027, 3, 15, 13, 20, tzinfo=UTC))
    assert not p.in_hours and p.rank == 2
    assert p.label().startswith("🏝️ out of office until Fri 19 Mar")
