"""The console's own directives as a person types them into ``meridian console`` (script mode)."""

from __future__ import annotations

from tests.scenarios.transcript import meridian, parse


def run(script: str, start: str = "2027-03-21T22:00Z") -> str:
    done = meridian("console", "--start", start, stdin=script)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def test_as_takes_an_id_or_a_name_in_any_case_and_with_or_without_accents() -> None:
    out = run(":as tomás\n/meridian me\n:as Tomas\n:as TOMAS\n:as TOMÁS\n:as Ravi\n:as tom\n:as\n")
    assert "» alice@#ml-team> :as tomás\n» tomas@#ml-team> /meridian me" in out
    assert "» tomas@#ml-team> :as TOMÁS\n» tomas@#ml-team> :as Ravi\n» ravi@#ml-team> :as tom" in out
    assert "! no member `tom`: `tom` is not a member of this team" in out and "Did you mean @tomas?" in out
    assert "! say who to speak as: `:as ravi` (members: alice, kenji, marta, noor, ravi, tomas)" in out


def test_thread_lists_the_channels_threads_and_enters_the_one_numbered() -> None:
    out = run(":thread\n:at 2027-03-22T09:00Z\n:as marta\n:thread\n:thread 2\nwhich run failed?\n:thread 7\n")
    assert "! there is no thread in #ml-team yet" in out
    second = out.split("» marta@#ml-team> :thread\n", 1)[1]  # the stand-up's and the 08:00 digests' threads
    assert second.startswith("  threads in #ml-team (`:thread N` to reply in one):\n"
                             "  1. Sun 21 Mar 22:30Z  📋 ml-daily — Mon 22 Mar 2027  (0 replies)\n"
                             "  2. Mon 22 Mar 08:00Z  🧪 Experiments since Sun 08:00")
    assert "\n  3. Mon 22 Mar 08:05Z  🌊 Drift: 1 WARN  (1 reply)\n  ↳ replying in thread 3: 🌊 Drift" in second
    assert "↳ replying in thread 2: 🧪 Experiments" in out
    reply = [s for s in parse(out) if s.speaker == "Marta"]
    assert [(s.where, s.body) for s in reply] == [("#ml-team ↳ thread", "which run failed?\n")]
    assert "! no thread `7` in #ml-team: give a number from 1 to 3 (`:thread` lists them)" in out


def test_script_lines_are_echoed_behind_the_prompt_they_were_typed_at() -> None:
    out = run(":as kenji\n:advance 1h  # Monday 09:00 in Sydney\n:dm\nfinished the eval harness\n"
              ":channel #ml-team\n/standup skip today\n")
    assert "» alice@#ml-team> :as kenji\n» kenji@#ml-team> :advance 1h  # Monday 09:00 in Sydney\n" in out
    assert "» kenji@DM> finished the eval harness\n" in out
    assert "» kenji@#ml-team> /standup skip today\n" in out
    # the echo comes before what it caused
    assert out.index("» kenji@DM> finished the eval harness") < out.index("DM kenji | Kenji:\n    finished the eval")


def test_advance_and_at_without_an_argument_explain_themselves() -> None:
    done = meridian("console", "--start", "2027-03-21T22:00Z", "--strict", stdin=":advance\n:at\n:now\n")
    assert done.returncode == 0
    assert ("  :advance moves the clock forward by a duration, e.g. `:advance 90m` (or 2h, 1d, 1w); "
            "`:at 2027-03-15T13:00Z` jumps to an instant") in done.stdout
    assert "  :at jumps the clock to an instant, e.g. `:at 2027-03-15T13:00Z`" in done.stdout
    assert "  now: 2027-03-21 22:00Z" in done.stdout


def test_a_comment_after_a_directive_is_not_part_of_it_but_a_channel_name_is() -> None:
    out = run(":channel #ml-models   # the model channel\nhello models\n:press\n")
    said = parse(out)
    assert [(s.where, s.body) for s in said if s.speaker == "Alice"] == [("#ml-models", "hello models\n")]
    assert "! say which button: `:press Answer` (in your newest DM: none yet)" in out
