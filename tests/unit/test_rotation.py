"""Behaviour of the fair retro-slot planner, with real IANA zones."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.retros.rotation import (
    Member,
    PainScale,
    RotationError,
    format_plan_table,
    is_night_meeting,
    meeting_penalty,
    occurrence_dates,
    parse_candidates,
    parse_duration,
    parse_every,
    parse_hours,
    parse_workdays,
    plan_in_blocks,
    plan_retro,
    plan_rotation,
    plan_to_json,
    starting_burden_for_newcomer,
)

HOUR = timedelta(minutes=60)
TUESDAY = date(2025, 9, 9)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- penalties


def test_meeting_at_0900_local_costs_nothing() -> None:
    berlin = Member("lena", "Europe/Berlin")
    assert meeting_penalty(berlin, utc(2025, 9, 9, 7), HOUR) == 0  # 09:00 CEST


def test_meeting_at_0300_local_costs_ten() -> None:
    berlin = Member("lena", "Europe/Berlin")
    assert meeting_penalty(berlin, utc(2025, 9, 9, 1), HOUR) == 10  # 03:00 CEST


def test_kathmandu_quarter_hour_offset_is_sampled_every_five_minutes() -> None:
    kathmandu = Member("anil", "Asia/Kathmandu")
    # 03:00 UTC is 08:45 in Kathmandu: 3 of 12 samples fall in the 08:00 hour (pain 1).
    assert meeting_penalty(kathmandu, utc(2025, 9, 9, 3), HOUR) == pytest.approx(3 / 12)


def test_meeting_running_into_the_evening_averages_its_minutes() -> None:
    london = Member("ann", "Europe/London")
    # 16:30-17:30 BST: half at pain 0, half at pain 1.
    assert meeting_penalty(london, utc(2025, 9, 9, 15, 30), HOUR) == pytest.approx(0.5)


def test_london_member_sees_the_same_utc_start_an_hour_earlier_after_october_transition() -> None:
    london = Member("ann", "Europe/London")
    before, after = date(2025, 10, 21), date(2025, 11, 4)
    plan = plan_rotation([london], [before, after], HOUR, candidates=["08:00"])
    first, second = (occ.local["ann"] for occ in plan.occurrences)
    assert (first.hour, second.hour) == (9, 8)
    assert [occ.penalty["ann"] for occ in plan.occurrences] == [0, 1]


def test_meeting_across_the_fall_back_hour_is_sampled_on_the_real_clock() -> None:
    # 00:30-01:30 UTC on 26 October 2025: London shows 01:30-01:59 BST, then 01:00-01:29 GMT.
    by_hour = PainScale(hourly=tuple(float(h) for h in range(24)), non_working_day=0)
    london = Member("ann", "Europe/London")
    assert meeting_penalty(london, utc(2025, 10, 26, 0, 30), HOUR, by_hour) == 1.0
    plan = plan_rotation([london], [date(2025, 10, 26)], HOUR, candidates=["00:30"], scale=by_hour)
    assert plan.occurrences[0].penalty["ann"] == 1.0


def test_non_working_day_adds_six() -> None:
    berlin = Member("lena", "Europe/Berlin")
    assert meeting_penalty(berlin, utc(2025, 9, 13, 7), HOUR) == 6  # Saturday 09:00


def test_sunday_to_thursday_week_counts_friday_as_non_working() -> None:
    tel_aviv = Member("noa", "Asia/Jerusalem", workdays=parse_workdays(["sun", "mon", "tue", "wed", "thu"]))
    assert meeting_penalty(tel_aviv, utc(2025, 9, 12, 7), HOUR) == 6  # Friday 10:00 IDT
    assert meeting_penalty(tel_aviv, utc(2025, 9, 14, 7), HOUR) == 0  # Sunday 10:00 IDT


def test_non_working_day_is_the_local_date_of_the_start() -> None:
    sydney = Member("kai", "Australia/Sydney")
    # Friday 23:00 UTC is Saturday 09:00 in Sydney.
    assert meeting_penalty(sydney, utc(2025, 9, 12, 23), HOUR) == 6


def test_pain_curve_follows_a_member_whose_day_starts_at_ten() -> None:
    usual = Member("lena", "Europe/Berlin")
    late_riser = Member("ravi", "Europe/Berlin", hours=parse_hours("10:00-18:00"))
    nine, five_pm = utc(2025, 9, 9, 7), utc(2025, 9, 9, 15)
    assert (meeting_penalty(usual, nine, HOUR), meeting_penalty(late_riser, nine, HOUR)) == (0, 1)
    assert (meeting_penalty(usual, five_pm, HOUR), meeting_penalty(late_riser, five_pm, HOUR)) == (1, 0)


def test_night_means_any_minute_in_local_2200_to_0600() -> None:
    berlin = Member("lena", "Europe/Berlin")
    assert is_night_meeting(berlin, utc(2025, 9, 9, 19, 30), HOUR)  # 21:30-22:30
    assert not is_night_meeting(berlin, utc(2025, 9, 9, 19), HOUR)  # 21:00-22:00
    assert not is_night_meeting(berlin, utc(2025, 9, 9, 4), HOUR)  # 06:00-07:00


def test_custom_pain_scale_is_used() -> None:
    flat = PainScale(hourly=(1,) * 24, non_working_day=0)
    assert meeting_penalty(Member("x", "UTC"), utc(2025, 9, 13, 3), HOUR, flat) == 1


# --------------------------------------------------------------------------- parsing


def test_parsing_retro_settings() -> None:
    assert parse_every("2w") == timedelta(weeks=2)
    assert parse_every("10d") == timedelta(days=10)
    assert parse_duration("60m") == HOUR
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_candidates(["14:00", "08:30", "14:00"]) == [time(8, 30), time(14)]
    assert occurrence_dates(TUESDAY, parse_every("2w"), 3) == [TUESDAY, date(2025, 9, 23), date(2025, 10, 7)]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: parse_every("fortnightly"), "every="),
        (lambda: parse_duration("an hour"), "duration="),
        (lambda: parse_candidates(["14:00", "2pm"]), "'2pm'"),
        (lambda: parse_candidates(["25:00"]), "'25:00'"),
        (lambda: parse_candidates([]), "candidates"),
        (lambda: Member("zed", "Mars/Olympus"), "Mars/Olympus"),
        (lambda: parse_workdays(["funday"]), "funday"),
        (lambda: plan_rotation([], [TUESDAY], HOUR), "at least one member"),
        (lambda: plan_rotation([Member("a", "UTC")], [TUESDAY], HOUR, candidates=["9am"]), "'9am'"),
    ],
)
def test_bad_input_gets_a_readable_error(call: object, fragment: str) -> None:
    with pytest.raises(RotationError, match=fragment.replace("(", r"\(")):
        call()  # type: ignore[operator]


def test_rotation_error_is_a_value_error() -> None:
    assert issubclass(RotationError, ValueError)


# --------------------------------------------------------------------------- planning


def test_one_member_gets_their_best_slot() -> None:
    plan = plan_rotation([Member("solo", "Asia/Tokyo")], occurrence_dates(TUESDAY, parse_every("1w"), 3), HOUR)
    assert plan.burden == {"solo": 0}
    assert all(occ.local["solo"].hour == 9 for occ in plan.occurrences)  # earliest painless start


def _brute_force_leximin(members: list[Member], dates: list[date], candidates: list[str]) -> list[float]:
    starts = [
        [datetime.combine(d, time.fromisoformat(c), tzinfo=UTC) for c in candidates] for d in dates
    ]
    best: list[float] | None = None
    for combo in itertools.product(*starts):
        burdens = [sum(meeting_penalty(m, s, HOUR) for s in combo) for m in members]
        key = sorted((round(b, 9) for b in burdens), reverse=True)
        if best is None or key < best:
            best = key
    assert best is not None
    return best


def test_plan_is_leximin_optimal_on_a_small_team_and_beats_plain_minimum_total() -> None:
    members = [
        Member("sf", "America/Los_Angeles"),
        Member("ny", "America/New_York"),
        Member("ldn", "Europe/London"),
        Member("sg", "Asia/Singapore"),
    ]
    dates = occurrence_dates(TUESDAY, parse_every("1w"), 4)
    candidates = ["01:00", "08:00", "15:00", "22:00"]
    plan = plan_rotation(members, dates, HOUR, candidates=candidates)
    ours = sorted((round(b, 9) for b in plan.burden.values()), reverse=True)
    assert ours == _brute_force_leximin(members, dates, candidates)

    # Minimum total picks each occurrence's cheapest slot on its own and lets one member pay.
    def total(day: date, c: str) -> float:
        start = datetime.combine(day, time.fromisoformat(c), tzinfo=UTC)
        return sum(meeting_penalty(m, start, HOUR) for m in members)

    min_total_starts = [
        datetime.combine(d, time.fromisoformat(min(candidates, key=lambda c, d=d: total(d, c))), tzinfo=UTC)
        for d in dates
    ]
    min_total_peak = max(sum(meeting_penalty(m, s, HOUR) for s in min_total_starts) for m in members)
    assert max(plan.burden.values()) < min_total_peak


def test_retro_is_planned_from_its_team_file_settings() -> None:
    members = [Member("ann", "Europe/London"), Member("ravi", "Asia/Kolkata", hours=parse_hours("10:00-18:00"))]
    plan = plan_retro(members, starts=TUESDAY, every="2w", duration="45m", count=3, candidates=["06:00", "09:00"])
    assert [occ.start_utc.date() for occ in plan.occurrences] == occurrence_dates(TUESDAY, timedelta(weeks=2), 3)
    assert all(occ.start_utc.hour in (6, 9) for occ in plan.occurrences)


def test_same_input_gives_the_same_plan() -> None:
    members = [Member("a", "America/Chicago"), Member("b", "Europe/Paris"), Member("c", "Asia/Kolkata")]
    dates = occurrence_dates(TUESDAY, parse_every("1w"), 6)
    first = plan_rotation(members, dates, HOUR, effort=0.3)
    second = plan_rotation(members, dates, HOUR, effort=0.3)
    assert first == second
    assert plan_to_json(first) == plan_to_json(second)


def test_carried_over_burden_counts_towards_fairness() -> None:
    members = [Member("east", "Asia/Tokyo", burden=40.0), Member("west", "America/Los_Angeles")]
    dates = occurrence_dates(TUESDAY, parse_every("1w"), 3)
    plan = plan_rotation(members, dates, HOUR, candidates=["00:00", "16:00"])  # Tokyo 09:00 or LA 09:00
    # The member who already carries 40 gets every painless slot.
    assert all(occ.penalty["east"] == 0 for occ in plan.occurrences)
    assert plan.burden["east"] == 40.0


def test_published_occurrences_are_kept_and_counted() -> None:
    members = [Member("ann", "Europe/London"), Member("bo", "America/New_York")]
    dates = occurrence_dates(TUESDAY, parse_every("1w"), 3)
    published = utc(2025, 9, 9, 3)  # 04:00 London, 23:00 New York: painful, but already announced
    plan = plan_rotation(members, dates, HOUR, fixed={TUESDAY: published})
    first = plan.occurrences[0]
    assert (first.start_utc, first.fixed) == (published, True)
    assert not any(occ.fixed for occ in plan.occurrences[1:])
    expected = sum(occ.penalty["ann"] for occ in plan.occurrences)
    assert plan.burden["ann"] == pytest.approx(expected)


def test_fixed_occurrence_must_be_one_of_the_dates() -> None:
    with pytest.raises(RotationError, match="2025-09-10"):
        plan_rotation([Member("a", "UTC")], [TUESDAY], HOUR, fixed={date(2025, 9, 10): utc(2025, 9, 10, 9)})


def test_newcomer_starts_at_the_lowest_current_burden() -> None:
    assert starting_burden_for_newcomer({"ann": 12.0, "bo": 7.5, "cy": 30.0}) == 7.5
    assert starting_burden_for_newcomer({}) == 0.0


# Until Sydney's clocks go forward (5 October 2025), no start keeps all four out of 22:00-06:00.
SPREAD_TEAM = [
    Member("sf", "America/Los_Angeles"),
    Member("sao", "America/Sao_Paulo"),
    Member("ber", "Europe/Berlin"),
    Member("syd", "Australia/Sydney"),
]
FOUR_WEEKS = occurrence_dates(TUESDAY, parse_every("1w"), 4)
WHOLE_HOURS = [f"{h:02d}:00" for h in range(24)]


def test_night_cap_is_met_when_it_can_be() -> None:
    # Los Angeles, Berlin and Sydney share one night-free hour (04:00 UTC), which is painful.
    team = [Member("sf", "America/Los_Angeles"), Member("ber", "Europe/Berlin"), Member("syd", "Australia/Sydney")]
    weeks = occurrence_dates(TUESDAY, parse_every("1w"), 6)
    uncapped = plan_rotation(team, weeks, HOUR, candidates=WHOLE_HOURS, effort=0.5)
    assert any(occ.night for occ in uncapped.occurrences)
    capped = plan_rotation(team, weeks, HOUR, candidates=WHOLE_HOURS, night_cap=0, effort=0.5)
    assert capped.night_cap_met
    assert not any(occ.night for occ in capped.occurrences)
    assert max(capped.burden.values()) >= max(uncapped.burden.values())


def test_unmeetable_night_cap_gives_the_best_plan_and_names_who_carries_it() -> None:
    plan = plan_rotation(SPREAD_TEAM, FOUR_WEEKS, HOUR, candidates=WHOLE_HOURS, night_cap=0, effort=0.5)
    assert not plan.night_cap_met
    assert len(plan.occurrences) == 4
    note = next(n for n in plan.notes if "night cap" in n)
    carriers = {m.id for occ in plan.occurrences for m in SPREAD_TEAM if m.id in occ.night}
    assert carriers and all(who in note for who in carriers)


def test_team_without_a_night_free_slot_is_told_who_carries_the_nights() -> None:
    plan = plan_rotation(SPREAD_TEAM, FOUR_WEEKS, HOUR, candidates=WHOLE_HOURS, effort=0.5)
    note = next(n for n in plan.notes if "No start time keeps everyone out of their night" in n)
    for member in SPREAD_TEAM:
        nights = sum(member.id in occ.night for occ in plan.occurrences)
        if nights:
            assert f"{member.id} ×{nights}" in note


def test_team_with_a_night_free_slot_gets_no_night_note() -> None:
    team = [Member("ldn", "Europe/London"), Member("ny", "America/New_York")]
    plan = plan_rotation(team, FOUR_WEEKS[:2], HOUR, night_cap=0)
    assert plan.night_cap_met and plan.notes == []


# --------------------------------------------------------------------------- output


def test_json_has_exactly_the_documented_shape() -> None:
    members = [Member("ann", "Europe/London"), Member("anil", "Asia/Kathmandu")]
    plan = plan_rotation(members, [TUESDAY], HOUR, candidates=["03:00"])
    assert plan_to_json(plan) == {
        "occurrences": [
            {
                "start_utc": "2025-09-09T03:00:00Z",
                "local": {"ann": "2025-09-09T04:00:00+01:00", "anil": "2025-09-09T08:45:00+05:45"},
                "penalty": {"ann": 10.0, "anil": 0.25},
            }
        ],
        "burden": {"ann": 10.0, "anil": 0.25},
    }


def test_json_rounds_penalties_to_two_decimals() -> None:
    plan = plan_rotation([Member("x", "Asia/Kolkata")], [TUESDAY], HOUR, candidates=["02:00"])  # 07:30 IST
    assert plan_to_json(plan)["occurrences"][0]["penalty"] == {"x": 2.0}  # type: ignore[index]
    plan = plan_rotation([Member("x", "Asia/Kathmandu")], [TUESDAY], timedelta(minutes=35), candidates=["03:00"])
    assert plan_to_json(plan)["occurrences"][0]["penalty"] == {"x": 0.43}  # type: ignore[index]


def test_table_shows_local_times_and_early_late_night_counts() -> None:
    members = [Member("ann", "Europe/London"), Member("sf", "America/Los_Angeles")]
    plan = plan_rotation(members, [TUESDAY, date(2025, 9, 16)], HOUR, fixed={TUESDAY: utc(2025, 9, 9, 6)})
    table = format_plan_table(plan)
    assert "2025-09-09 06:00" in table and "(published)" in table
    assert "Tue 07:00" in table and "Mon 23:00" in table  # London early, Los Angeles at night
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.startswith(("ann ", "sf "))}
    assert rows["ann"][1:] == ["1", "0", "0"]  # early, late, night
    assert rows["sf"][1:] == ["0", "1", "1"]


# --------------------------------------------------------------------------- properties

ZONES = ["America/Los_Angeles", "America/Sao_Paulo", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Sydney"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=4),
    hours=st.lists(st.integers(0, 23), min_size=2, max_size=5, unique=True),
    weeks=st.integers(1, 5),
    start=st.dates(date(2025, 1, 1), date(2026, 12, 31)),
)
def test_plan_is_never_worse_than_the_best_fixed_slot(
    zones: list[str], hours: list[int], weeks: int, start: date
) -> None:
    members = [Member(f"m{i}", tz) for i, tz in enumerate(zones)]
    dates = occurrence_dates(start, parse_every("1w"), weeks)
    candidates = [f"{h:02d}:00" for h in hours]
    plan = plan_rotation(members, dates, HOUR, candidates=candidates, effort=0.1)
    best_fixed = min(
        max(sum(meeting_penalty(m, datetime.combine(d, time(h), tzinfo=UTC), HOUR) for d in dates) for m in members)
        for h in hours
    )
    assert max(plan.burden.values()) <= best_fixed + 1e-9
    assert all(occ.start_utc.hour in hours for occ in plan.occurrences)


# --------------------------------------------------------------------------- one plan, however it is asked for

SIX_ZONES = [Member("alice", "America/Los_Angeles"), Member("tomas", "America/Sao_Paulo"),
             Member("marta", "Europe/Berlin", hours=(time(8), time(16))), Member("noor", "Asia/Dubai"),
             Member("ravi", "Asia/Kolkata", hours=(time(10), time(18))), Member("kenji", "Australia/Sydney")]


def test_a_slot_does_not_depend_on_how_many_occurrences_are_asked_for() -> None:
    starts = {n: [o.start_utc for o in plan_retro(SIX_ZONES, starts=date(2027, 1, 4), every="2w", duration="60m",
                                                  count=n).occurrences] for n in (4, 8, 12)}
    assert starts[4] == starts[8][:4] == starts[12][:4]
    assert starts[8] == starts[12][:8]


def test_a_slot_does_not_depend_on_the_order_members_are_listed_in() -> None:
    forward = plan_retro(SIX_ZONES, starts=date(2027, 1, 4), every="2w", duration="60m", count=6)
    backward = plan_retro(SIX_ZONES[::-1], starts=date(2027, 1, 4), every="2w", duration="60m", count=6)
    assert [o.start_utc for o in forward.occurrences] == [o.start_utc for o in backward.occurrences]


def test_a_block_whose_slots_are_kept_is_planned_as_before_and_the_next_block_carries_its_burden() -> None:
    dates = occurrence_dates(date(2027, 1, 4), timedelta(weeks=2), 12)
    whole = plan_in_blocks(SIX_ZONES, dates, HOUR)
    kept = {d: o.start_utc for d, o in zip(dates[:6], whole.occurrences[:6], strict=True)}
    again = plan_in_blocks(SIX_ZONES, dates, HOUR, fixed=kept)
    assert [o.start_utc for o in again.occurrences] == [o.start_utc for o in whole.occurrences]
