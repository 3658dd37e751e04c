"""Public holidays: which days a person's country (and region) stops work, and the team's own days off.

The dates come from the ``holidays`` package, which is kept current by its maintainers for
about 250 countries and their regions; no holiday is written here. The package is imported
when a calendar is first asked (it is slow to import). A lookup builds a whole
year for a country and region, so it is cached per (country, region, year): asking whether a
day is a holiday is then a dictionary lookup, whatever the planner's window.

A calendar is a plain value (``HolidayCalendar``) a member carries, so ``Member.is_away`` can
answer without a store. Codes people type are checked here too: an unknown country or region
is one line naming the code and the nearest known ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from holidays import HolidayBase

TEAM_DAY = "team day off"
"""The name a team's own day off (``extra``) has when the file gives none."""


class CalendarInputError(ValueError):
    """A country, region or day of a holiday calendar that cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class HolidayCalendar:
    """The days a person does not work beyond their weekends: a country's (and region's) public holidays,
    plus the team's own days off (``extra``), minus the days the team works anyway (``removals``).

    ``country`` ``None`` means no public holidays (only the extra days)."""

    country: str | None = None
    subdivision: str | None = None
    extra: tuple[tuple[date, str], ...] = ()
    removals: frozenset[date] = frozenset()

    def holiday(self, day: date) -> str | None:
        """The holiday's name on ``day``, or ``None`` on an ordinary day."""
        if day in self.removals:
            return None
        for extra_day, name in self.extra:
            if extra_day == day:
                return name
        if self.country is None:
            return None
        return public_holidays(self.country, self.subdivision, day.year).get(day)

    def between(self, first: date, last: date) -> Iterator[tuple[date, str]]:
        """Every holiday from ``first`` to ``last`` (inclusive), in date order."""
        days: dict[date, str] = {}
        if self.country is not None:
            for year in range(first.year, last.year + 1):
                days.update(public_holidays(self.country, self.subdivision, year))
        days.update(self.extra)
        for day in sorted(days):
            if first <= day <= last and day not in self.removals:
                yield day, days[day]

    @property
    def code(self) -> str:
        """``IN-KA``, ``GB``, or ``none``: the short form a team file accepts."""
        if self.country is None:
            return "none"
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def describe(self) -> str:
        """``India, Karnataka (IN-KA)``; ``no public holidays``; with the team's own days counted."""
        if self.country is None:
            text = "no public holidays"
        else:
            region = subdivision_name(self.country, self.subdivision) if self.subdivision else None
            text = f"{country_name(self.country)}{', ' + region if region else ''} ({self.code})"
        if self.extra:
            text += f", plus {len(self.extra)} team day{'s' if len(self.extra) != 1 else ''} off"
        if self.removals:
            text += f", working on {len(self.removals)} of its holidays"
        return text

    def beyond(self, team: HolidayCalendar | None) -> HolidayCalendar:
        """What this calendar adds to the team's: the team's days off and removals taken out (``meridian
        export`` writes a member's own ``holidays:`` so that reading it over the team's gives this one back)."""
        if team is None:
            return self
        return HolidayCalendar(self.country, self.subdivision, tuple(e for e in self.extra if e not in team.extra),
                               self.removals - team.removals)

    def to_data(self) -> dict[str, Any]:
        """The team-file mapping for this calendar (``meridian export``, and how the store keeps it)."""
        data: dict[str, Any] = {"country": self.country if self.country is not None else "none"}
        if self.subdivision:
            data["subdivision"] = self.subdivision
        if self.extra:
            data["extra"] = [d.isoformat() if name == TEAM_DAY else {"date": d.isoformat(), "name": name}
                             for d, name in self.extra]
        if self.removals:
            data["removals"] = [d.isoformat() for d in sorted(self.removals)]
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> HolidayCalendar:
        """A calendar ``to_data`` wrote (trusted: it was validated when it was first read)."""
        country = data.get("country")
        extra = []
        for item in data.get("extra", ()):
            if isinstance(item, dict):
                extra.append((date.fromisoformat(str(item["date"])), str(item.get("name") or TEAM_DAY)))
            else:
                extra.append((date.fromisoformat(str(item)), TEAM_DAY))
        return cls(None if country in (None, "none") else str(country), data.get("subdivision"), tuple(extra),
                   frozenset(date.fromisoformat(str(d)) for d in data.get("removals", ())))


@cache
def public_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """One year of a country's (and region's) public holidays, named in English where the package can."""
    import holidays  # imported when first needed: it takes a noticeable part of a second

    language = _english(country)
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return {day: str(name) for day, name in found.items()}


@cache
def _entity(country: str) -> HolidayBase:
    import holidays

    return holidays.country_holidays(country)


def _english(country: str) -> str | None:
    entity = _entity(country)
    languages = tuple(entity.supported_languages or ())
    default = entity.default_language or ""
    if default.startswith("en"):
        return default
    return "en_US" if "en_US" in languages else next((lang for lang in languages if lang.startswith("en")), None)


@cache
def _countries() -> tuple[dict[str, str], dict[str, str]]:
    """Every code the package knows (two letters, three letters, aliases like ``UK``) → its two-letter code,
    and each two-letter code → the country's name in English."""
    from holidays import registry

    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for key, entry in registry.COUNTRIES.items():
        code = entry[1]
        names[code] = key.replace("_", " ").title().replace(" And ", " and ").replace(" Of ", " of ")
        for alias in entry[1:]:
            if re.fullmatch(r"[A-Z]{2,3}", alias):
                codes.setdefault(alias, code)
    return codes, names


def country_name(code: str) -> str:
    return _countries()[1].get(code, code)


def subdivision_name(country: str, subdivision: str) -> str:
    aliases = _entity(country).subdivisions_aliases or {}
    return next((name for name, code in aliases.items() if code == subdivision and name.isascii()), subdivision)


def _folded(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


def read_country(text: str) -> str:
    """A country's two-letter code from its code (``IN``, ``ind``, ``UK``) or its English name (``India``)."""
    codes, names = _countries()
    wanted = text.strip()
    code = codes.get(wanted.upper())
    if code is not None:
        return code
    by_name = {_folded(name): code for code, name in names.items()}
    if _folded(wanted) in by_name:
        return by_name[_folded(wanted)]
    by_code = difflib.get_close_matches(wanted.upper(), list(names), n=3, cutoff=0.5) if len(wanted) <= 3 else []
    named = [by_name[n] for n in difflib.get_close_matches(_folded(wanted), list(by_name), n=3, cutoff=0.7)]
    close = list(dict.fromkeys([*named, *by_code] if len(wanted) > 3 else [*by_code, *named]))
    hint = (f"; did you mean {_either(f'{c} ({names[c]})' for c in close[:3])}?" if close
            else "; use a two-letter country code like GB, IN or AU")
    raise CalendarInputError(f"`{wanted}` is not a country the holiday calendar knows{hint}")


def read_subdivision(country: str, text: str) -> str:
    """A region's code within ``country`` from its code (``KA``, ``nsw``) or its name (``Karnataka``)."""
    entity = _entity(country)
    known = tuple(entity.subdivisions)
    aliases = dict(entity.subdivisions_aliases or {})
    wanted = text.strip()
    upper = {c.upper(): c for c in known}
    if wanted.upper() in upper:
        return upper[wanted.upper()]
    by_name = {_folded(name): code for name, code in aliases.items()}
    if _folded(wanted) in by_name:
        return by_name[_folded(wanted)]
    name = country_name(country)
    if not known:
        raise CalendarInputError(f"{name} ({country}) has no regions in the holiday calendar; leave out "
                                 f"the subdivision `{wanted}`")
    close = difflib.get_close_matches(wanted.upper(), list(upper), n=3, cutoff=0.5)
    shown = [upper[c] for c in close]
    for alias in difflib.get_close_matches(_folded(wanted), list(by_name), n=3, cutoff=0.7):
        if by_name[alias] not in shown:
            shown.append(by_name[alias])
    listed = (f"did you mean {_either(f'{c} ({subdivision_name(country, c)})' for c in shown[:3])}?" if shown
              else f"known: {', '.join(known[:12])}{', …' if len(known) > 12 else ''}")
    raise CalendarInputError(f"`{wanted}` is not a region of {name} ({country}) the holiday calendar knows; {listed}")


def _either(options: Iterable[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    items = list(options)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def read_code(text: str) -> HolidayCalendar:
    """The short form: ``GB``, ``IN-KA``, ``AU NSW``, ``India``, or ``none`` for no public holidays."""
    wanted = text.strip()
    if wanted.casefold() in ("none", "no", "off"):
        return HolidayCalendar()
    try:
        return HolidayCalendar(read_country(wanted))
    except CalendarInputError:
        parts = re.split(r"[-\s/]+", wanted, maxsplit=1)
        if len(parts) != 2:
            raise
    country = read_country(parts[0])
    return HolidayCalendar(country, read_subdivision(country, parts[1]))


def holidays_ahead(calendar: HolidayCalendar | None, today: date, count: int = 3,
                   within: timedelta = timedelta(days=400)) -> list[tuple[date, str]]:
    """The next ``count`` holidays from ``today`` on (``/meridian me``)."""
    if calendar is None:
        return []
    found = []
    for item in calendar.between(today, today + within):
        found.append(item)
        if len(found) == count:
            break
    return found
