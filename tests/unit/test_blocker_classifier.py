"""How the blocker answer is read: negations and "nothing"-answers are not blockers; unclear ones are asked about."""

from __future__ import annotations

import pytest

from bot.standups.blockers import classify

NOT_BLOCKERS = [
    # the answers issue 10 saw flagged as blockers
    "VPN fixed, no blockers", "None, thanks", "not blocked anymore", "waiting for nothing :)", "bye",
    # the usual ways of saying nothing is in the way
    "nope", "n/a", "N/A", "-", "—", "nothing blocking", "all good", "no blockers 🎉", "none", "None.", "no", "No!",
    "nothing", "Nothing, thanks!", "nah all good", "Nope, all good", "no blockers today", "Not blocked, thanks",
    "no longer blocked", "nothing is blocking me", "nobody is blocking me", "zero blockers", "no issues",
    "None so far", "all clear 👍", "thanks!", "ok", "no blockers at the moment", "Not at the moment",
    "nothing in my way", "not really", "none 🙂", "nothing new", "I'm not blocked", "I’m not blocked",
    "No blockers, VPN fixed", "not waiting on anyone", "don't need anything", "nothing to report",
    "no problems, thank you", "Unblocked!", "",
]

BLOCKERS = [
    "blocked on GPU quota", "Blocked on GPU quota <!channel> & <@U123>", "waiting on legal review",
    "can't access the bucket", "need review from @marta", "no blockers, but waiting on legal",
    "Not blocked, but I need review from @marta", "nothing blocking except the flaky CI", "stuck on the flaky CI",
    "Still waiting for the data dump", "cannot reproduce the eval numbers", "VPN is down", "no access to prod data",
    "Blocker: the labelling vendor", "depends on infra ticket INFRA-12", "GPU quota", "Waiting on GPU quota",
    "blocked on data access", "blocked until the VPN is fixed", "waiting for Noor's sign-off",
]

UNSURE = ["the data pipeline", "same as yesterday", "maybe", "yes", "see Slack thread", "Noor's PR",
          "the churn model", "hmm, not sure"]


@pytest.mark.parametrize("text", NOT_BLOCKERS)
def test_negations_and_nothing_answers_are_not_blockers(text: str) -> None:
    assert classify(text) == "none"


@pytest.mark.parametrize("text", BLOCKERS)
def test_something_in_the_way_is_a_blocker(text: str) -> None:
    assert classify(text) == "blocker"


@pytest.mark.parametrize("text", UNSURE)
def test_answers_that_say_neither_are_unsure(text: str) -> None:
    assert classify(text) == "unsure"
