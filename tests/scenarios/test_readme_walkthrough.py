"""The README's walkthrough, run verbatim through the command ``scripts/demo`` runs, does what the README says.

The script is the first ``text`` block under "Try it" in README.md, and the command is read from
``scripts/demo`` (its ``exec .venv/bin/meridian …`` line), so a change to either without the
behaviour breaks this test.
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.scenarios.transcript import ROOT, Said, after_echo, meridian, parse


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Try it"):]
    found = re.search(r"```text\n(.*?)```", section, re.S)
    assert found, "README.md has no ```text block under 'Try it'"
    return found.group(1)


def demo_command() -> list[str]:
    """``scripts/demo``'s console arguments, with its variables filled in and ``"$@"`` left out."""
    script = (ROOT / "scripts" / "demo").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_]+)=(\S+)$", script, re.M))
    line = next(x for x in script.splitlines() if x.startswith("exec .venv/bin/meridian "))
    words = [w for w in shlex.split(line)[2:] if w != "$@"]
    return [re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: variables[m.group(1)], w) for w in words]


@pytest.fixture(scope="module")
def run() -> tuple[str, list[Said]]:
    args = demo_command()
    assert args[0] == "console"
    done = meridian(*args, "--strict", stdin=walkthrough())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert done.stderr == ""
    return done.stdout, parse(done.stdout)


def test_everyone_working_is_reminded_at_0930_their_time_on_monday(run: tuple[str, list[Said]]) -> None:
    _, said = run
    for who, utc in [("kenji", "2027-03-21 22:30"), ("noor", "2027-03-22 05:30"),
                     ("marta", "2027-03-22 08:30"), ("tomas", "2027-03-22 12:30"), ("alice", "2027-03-22 16:30")]:
        reminders = [s for s in said if s.where == f"DM {who}" and s.speaker == "Meridian"
                     and "Stand-up: ml-daily — Mon 22 Mar 2027" in s.body]
        assert [(r.utc, r.day, r.local) for r in reminders] == [(utc, "Mon", "09:30")], who


def test_ravi_is_not_reminded_on_holi_and_the_summary_says_why(run: tuple[str, list[Said]]) -> None:
    _, said = run
    assert not [s for s in said if s.where == "DM ravi"]  # Holi: a public holiday of his calendar (IN-KA)
    summaries = [s for s in said if s.where == "#ml-team ↳ thread" and "🧾 ml-daily summary — Mon 22 Mar 2027" in s.body]
    assert "Away (1): Ravi (holiday: Holi)" in summaries[0].body


def test_the_digests_arrive_at_eight_london_time_and_say_they_are_demo_data(run: tuple[str, list[Said]]) -> None:
    _, said = run
    experiments = [s for s in said if s.where == "#ml-team" and "🧪 Experiments since" in s.body]
    drift = [s for s in said if s.where == "#ml-team" and "🌊 Drift" in s.body and s.speaker == "Meridian"]
    assert [(s.utc, s.local) for s in experiments] == [("2027-03-22 08:00", "08:00")]
    assert [(s.utc, s.local) for s in drift] == [("2027-03-22 08:05", "08:05")]
    threads = [s for s in said if s.where == "#ml-team ↳ thread" and s.utc in {"2027-03-22 08:00", "2027-03-22 08:05"}]
    assert threads
    for message in experiments + drift + threads:
        assert "Demo data" in message.body


def test_martas_answers_go_into_the_days_thread_with_her_blocker(run: tuple[str, list[Said]]) -> None:
    out, said = run
    post = [s for s in said if s.where == "#ml-team ↳ thread" and s.body.startswith("@Marta")]
    assert len(post) == 1
    for answer in ("Retrained churn v7", "Compare v7 with the champion", "Blocked on GPU quota"):
        assert answer in post[0].body
    assert "Blocker" in post[0].body
    opened = [s for s in said if s.where == "#ml-team" and s.speaker == "Meridian" and s.body.startswith("📋 ml-daily — Mon 22 Mar 2027")]
    assert len(opened) == 1
    listing = after_echo(out, ":thread                   # the channel's threads, numbered; you now reply in the "
                              "newest (:thread 1 for the first)")
    assert "1. Sun 21 Mar 22:30Z  📋 ml-daily — Mon 22 Mar 2027" in listing  # opened by Kenji's reminder
    assert "↳ replying in thread 3" in listing


def test_the_summary_follows_the_last_cutoff_and_the_report_repeats_it(run: tuple[str, list[Said]]) -> None:
    out, said = run
    summaries = [s for s in said if s.where == "#ml-team ↳ thread" and "🧾 ml-daily summary — Mon 22 Mar 2027" in s.body]
    assert [s.utc for s in summaries] == ["2027-03-23 00:00"]  # Alice's 17:00 PDT
    assert "Marta" in summaries[0].body.split("\n")[1]  # answered
    assert "Blocked on GPU quota" in summaries[0].body
    assert any("1/5 answered (Ravi away) · 1 blocker" in s.body for s in said if s.where == "#ml-team")
    report = parse(after_echo(out, "/standup report"))
    assert report and "Mon 22 Mar 2027" in report[0].body and "Blocked on GPU quota" in report[0].body


def test_every_line_is_echoed_where_it_was_typed_and_nothing_leaks(run: tuple[str, list[Said]]) -> None:
    out, _ = run
    assert "» marta@DM> Retrained churn v7" in out
    assert "» marta@#ml-team> :thread" in out
    assert "Console commands:" in out  # :help
    assert "Traceback" not in out and " WARNING " not in out and " ERROR " not in out
    assert not re.search(r"\bm\d+\b", out), "a platform message id reached the transcript"
