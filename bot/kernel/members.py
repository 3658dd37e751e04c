"""Finding the member a person means, the ways people write them.

One resolver for every capability: ``@ravi``, ``ravi``, ``Ravi Kumar``, ``ravi@acme.example``,
a platform account the team file lists (``U04RAVI``), accents and case ignored, and a
"did you mean" when a name is close but not exact. Platform mention syntax never reaches
here: chat adapters turn a mention into ``@member-id`` (or the person's account id when
no member has it yet) before the core sees the text.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot.kernel.domain import Member

_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The form names are compared in: accents stripped, case folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(bare.casefold()))


@dataclass(frozen=True)
class PersonNotFound:
    """Why a written reference to a person names nobody, or more than one."""

    text: str
    reason: str
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.reason


class People:
    """Finds members the ways people write them: id, ``@name``, full or first name, email, or an account id."""

    def __init__(self, members: Iterable[Member]) -> None:
        self._by_id: dict[str, Member] = {}
        self._by_account: dict[str, Member] = {}
        self._by_name: dict[str, list[Member]] = {}
        for m in members:
            self._by_id[m.id.casefold()] = m
            for value in m.accounts.values():
                self._by_account.setdefault(value.casefold(), m)
            full = normalise(m.name)
            keys = {full, full.replace(" ", "")}
            for key in keys:
                self._by_name.setdefault(key, []).append(m)
        self._first: dict[str, list[Member]] = {}
        for m in self._by_id.values():
            first = normalise(m.name).split(" ")[0] if normalise(m.name) else ""
            if first:
                self._first.setdefault(first, []).append(m)

    def find(self, text: str) -> Member | PersonNotFound:
        bare = text.strip().rstrip(",.:;").lstrip("@").strip()
        if not bare:
            return PersonNotFound(text, "an empty name is not a person.")
        folded = bare.casefold()
        hit = self._by_id.get(folded) or self._by_account.get(folded)
        if hit is not None:
            return hit
        key = normalise(bare)
        named = self._by_name.get(key) or self._first.get(key, [])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = ", ".join(sorted(m.id for m in named))
            return PersonNotFound(text, f"`{bare}` could be any of {ids}; use the member id.")
        close = self.close_to(bare)
        hint = f" Did you mean {' or '.join(f'@{c}' for c in close)}?" if close else ""
        return PersonNotFound(text, f"`{bare}` is not a member of this team (use a member id, name or email).{hint}",
                              close)

    def close_to(self, text: str, limit: int = 2) -> tuple[str, ...]:
        """Member ids whose id or name is spelled close to ``text``."""
        key = normalise(text)
        names = {normalise(m.name): m.id for m in self._by_id.values() if m.name}
        names.update({i: m.id for i, m in self._by_id.items()})
        found = difflib.get_close_matches(key, list(names), n=limit * 2, cutoff=0.75)
        ids: list[str] = []
        for name in found:
            if names[name] not in ids:
                ids.append(names[name])
        return tuple(ids[:limit])
