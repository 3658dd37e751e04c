"""Is an answer to the blocker question a blocker? Read it as a person would, and ask when unsure.

A keyword test listed ``VPN fixed, no blockers`` and ``bye`` as blockers. Here an answer is
cut into clauses (at commas, full stops and words like "but" or "except"); a clause that says
there is nothing in the way (``no blockers``, ``not blocked anymore``, ``waiting for nothing``,
``all good``, ``n/a``) or that something was fixed counts against a blocker, pleasantries
(``thanks``, ``bye``, emoji) count for nothing, and a clause that says something is in the way
(``blocked on``, ``waiting on``, ``need``, ``can't``) makes it a blocker, whatever the other
clauses say (``no blockers, but waiting on legal``). An answer with none of these is *unsure*:
the person is asked once, by buttons in their DM, and their answer is kept with the text it
was about (an edit to the text is a new answer).

Until the person answers, an unsure answer is shown as a *possible* blocker: listed with the
blockers, marked unconfirmed, so that nothing in the way is silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from bot.kernel.domain import Standup
from bot.kernel.ports import StandupRun

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

Verdict = Literal["blocker", "none", "unsure"]

# --- reading an answer ---------------------------------------------------------------------------
_CLAUSE_BREAK = re.compile(r"[,;.!?\n]+|\b(?:but|except|however|although|though|apart from|other than)\b")
_NOT_TEXT = re.compile(r"[^\w@'/\s,;.!?-]+")  # emoji, smileys, quotes and the like say nothing here

_FILLER = re.compile(r"\b(?:thanks?|thank you|thx|ty|tyvm|cheers|bye|goodbye|see you|see ya|cya|ok|okay|k|"
                     r"cool|great|awesome|nice|yay|woohoo|lol|haha|hi|hello|hey|please|pls|so far|for now|"
                     r"at the moment|atm|right now|currently|today|this week|yet|anymore|any more|"
                     r"as of now|here|on my side|on my end|from me|for me|really|at all|whatsoever|"
                     r"i think|i guess|luckily|happily|fortunately|again|folks|team|all)\b")

# A whole clause that means "nothing" once pleasantries and time words are gone.
_NOTHING = {
    "", "-", "--", "no", "nope", "nah", "nay", "none", "nothing", "nil", "zero", "zilch", "na", "n/a", "n a",
    "not", "not really", "nothing really", "good", "fine", "clear", "set", "all good", "all clear", "all fine",
    "all set", "good here", "nothing new", "nothing to report", "nothing major", "nothing serious",
    "nothing much", "nothing to see", "nothing to see here", "none that i know of", "not that i know of", "not that i'm aware of", "can't complain",
    "cant complain", "no worries", "smooth sailing", "same", "nothing blocking", "nothing in the way",
    "no one", "nobody", "no-one", "not blocked", "unblocked", "none so far",
}

_NOTHING_WORDS = {"no", "nope", "nah", "none", "nothing", "nil", "zero", "na", "good", "fine", "clear", "set"}

# Spans that say nothing is in the way; they are removed before looking for signs of a blocker.
_NEGATION = re.compile(
    r"\b(?:no|zero|without(?: any)?|not any|nothing|nothing's|isn't anything)\s+(?:more\s+|real\s+|major\s+|big\s+)?"
    r"(?:blockers?|blocking(?: issues?)?|blocked|impediments?|issues?|problems?|obstacles?)\b"
    r"|\b(?:not|no longer|never|isn't|aren't|am not|i'm not|im not|nothing is|nothing's|no one is|nobody is|"
    r"nobody's|no one's)\s+(?:really\s+|currently\s+|yet\s+)?(?:blocked|blocking|stuck|in (?:my|the|our) way)\b"
    r"|\bnothing\s+(?:is\s+)?(?:blocking|stopping|in (?:my|the|our) way|holding (?:me|us) (?:up|back))\b"
    r"|\b(?:waiting|blocked|stuck|held up)\s+(?:for|on|by)\s+(?:nothing|nobody|no one|no-one|noone)\b"
    r"|\b(?:not|no longer)\s+waiting\s+(?:for|on)\s+(?:anything|anyone|anybody)\b"
    r"|\b(?:don't|dont|do not)\s+need\s+(?:anything|any help|help)\b",
    re.IGNORECASE,
)

# Signs that something is in the way.
_BLOCKER = re.compile(
    r"\b(?:block(?:ed|ing|er|ers)?|stuck|waiting|awaiting|wait(?:ing)? (?:for|on)|pending|need(?:s|ed|ing)?|"
    r"require(?:s|d)?|can't|cant|cannot|can not|unable|couldn't|couldnt|won't|doesn't work|does not work|"
    r"not working|isn't working|depends? on|depending on|dependent on|down|broken|broke|fail(?:s|ed|ing|ure)?|"
    r"crash(?:es|ed|ing)?|outage|error(?:s)?|quota|permission(?:s)?|access|approval|sign-?off|"
    r"out of (?:memory|disk|space|gpus?|credits?|budget)|oom|bottleneck|impediment|held up|holding (?:me|us) up|"
    r"missing|no response|no reply|haven't (?:got|received|heard)|still no|delayed|flaky|timeout|timing out|"
    r"help)\b",
    re.IGNORECASE,
)

# A clause that reports something was fixed ("VPN fixed") tells of no blocker today.
_RESOLVED = re.compile(r"\b(?:fixed|resolved|solved|sorted(?: out)?|unblocked|cleared|done|gone|works now|"
                       r"working now|back up)\b", re.IGNORECASE)


def _clean(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").lower()
    text = re.sub(r"\bn/a\b", "na", text)
    return _NOT_TEXT.sub(" ", text)


def _clause_verdict(clause: str) -> Literal["blocker", "none", "filler", "other"]:
    """What one clause says: a blocker, none, nothing at all (pleasantries), or something unclear."""
    words = " ".join(clause.split())
    if not words.strip(" -'/"):
        return "filler"
    if _NEGATION.search(words):
        rest = _NEGATION.sub(" ", words)
        return "blocker" if _BLOCKER.search(rest) else "none"
    core = " ".join(_FILLER.sub(" ", words).split()).strip(" -'")
    if core in _NOTHING or all(w in _NOTHING_WORDS for w in core.split()):
        return "none"
    if _BLOCKER.search(words):
        return "blocker"
    if _RESOLVED.search(words):
        return "none"
    return "other"


def classify(text: str) -> Verdict:
    """``blocker`` when something is in the way, ``none`` when nothing is, ``unsure`` when a person should say."""
    cleaned = _clean(text)
    verdicts = [_clause_verdict(c) for c in _CLAUSE_BREAK.split(cleaned)]
    if "blocker" in verdicts:
        return "blocker"
    if "none" in verdicts or all(v == "filler" for v in verdicts):
        return "none"
    return "unsure"


# --- what the person said, when asked ------------------------------------------------------------
def verdict_key(member: str, standup: str, day: date) -> str:
    # Under the member's prefix, so forget-me deletes it and a merge moves it.
    return f"member:{member}:blocker:{standup}:{day.isoformat()}"


@dataclass(frozen=True)
class Blocker:
    """The blocker answer of one run, as the summary and the thread show it."""

    text: str
    confirmed: bool
    """``False`` for an answer Meridian could not read and the person has not yet confirmed."""


def blocker_text(s: Standup, run: StandupRun) -> str:
    i = s.blocker_question()
    if i is None or run.status != "answered" or i >= len(run.answers):
        return ""
    return run.answers[i].strip()


def verdict_of(app: Meridian, s: Standup, run: StandupRun) -> Verdict:
    """The person's own word when they gave it for this very text, else what the classifier reads."""
    text = blocker_text(s, run)
    if not text:
        return "none"
    stored = app.store.kv_get(s.workspace, verdict_key(run.member, s.name, run.day))
    if isinstance(stored, dict) and stored.get("text") == text and stored.get("verdict") in {"blocker", "none"}:
        return "blocker" if stored["verdict"] == "blocker" else "none"
    return classify(text)


def blocker_in(app: Meridian, s: Standup, run: StandupRun) -> Blocker | None:
    """The run's blocker (confirmed, or possible while unsure), or ``None``."""
    verdict = verdict_of(app, s, run)
    if verdict == "none":
        return None
    return Blocker(blocker_text(s, run), confirmed=verdict == "blocker")
