"""Finding the activity a person means: exact names and aliases, typos, and "did you mean".

Lookups are forgiving because people type activity names from memory: names are
compared after accent stripping and case folding, aliases count as names, and small
typos are caught by a trigram index that keeps a fuzzy lookup among ten thousand
activities to a few milliseconds.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.kernel.members import normalise
from bot.raci.model import MAX_NAME_LENGTH

CONFIDENT = 0.8
"""A lookup names one activity when its best score reaches this and no other activity is close."""


def _trigrams(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swapped neighbours.

    With ``limit``, gives up as soon as the distance must exceed it and returns ``limit + 1``:
    a lookup only cares how close near names are, and far ones are most of the work.
    """
    if a == b:
        return 0
    cap = max(len(a), len(b)) if limit is None else limit
    if not a or not b:
        return min(len(a) or len(b), cap + 1)
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    far = cap + 1
    width = len(b)
    prev2: list[int] = []
    prev = [j if j <= cap else far for j in range(width + 1)]
    for i, ca in enumerate(a, 1):
        cur = [far] * (width + 1)
        if i <= cap:
            cur[0] = i
        low, high = max(1, i - cap), min(width, i + cap)
        row_best = cur[0]
        for j in range(low, high + 1):
            cb = b[j - 1]
            best = prev[j - 1] if ca == cb else prev[j - 1] + 1
            if prev[j] + 1 < best:
                best = prev[j] + 1
            if cur[j - 1] + 1 < best:
                best = cur[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and prev2[j - 2] + 1 < best:
                best = prev2[j - 2] + 1
            cur[j] = best
            if best < row_best:
                row_best = best
        if row_best > cap:
            return far
        prev2, prev = prev, cur
    return min(prev[-1], far)


def _similarity(a: str, b: str, floor: float = 0.0) -> float:
    """1 for equal strings, falling with each edit; anything below ``floor`` may be reported as 0."""
    longest = max(len(a), len(b))
    if not longest:
        return 1.0
    limit = int((1.0 - floor) * longest)
    distance = edit_distance(a, b, limit)
    return 0.0 if distance > limit else 1.0 - distance / longest


@lru_cache(maxsize=1 << 16)
def _word_similarity(word: str, other: str) -> float:
    """Cached: a team's activity names reuse a small vocabulary, so the same pairs come up again and again."""
    if word == other:
        return 1.0
    if len(word) >= 3 and other.startswith(word):
        return 0.9
    return _similarity(word, other, floor=0.5)


def score(query: str, key: str) -> float:
    """How well a normalised query names a normalised key, from 0 to 1.

    The whole-string similarity catches typos; the word score lets a shorter query
    ("churn model") name a longer activity ("churn model retraining"), a little below a
    full match so that a longer name never outranks an exact one.
    """
    words = query.split()
    key_words = key.split()
    per_word = 0.0
    if words and key_words:
        present = set(key_words)
        per_word = sum(1.0 if w in present else max(_word_similarity(w, k) for k in key_words)
                       for w in words) / len(words)
    by_words = 0.95 * per_word
    return max(by_words, _similarity(query, key, floor=max(0.75, by_words)))


SUGGEST = 0.55
"""A near name is suggested only when it scores this much, or when the query holds all of its words:
an unrelated activity is never offered as "did you mean"."""
MARGIN = 0.08
CANDIDATES = 8
"""How many near names, by shared trigrams and by trigram overlap, are scored in full."""


@dataclass(frozen=True)
class Match:
    """The activity a query names, or the few it might mean."""

    activity: str | None
    suggestions: tuple[str, ...] = ()
    exact: bool = False
    empty: bool = False
    """True when there was nothing to find: the workspace has no activities yet."""


class ActivityIndex:
    """Names and aliases of one workspace's activities, for exact and fuzzy lookups."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]]) -> None:
        self._exact: dict[str, str] = {}
        self._keys: list[str] = []
        self._owners: list[str] = []
        self._grams: dict[str, list[int]] = {}
        self._sizes: list[int] = []
        self._words_of: dict[str, list[set[str]]] = {}
        for name, aliases in entries:
            for text in (name, *aliases):
                key = normalise(text)
                if not key or key in self._exact:
                    continue
                self._exact[key] = name
                slot = len(self._keys)
                self._keys.append(key)
                self._owners.append(name)
                self._words_of.setdefault(name, []).append(set(key.split()))
                grams = _trigrams(key)
                self._sizes.append(len(grams))
                for gram in grams:
                    self._grams.setdefault(gram, []).append(slot)
        self.names: list[str] = sorted(set(self._owners), key=normalise)

    def __len__(self) -> int:
        return len(self.names)

    def taken(self, except_activity: str | None = None) -> dict[str, str]:
        """Normalised name or alias → activity, leaving out one activity (the one being rewritten)."""
        return {k: v for k, v in self._exact.items() if v != except_activity}

    def owner_of(self, text: str) -> str | None:
        return self._exact.get(normalise(text))

    def find(self, text: str, limit: int = 3) -> Match:
        query = normalise(text)[:2 * MAX_NAME_LENGTH]  # a pasted paragraph is not a name; keep its cost bounded
        if not self.names:
            return Match(None, empty=True)
        if not query:
            return Match(None, tuple(self.names[:limit]))
        hit = self._exact.get(query)
        if hit is not None:
            return Match(hit, exact=True)
        ranked = self._rank(query)
        if not ranked:
            return Match(None)
        best_score, best = ranked[0]
        rivals = [s for s, owner in ranked[1:] if owner != best]
        if best_score >= CONFIDENT and (not rivals or rivals[0] < best_score - MARGIN):
            return Match(best)
        words = set(query.split())
        return Match(None, tuple(owner for score_, owner in ranked
                                 if score_ >= SUGGEST or any(w <= words for w in self._words_of[owner]))[:limit])

    def _rank(self, query: str) -> list[tuple[float, str]]:
        """Activities whose keys best share the query's trigrams, scored in full, best first, one entry each.

        Two short lists are scored: the keys sharing the most trigrams (a short query that
        is part of a long name) and the keys with the highest overlap ratio (a typo of a
        whole name). Scoring every key would be exact but far too slow at ten thousand.
        """
        grams = _trigrams(query)
        shared: Counter[int] = Counter()
        for gram in grams:
            postings = self._grams.get(gram)
            if postings:
                shared.update(postings)
        if not shared:
            return []
        floor = max(shared.values()) / 2
        pool = [(slot, count) for slot, count in shared.items() if count >= floor]
        sizes = self._sizes
        n = len(grams)
        by_count = heapq.nlargest(CANDIDATES, pool, key=lambda sc: sc[1])
        by_overlap = heapq.nlargest(CANDIDATES, pool, key=lambda sc: sc[1] / (n + sizes[sc[0]]))
        best: dict[str, float] = {}
        for slot in {slot for slot, _ in by_count + by_overlap}:
            owner = self._owners[slot]
            value = score(query, self._keys[slot])
            if value > best.get(owner, -1.0):
                best[owner] = value
        return sorted(((v, k) for k, v in best.items()), key=lambda vk: (-vk[0], normalise(vk[1])))

    def mentioned_in(self, text: str) -> list[str]:
        """Activities whose name or alias appears, as whole words, in a piece of free text."""
        padded = f" {normalise(text)} "
        found: dict[str, None] = {}
        for key, owner in self._exact.items():
            if f" {key} " in padded:
                found[owner] = None
        return list(found)

    def about(self, text: str, limit: int = 3) -> Match:
        """The activity a whole message is about ("the churn retraining run failed again, anyone?").

        A name or alias written out wins (the longest, so "feature store v2" beats "feature store");
        otherwise every run of two to four words is looked up as a name, and a run that confidently
        names one activity counts, so "churn retraining" finds "churn model retraining". A single
        word never does: "model" alone would name half a chart. Two activities found: both are
        suggestions, nothing is guessed.
        """
        text = text[:ABOUT_CHARS]
        named = self.mentioned_in(text)
        named = [n for n in named if not any(n != other and normalise(n) in normalise(other) for other in named)]
        if len(named) == 1:
            return Match(named[0], exact=True)
        if named:
            return Match(None, tuple(sorted(named, key=normalise))[:limit])
        words = normalise(text).split()[:ABOUT_WORDS]
        found: dict[str, int] = {}
        looked: set[str] = set()
        for size in range(ABOUT_RUN[1], ABOUT_RUN[0] - 1, -1):
            for start in range(len(words) - size + 1):
                run = " ".join(words[start:start + size])
                if run in looked:
                    continue
                looked.add(run)
                hit = self.find(run).activity
                if hit is not None:
                    found.setdefault(hit, size)
        if len(found) == 1:
            return Match(next(iter(found)))
        return Match(None, tuple(sorted(found, key=lambda n: (-found[n], normalise(n))))[:limit],
                     empty=not self.names)


ABOUT_CHARS = 4000
"""How much of a message is read for what it is about: a pasted log is not read whole."""
ABOUT_WORDS = 60
ABOUT_RUN = (2, 4)
"""The shortest and longest runs of words looked up as a name inside a message."""


def did_you_mean(text: str, match: Match) -> str:
    """The answer to a lookup that names no one activity: the nearest names, never an error."""
    names = [f"“{n}”" for n in match.suggestions]
    text = text if len(text) <= 80 else text[:80].rstrip() + "…"
    if match.empty:
        return "There are no RACI activities yet. An admin can add one with /raci set ACTIVITY R @someone A @someone."
    if not names:
        return f"Nothing is called “{text}”, and no activity has a name close to it. /raci list shows them all."
    if len(names) > 1 and all(normalise(text) in normalise(n) for n in match.suggestions[:2]):
        lead = f"“{text}” could be more than one activity. Did you mean "
    else:
        lead = f"Nothing is called “{text}”. Did you mean "
    return lead + ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1] + "?"
