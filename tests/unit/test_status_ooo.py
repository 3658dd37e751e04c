"""Which chat statuses mean out of office, which days they cover, and the team file's ``ooo_status:``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.bootstrap import team_sections
from bot.kernel.domain import Hours, Member, StatusAway
from bot.kernel.ports import ChatStatus
from bot.kernel.status import StatusRules, emoji_name, section_rules
from bot.kernel.teamfile import TeamFileError, TeamSection, parse_team

ROOT = Path(__file__).resolve().parents[2]
SECTIONS: list[TeamSection] = team_sections()
MON, TUE, WED = date(2027, 4, 5), date(2027, 4, 6), date(2027, 4, 7)


def said(emoji: str = "", text: str = "") -> ChatStatus:
    return ChatStatus(emoji, text)


@pytest.mark.parametrize("status", [said(":palm_tree:"), said(":face_with_thermometer:", "feeling rough"),
                                    said(":palm_tree::skin-tone-3:"), said("", "OOO until Monday"),
                                    said("", "ooo"), said("", "Out   of\toffice"), said("", "On vacation!"),
                                    said(":house:", "PTO (back 12th)"), said(":beach_with_umbrella:", "")])
def test_vacation_and_sick_statuses_count_by_default(status: ChatStatus) -> None:
    assert StatusRules().matches(status)


@pytest.mark.parametrize("status", [said(), said(":spiral_calendar_pad:", "In a meeting"), said("", "Gooood"),
                                    said("", "vacationless"), said("", "boooo"), said(":airplane:", "flying to SF"),
                                    said(":bus:", "Commuting")])
def test_other_statuses_do_not(status: ChatStatus) -> None:
    assert not StatusRules().matches(status)


def test_emoji_names_are_read_with_or_without_colons_and_skin_tones() -> None:
    assert [emoji_name(e) for e in (":palm_tree:", "palm_tree", " :Palm_Tree: ", ":+1::skin-tone-2:")] == [
        "palm_tree", "palm_tree", "palm_tree", "+1"]
    assert emoji_name("🌴") is None and emoji_name("two words") is None


def member(**changes: object) -> Member:
    base = Member("w", "ravi", "Ravi", tz="Asia/Kolkata")
    from dataclasses import replace
    return replace(base, **changes)  # type: ignore[arg-type]


def kolkata(day: date, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo
    return datetime.combine(day, time(hour, minute), ZoneInfo("Asia/Kolkata")).astimezone(UTC)


def test_a_day_counts_when_the_status_still_holds_at_the_end_of_its_working_hours() -> None:
    today = StatusAway("🌴", "Vacation", MON, kolkata(TUE, 23, 59), "slack")
    assert member(status_away=(today,)).away_reason(MON) == "out of office until Tue 6 Apr — Slack status 🌴 Vacation"
    back_at_noon = StatusAway("🌴", "", MON, kolkata(TUE, 12), "slack")
    ravi = member(status_away=(back_at_noon,))
    assert ravi.away_reason(MON) == "out of office — Slack status 🌴" and not ravi.is_away(TUE)
    lunch = StatusAway("🌴", "", MON, kolkata(MON, 13), "slack")
    assert not member(status_away=(lunch,)).is_away(MON)
    night_shift = member(hours=Hours(time(22, 0), time(6, 0)), status_away=(back_at_noon,))
    assert night_shift.is_away(MON) and not night_shift.is_away(TUE)  # Monday's shift ends Tuesday 06:00


def test_a_status_never_covers_days_before_it_was_seen_and_an_open_one_lasts_a_year_at_most() -> None:
    open_ended = StatusAway("🤒", "Out sick", TUE, None, "slack")
    ravi = member(status_away=(open_ended,))
    assert not ravi.is_away(MON) and ravi.away_reason(WED) == "out of office — Slack status 🤒 Out sick"
    assert ravi.is_away(date(2028, 4, 5)) and not ravi.is_away(date(2028, 4, 6))


def test_a_dated_out_of_office_comes_first_and_an_ended_status_keeps_its_days() -> None:
    from bot.kernel.domain import DateRange
    ended = StatusAway("🌴", "", MON, kolkata(WED, 9), "slack")
    ravi = member(ooo=(DateRange(TUE, WED),), status_away=(ended,))
    assert ravi.away_reason(MON) == "out of office until Tue 6 Apr — Slack status 🌴"
    assert ravi.away_reason(TUE) == "out of office until Wed 7 Apr"


def errors_of(text: str) -> list[str]:
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "t.yaml", SECTIONS)
    return err.value.errors


TEAM = "workspace: w\nmembers:\n  - {id: a, tz: UTC}\n"


def test_the_team_file_names_its_own_emoji_and_words() -> None:
    tf = parse_team(TEAM + 'ooo_status:\n  emoji: [":airplane:", palm_tree]\n  text: [sabbatical, "  parental   leave"]\n',
                    "t.yaml", SECTIONS)
    rules = section_rules(tf.raw["ooo_status"])
    assert rules == StatusRules((":airplane:", ":palm_tree:"), ("sabbatical", "parental leave"))
    assert rules.matches(said(":airplane:")) and rules.matches(said("", "On parental leave"))
    assert not rules.matches(said("", "OOO"))
    assert section_rules({"text": []}).emoji == StatusRules().emoji  # a list left out keeps the default


def test_bad_ooo_status_entries_are_named_by_line() -> None:
    errs = errors_of(TEAM + 'ooo_status:\n  emoji: ["🌴", ":palm tree:"]\n  text: vacation\n  colour: red\n')
    assert errs == [
        "t.yaml:7: unknown key `colour` for ooo_status (known: emoji, text)",
        't.yaml:5: `🌴` is not an emoji name; write Slack\'s name, like ":palm_tree:"',
        't.yaml:5: `:palm tree:` is not an emoji name; write Slack\'s name, like ":palm_tree:"',
        "t.yaml:6: text must be a list, like [OOO, vacation]",
    ]
    assert errors_of(TEAM + "ooo_status: [palm_tree]\n") == [
        't.yaml:4: ooo_status must be a mapping like {emoji: [":palm_tree:"], text: [OOO, vacation]}']
    assert errors_of(TEAM + "ooo_status: {text: [42, '']}\n") == ["t.yaml:4: each text entry must be text"] * 2


def test_a_member_turns_it_off_with_a_real_boolean() -> None:
    tf = parse_team("workspace: w\nmembers:\n  - {id: a, tz: UTC, status_ooo: false}\n", "t.yaml", SECTIONS)
    assert tf.members[0].status_ooo is False
    assert errors_of("workspace: w\nmembers:\n  - {id: a, tz: UTC, status_ooo: \"no\"}\n") == [
        't.yaml:3: status_ooo must be true or false, written without quotes, not "no"']


def test_the_published_schema_knows_ooo_status_and_status_ooo() -> None:
    schema = json.loads((ROOT / "docs" / "team.schema.json").read_text())
    good = yaml.safe_load(TEAM + "ooo_status: {emoji: [':airplane:'], text: [OOO]}\n")
    good["members"][0]["status_ooo"] = False
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "ooo_status": {"emojis": []}}, schema)
