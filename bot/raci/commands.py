"""``/raci``: look up who owns an activity and who is awake, and keep the chart up to date.

Every path here ends in ``RaciService``, which checks permissions and the model's
rules and records history; this module only reads what people typed and writes the
replies. The same words work on Slack, Teams and the console: adapters hand mentions
over as ``@member-id``, and people are found with the kernel's one resolver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial

from bot.kernel.app import Action, Meridian
from bot.kernel.commands import CommandError, CommandFamily, Invocation, Refusal, Reply, Subcommand
from bot.kernel.domain import Member
from bot.kernel.members import People, normalise
from bot.kernel.messages import (
    Attachment,
    Code,
    Form,
    FormInput,
    Inline,
    Message,
    Section,
    Strong,
    plural,
    rich,
)
from bot.kernel.ports import ReceivesUploads
from bot.kernel.routing import route
from bot.raci.csv import write_long, write_wide
from bot.raci.lookup import Match, did_you_mean
from bot.raci.model import (
    ROLE_ORDER,
    Activity,
    ChangeKind,
    RaciRefused,
    Role,
    assignments_from,
    same_chart,
)
from bot.raci.question import answer_question
from bot.raci.render import lines_message, person_line, render_activity
from bot.raci.service import RaciService

LIST_LIMIT = 60
HISTORY_LIMIT = 10
EDIT_ACTION = "raci.edit"


# --- reading people and activities from what was typed ----------------------------------------


def _is_person(text: str) -> bool:
    return text.startswith("@")


def _person(people: People, text: str) -> Member:
    found = people.find(text)
    if isinstance(found, Member):
        return found
    raise Refusal(found.reason)


def _did_you_mean(text: str, match: Match) -> Message:
    return Message.text(did_you_mean(text, match))


def _exact(service: RaciService, workspace: str, text: str) -> Activity:
    """The activity a destructive command names: an exact name or alias, never a guess."""
    if not normalise(text):
        raise CommandError("Name the activity.")
    owner = service.index(workspace).owner_of(text)
    activity = service.store.get_activity(workspace, owner) if owner else None
    if activity is None:
        _, match = service.find(workspace, text)
        raise Refusal(did_you_mean(text, match) + " Commands that change an activity need its exact name or alias.")
    return activity


HOW_TO_ASK = ("I found no RACI activity in that. Ask me who owns one, like “who owns churn retraining?” or "
              "“what does @ravi own?”; /raci list shows every activity.")


def _after_first_word(text: str) -> str:
    """``ask who's on Bob's model`` → ``who's on Bob's model``, untouched by the command line's quoting."""
    parts = text.strip().split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


# --- the command family ------------------------------------------------------------------------


class RaciCommands:
    """The ``/raci`` handlers, bound to one service."""

    def __init__(self, service: RaciService) -> None:
        self.service = service

    def family(self) -> CommandFamily[Meridian]:
        sub = Subcommand
        return CommandFamily(
            name="raci",
            summary="who is Responsible, Accountable, Consulted and Informed — and who is awake now",
            default=sub("", "ACTIVITY | @person", "who owns an activity, or a person's roles", self.lookup),
            takes_free_text=True,
            subcommands=[
                sub("who-to-ask", "who-to-ask ACTIVITY", "the Consulted, awake ones first", self.who_to_ask),
                sub("ask", "ask QUESTION", "a question in words: who owns churn retraining? what does @ravi own?",
                    self.ask),
                sub("list", "list", "every activity with its Accountable and Responsible", self.list_all),
                sub("lint", "lint", "activities and people worth a look", self.lint),
                sub("set", "set ACTIVITY R @a @b A @c C @d I @e [aka NAME, NAME] [about TEXT] [--new]",
                    "create or change an activity (letters not named are kept)", self.set),
                sub("edit", "edit ACTIVITY", "change an activity in a form", self.edit),
                sub("remove", "remove ACTIVITY", "delete an activity (its history is kept)", self.remove),
                sub("rename", "rename OLD to NEW", "rename an activity; the old name keeps working", self.rename),
                sub("history", "history ACTIVITY", "every change, with who and when", self.history),
                sub("import", "import [CSV text]", "load a CSV uploaded to this channel (all or nothing)",
                    self.import_csv),
                sub("export", "export [wide|long]", "the chart as a CSV file", self.export),
            ],
        )

    # --- reading ------------------------------------------------------------------------
    async def lookup(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        text = " ".join(args).strip()
        text = answer_question(text) or text  # `/raci who owns churn retraining?` is `/raci churn retraining`
        if not text:
            return Reply(self.family().help())
        if _is_person(text):
            return self._person_roles(app, inv, text)
        activity, match = self.service.find(inv.workspace, text)
        if activity is None and not match.suggestions:
            raise Refusal(did_you_mean(text, match))  # the kernel adds "did you mean /raci lint" for `lnt`
        if activity is None:
            return Reply(_did_you_mean(text, match))
        note = "" if match.exact else f"Closest match for “{text}”."
        return Reply(render_activity(app, activity, note))

    def _person_roles(self, app: Meridian, inv: Invocation, text: str) -> Reply:
        member = _person(People(app.store.list_members(inv.workspace)), text)
        activities = self.service.store.activities_of(inv.workspace, member.id)
        routed = route([(member, "")], app.now(), partial(app.store.get_member, inv.workspace)).people[0]
        status = routed.presence.label()
        if not activities:
            return Reply(Message.text(routed.name(), f" ({status}) has no RACI role."))
        lines: list[tuple[Inline, ...]] = []
        for role in ROLE_ORDER:
            names = [a.name for a in activities if role in a.roles_of(member.id)]
            if names:
                lines.append((Strong(role.word), f" ({len(names)}): ", ", ".join(names)))
        return Reply(lines_message(f"{member.name} — {status}", lines))

    async def ask(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        """A question in words, or a whole message someone asks about: the one answer behind ``/raci ask``, an
        @mention of Meridian on Slack and Teams, Slack's "Ask who owns this" and Teams' message action.

        A question ("who owns churn retraining?") is answered as the lookup would; any other text by the
        activity it names (``RaciService.about``); text naming none gets one line saying how to ask.
        """
        text = _after_first_word(inv.text)  # the words as typed: a quote in a message is not shell syntax
        about = answer_question(text)
        if about is not None:
            return await self.lookup(app, inv, [about])
        activity, match = self.service.about(inv.workspace, text)
        if activity is not None:
            note = "" if match.exact else "The activity that message seems to be about."
            return Reply(render_activity(app, activity, note))
        if match.empty:
            raise Refusal(did_you_mean(text, match))
        if match.suggestions:
            names = " or ".join(f"“{n}”" for n in match.suggestions)
            raise Refusal(f"That could be about {names}. Ask about one, like “who owns {match.suggestions[0]}?”.")
        raise Refusal(HOW_TO_ASK)

    async def who_to_ask(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        text = " ".join(args).strip()
        if not text:
            raise CommandError("Name the activity.")
        activity, match = self.service.find(inv.workspace, text)
        if activity is None:
            return Reply(_did_you_mean(text, match))
        consulted = [m for m in (app.store.get_member(inv.workspace, i) for i in activity.holders(Role.C)) if m]
        if not consulted:
            a = activity.accountable
            lines = [] if a is None else [("Ask its Accountable instead: ", *person_line(app, inv.workspace, a))]
            return Reply(lines_message(f"No one is Consulted on {activity.name}", lines))
        routing = route([(m, Role.C.value) for m in consulted], app.now(), partial(app.store.get_member, inv.workspace))
        ranked = sorted((r for r in routing.people if r.member.id in activity.holders(Role.C)),
                        key=lambda r: (r.presence.rank, r.member.name.casefold()))
        lines = [person_line(app, inv.workspace, r.member.id, routing) for r in ranked]
        return Reply(lines_message(f"Who to ask about {activity.name}", lines))

    async def list_all(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        activities = self.service.store.list_activities(inv.workspace)
        if not activities:
            return Reply(Message.text("No RACI activities yet. Add one with ",
                                      Code("/raci set ACTIVITY R @someone A @someone"), "."))
        label = self.service.label(inv.workspace)
        here = [a for a in activities if inv.channel and a.channel == inv.channel]
        ordered = here + [a for a in activities if a not in here]
        lines: list[tuple[Inline, ...]] = []
        for a in ordered[:LIST_LIMIT]:
            owners = f"A: {', '.join(label(m) for m in a.holders(Role.A)) or '—'} · " \
                     f"R: {', '.join(label(m) for m in a.holders(Role.R)) or '—'}"
            lines.append((Strong(a.name), f" — {owners}"))
        more = len(ordered) - LIST_LIMIT
        footer = f"… and {more:,} more; /raci export has them all." if more > 0 else \
            f"{plural(len(ordered), 'activity', 'activities')}."
        return Reply(lines_message("RACI activities", lines, footer))

    async def lint(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        found = self.service.lint(inv.workspace)
        if not found:
            count = len(self.service.index(inv.workspace))
            each = "with one Accountable and a Responsible" if count == 1 else \
                "each with one Accountable and a Responsible"
            return Reply(Message.text(f"✅ Nothing to fix: {plural(count, 'activity', 'activities')}, {each}, "
                                      "and everyone has a role."))
        return Reply(lines_message(f"{plural(len(found), 'thing')} worth a look", [(line,) for line in found]))

    async def history(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        text = " ".join(args).strip()
        if not text:
            raise CommandError("Name the activity.")
        activity, _ = self.service.find(inv.workspace, text)
        names = list(activity.names()) if activity else [text]
        entries = self.service.store.history(inv.workspace, names, HISTORY_LIMIT)
        if not entries:
            return Reply(Message.text(f"No history for “{text}”."))
        label = self.service.label(inv.workspace)
        zone = inv.member.zone
        lines = [(Strong(f"{e.at.astimezone(zone):%Y-%m-%d %H:%M}"), f" {e.action} by {label(e.actor)}",
                  f"\n    before: {e.before}\n    after: {e.after}") for e in entries]
        return Reply(lines_message(f"History of {activity.name if activity else text}", lines,
                                    f"Times in {inv.member.tz}; newest first."))

    async def export(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        shape = (args[0].lower() if args else "wide")
        if shape not in {"wide", "long"}:
            raise CommandError(f"`{args[0]}` is not a shape; use wide (a matrix) or long (one row per role).")
        activities = self.service.store.list_activities(inv.workspace)
        members = app.store.list_members(inv.workspace)
        content = write_wide(activities, members) if shape == "wide" else write_long(activities)
        note = f"{plural(len(activities), 'activity', 'activities')} as a {shape} CSV."
        return Reply(Message((Section(rich(note)),), fallback=note,
                             attachments=(Attachment(f"raci-{inv.workspace}-{shape}.csv", content, "text/csv"),)))

    # --- changing -------------------------------------------------------------------------
    async def set(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        parsed = parse_set(args)
        if not normalise(parsed.activity):
            raise CommandError("Name the activity before the letters, e.g. /raci set feature store R @ravi A @alice.")
        people = People(app.store.list_members(inv.workspace))
        roles = {role: [_person(people, t).id for t in tokens] for role, tokens in parsed.roles.items()}
        index = self.service.index(inv.workspace)
        owner = index.owner_of(parsed.activity)
        before = self.service.store.get_activity(inv.workspace, owner) if owner else None
        if before is None and not parsed.new:
            near = index.find(parsed.activity)
            if near.activity is not None:
                raise Refusal(f"No activity is called exactly “{parsed.activity}”; did you mean "
                                   f"“{near.activity}”? Use its exact name, or add --new to create another.")
        base = before or Activity(inv.workspace, parsed.activity)
        kept = {r: base.holders(r) for r in ROLE_ORDER if r not in roles}
        after = replace(base, assignments=assignments_from({**kept, **roles}),
                        aliases=parsed.aliases if parsed.aliases is not None else base.aliases,
                        description=parsed.about if parsed.about is not None else base.description,
                        channel=parsed.channel if parsed.channel is not None else base.channel)
        if before is not None and same_chart(before, after):
            self._permit(inv.member, before, "change this activity")
            raise Refusal(f"Nothing to change: “{before.name}” already reads that way, so no history entry was "
                          f"saved. /raci {before.name} shows it.")
        self._write(app, inv.member, before, after, "change this activity" if before else "create activities")
        saved = self.service.store.get_activity(inv.workspace, after.name) or after
        return Reply(render_activity(app, saved, "Saved. " + f"/raci history {saved.name} shows every change."))

    async def edit(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        activity = _exact(self.service, inv.workspace, " ".join(args))
        self._permit(inv.member, activity, "change this activity")

        def ids(role: Role) -> str:
            return ", ".join(activity.holders(role))

        inputs = (
            FormInput("R", "Responsible", initial=ids(Role.R), kind="users"),
            FormInput("A", "Accountable", initial=ids(Role.A), kind="users"),
            FormInput("C", "Consulted", initial=ids(Role.C), kind="users", optional=True),
            FormInput("I", "Informed", initial=ids(Role.I), kind="users", optional=True),
            FormInput("aliases", "Other names (comma-separated)", initial=", ".join(activity.aliases), optional=True),
            FormInput("about", "Description", initial=activity.description, multiline=True, optional=True),
        )
        form = Form(f"RACI: {activity.name}"[:24], EDIT_ACTION, inputs, "Save", {"activity": activity.name})
        return Reply(Message.text("Opening the form for ", Strong(activity.name), "…"), form=form)

    def _permit(self, member: Member, activity: Activity | None, doing: str) -> None:
        try:
            self.service.check_may_edit(member, activity, doing)
        except RaciRefused as refused:
            raise Refusal(str(refused)) from None

    async def on_edit_submitted(self, app: Meridian, act: Action) -> Reply | None:
        name = act.metadata.get("activity", "")
        try:
            activity = _exact(self.service, act.workspace, name)
            people = People(app.store.list_members(act.workspace))
            roles = {role: [_person(people, t).id for t in _tokens(act.values.get(role.value, ""))]
                     for role in ROLE_ORDER}
            aliases = tuple(a.strip() for a in act.values.get("aliases", "").split(",") if a.strip())
            after = replace(activity, assignments=assignments_from(roles), aliases=aliases,
                            description=act.values.get("about", activity.description).strip())
            if same_chart(activity, after):
                self._permit(act.member, activity, "change this activity")
                return Reply(Message.text("Nothing changed in ", Strong(activity.name), "; no history entry saved."))
            self._write(app, act.member, activity, after, "change this activity")
        except CommandError as err:
            return Reply(Message.text(str(err)))
        return Reply(render_activity(app, after, "Saved."))

    async def remove(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        activity = _exact(self.service, inv.workspace, " ".join(args))
        self._write(app, inv.member, activity, None, "remove this activity")
        return Reply(Message.text("Removed ", Strong(activity.name),
                                  f". Its history stays: /raci history {activity.name}"))

    async def rename(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        cut = next((i for i, w in enumerate(args) if w.lower() in {"to", "->", "→"}), None)
        if cut is None and len(args) == 2 and self.service.index(inv.workspace).owner_of(args[0]):
            cut, args = 1, [args[0], "to", args[1]]
        if cut is None:
            raise CommandError("Say what to rename and to what, e.g. /raci rename feature store to feature platform.")
        old, new = " ".join(args[:cut]).strip(), " ".join(args[cut + 1:]).strip()
        activity = _exact(self.service, inv.workspace, old)
        if not normalise(new):
            raise CommandError("The new name is empty.")
        aliases = [a for a in activity.aliases if normalise(a) != normalise(new)]
        if normalise(activity.name) != normalise(new):
            aliases.append(activity.name)
        after = replace(activity, name=new, aliases=tuple(aliases))
        self._write(app, inv.member, activity, after, "rename this activity", action="rename")
        return Reply(Message.text("Renamed ", Strong(activity.name), " to ", Strong(" ".join(new.split())),
                                  f"; “{activity.name}” still finds it."))

    async def import_csv(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        if not (inv.member.is_admin or self.service.settings.editors == "everyone"):
            raise Refusal("Only workspace admins may import a RACI chart.")
        inline = inv.text.strip()[len("import"):].strip()
        source: str | bytes
        if inline and ("\n" in inline or "," in inline or ";" in inline):
            source, name = inline, "the pasted text"
        else:
            chat = app.chat_for(inv.workspace)
            upload = None
            if isinstance(chat, ReceivesUploads):
                upload = await chat.latest_upload(inv.workspace, inv.channel, inv.member,
                                                  self.service.settings.max_import_bytes + 1)
            if upload is None:
                raise CommandError("Upload a CSV to this channel first, then run /raci import "
                                   "(or paste the CSV after the command).")
            source, name = upload.content, upload.name
        try:
            total, changed = self.service.import_csv(inv.member.id, inv.workspace,
                                                     app.store.list_members(inv.workspace), source, app.now(), name)
        except RaciRefused as refused:
            return Reply(Message.text(str(refused)))
        return Reply(Message.text(f"Imported {plural(total, 'activity', 'activities')} from {name} "
                                  f"({changed} new or changed). "
                                  "/raci lint checks the whole chart."))

    # --- the one way to write -------------------------------------------------------------
    def _write(self, app: Meridian, actor: Member, before: Activity | None, after: Activity | None, doing: str,
               action: ChangeKind | None = None) -> None:
        try:
            self.service.check_may_edit(actor, before, doing)
            self.service.write(actor, before, after, app.now(), action)
        except RaciRefused as refused:
            raise Refusal(str(refused)) from None


# --- `/raci set` grammar ------------------------------------------------------------------------


@dataclass
class SetRequest:
    activity: str
    roles: dict[Role, list[str]]
    aliases: tuple[str, ...] | None = None
    about: str | None = None
    channel: str | None = None
    new: bool = False


_KEYWORDS = {"aka", "about", "channel"}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", text) if t and t not in {"-", "—"}]


def _marker(words: list[str], i: int) -> str | None:
    """The section a word opens: a role letter (R, A, C, I, optionally with a colon) or a keyword."""
    word = words[i]
    letter = word.rstrip(":").upper()
    if letter in {"R", "A", "C", "I"}:
        following = words[i + 1] if i + 1 < len(words) else ""
        if word.rstrip(":").isupper() or _is_person(following) or not following:
            return letter
    if word.lower() in _KEYWORDS and i > 0:
        return word.lower()
    return None


def parse_set(args: list[str]) -> SetRequest:
    words = [w for w in args if w != "--new"]
    request = SetRequest("", {}, new=len(words) != len(args))
    sections: list[tuple[str, list[str]]] = [("name", [])]
    for i, word in enumerate(words):
        opened = _marker(words, i)
        if opened is not None and (opened not in _KEYWORDS or sections[-1][0] != "about"):
            sections.append((opened, []))
        else:
            sections[-1][1].append(word)
    for kind, values in sections:
        if kind == "name":
            _check_name(values)
            request.activity = " ".join(values)
        elif kind in {"R", "A", "C", "I"}:
            if not values:
                raise CommandError(f"`{kind}` has no one after it. Name the people ({kind} @ravi), "
                                   f"or write `{kind} -` to leave no one {Role(kind).word}.")
            request.roles.setdefault(Role(kind), []).extend(t for v in values for t in _tokens(v))
        elif kind == "aka":
            request.aliases = tuple(a.strip() for a in " ".join(values).split(",") if a.strip())
        elif kind == "about":
            request.about = " ".join(values)
        else:
            request.channel = " ".join(values) or None
    if not request.roles and request.aliases is None and request.about is None and request.channel is None:
        raise CommandError("Give at least one letter and its people, e.g. R @ravi A @alice.")
    return request


def _check_name(words: list[str]) -> None:
    """The activity's name holds no people: a person there means the letter before them was not one."""
    for i, word in enumerate(words):
        if not _is_person(word):
            continue
        before = words[i - 1] if i else ""
        letter = before.rstrip(":")
        if len(letter) == 1 and letter.isalpha():
            raise CommandError(f"`{letter}` is not a role letter; use R, A, C or I.")
        raise CommandError(f"`{word}` needs a role letter before it (R, A, C or I), e.g. R {word}.")
