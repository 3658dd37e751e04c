"""`/raci` end to end: typed commands through the real core and the RACI capability on a real SQLite store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from adapters.console.chat import ConsoleChat
from bot.kernel.app import Action, Meridian
from bot.kernel.clock import SimulatedClock
from bot.kernel.commands import Invocation, Reply
from bot.kernel.domain import Member
from bot.kernel.people import People
from bot.kernel.ports import Upload
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.raci.commands import EDIT_ACTION
from bot.raci.install import Raci
from bot.raci.model import Activity, Assignment, Change, HistoryEntry, Role
from bot.raci.service import RaciService, RaciSettings
from storage.kernel.repo import SqlStore
from storage.raci.repo import RaciRepo

WS = "acme-ml"
TEAM = """\
workspace: acme-ml
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true,
     accounts: {slack: U01ALICE, email: alice@acme.example}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
  - {id: noor, name: Noor, tz: Asia/Dubai, accounts: {slack: U04NOOR, email: noor@acme.example}}
  - {id: bea, name: Bea, tz: Europe/Berlin}
  - {id: sam, name: Sam, tz: Australia/Sydney}
"""


class FileSharingChat:
    """A chat platform where people share files in channels (as on Slack): the file shared last is handed over.

    Only what ``/raci import`` reads of a platform is here; replies come back from the command itself.
    """

    platform = "sharing"

    def __init__(self) -> None:
        self.shared: Upload | None = None
        self.asked: list[tuple[str | None, str, int]] = []

    async def latest_upload(self, workspace: str, channel: str | None, member: Member,
                            max_bytes: int) -> Upload | None:
        self.asked.append((channel, member.id, max_bytes))
        return self.shared


@dataclass
class World:
    app: Meridian
    raci: Raci
    chat: FileSharingChat


@pytest.fixture
def world(sqlite_store: SqlStore) -> Iterator[World]:
    clock = SimulatedClock(datetime(2027, 3, 15, 13, 20, tzinfo=UTC))
    chat = FileSharingChat()
    meridian = Meridian(sqlite_store, clock, {"console": ConsoleChat(clock, out=io.StringIO()), "sharing": chat},
                        worker_id="test")
    raci = Raci(RaciRepo(sqlite_store.engine), sqlite_store, RaciSettings(max_accountable=1))
    meridian.install([raci])
    apply_team(meridian, parse_team(TEAM, "team.yaml", meridian.sections))
    yield World(meridian, raci, chat)


@pytest.fixture
def app(world: World) -> Meridian:
    return world.app


@pytest.fixture
def service(world: World) -> RaciService:
    return world.raci.service


def member(app: Meridian, member_id: str) -> Member:
    found = app.store.get_member(WS, member_id)
    assert found is not None
    return found


async def raci(app: Meridian, text: str, who: str = "alice", channel: str = "#ml-team",
               platform: str = "console") -> Reply:
    by = app.store.get_member(WS, who) or Member(WS, who, who)
    return await app.command(Invocation(WS, by, "raci", text, channel=channel, platform=platform))


def said(reply: Reply) -> str:
    assert reply.message is not None
    return reply.message.fallback


async def seed(app: Meridian) -> None:
    said(await raci(app, "set churn model retraining R @ravi A @alice C @sam @bea I @noor aka churn retrain"))
    said(await raci(app, "set feature store R @bea A @bea C @noor"))
    said(await raci(app, "set churn model monitoring R @noor A @ravi"))


async def test_lookup_shows_each_letter_with_local_time_and_hours(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "Churn Model Retraining"))
    assert text.splitlines()[0] == "churn model retraining"
    assert "R · Responsible\nRavi — 🌙 18:50 in Kolkata" in text
    assert "A · Accountable\nAlice — 🌙 06:20 in Los Angeles" in text
    assert "@Bea — 🟢 in hours, 14:20 in Berlin" in text
    assert "I · Informed\nNoor — 🌙 17:20 in Dubai" in text


async def test_lookup_forgives_typos_accents_and_aliases(app: Meridian) -> None:
    await seed(app)
    assert said(await raci(app, "featur stroe")).startswith("feature store")
    assert said(await raci(app, "CHURN-retrain")).startswith("churn model retraining")


async def test_an_ambiguous_lookup_offers_up_to_three_choices(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "churn model"))
    assert text.startswith("“churn model” could be more than one activity. Did you mean")
    assert "“churn model monitoring”" in text and "“churn model retraining”" in text


async def test_a_lookup_with_no_match_says_so_and_suggests_nothing_unrelated(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "quantum teleport"))
    assert text == ("Nothing is called “quantum teleport”, and no activity has a name close to it. "
                    "/raci list shows them all.")
    assert "went wrong" not in text and "Usage" not in text


async def test_a_pasted_paragraph_is_a_lookup_with_suggestions_not_an_error(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "feature store " + "lorem ipsum dolor " * 300))
    assert text.startswith("Nothing is called “feature store lorem ipsum")
    assert "…”. Did you mean “feature store”" in text and len(text) < 300


async def test_a_person_lookup_lists_their_roles(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "@noor"))
    assert text.splitlines()[0] == "Noor — 🌙 17:20 in Dubai"
    assert said(await raci(app, "@U04NOOR")) == text  # a platform account no member id was given for yet
    assert "Responsible (1): churn model monitoring" in text
    assert "Consulted (1): feature store" in text
    assert "Informed (1): churn model retraining" in text
    assert "Accountable (1): churn model retraining" in said(await raci(app, "@Alice"))
    assert said(await raci(app, "@ghost")).startswith("`ghost` is not a member of this team")


async def test_who_to_ask_puts_people_in_hours_first(app: Meridian) -> None:
    await seed(app)
    lines = said(await raci(app, "who-to-ask churn retraining")).splitlines()
    assert lines[1:] == ["@Bea — 🟢 in hours, 14:20 in Berlin", "Sam — 🌙 00:20 in Sydney"]


async def test_list_and_lint(app: Meridian) -> None:
    await seed(app)
    listed = said(await raci(app, "list"))
    assert "churn model retraining — A: Alice · R: Ravi" in listed
    assert "3 activities." in listed
    app.store.delete_member(WS, "ravi")
    linted = said(await raci(app, "lint"))
    assert "“churn model retraining” names `ravi`, who is no longer a member." in linted
    assert "“churn model monitoring” has no Accountable." not in linted  # ravi's letter is still stored
    said(await raci(app, "set label review R @sam A @bea"))
    assert "Bea is Accountable for 2 activities (more than 1)." in said(await raci(app, "lint"))


async def test_a_non_admin_may_not_create_or_change_others_activities(app: Meridian) -> None:
    await seed(app)
    refused = said(await raci(app, "set new thing R @sam A @sam", who="sam"))
    assert refused.startswith("Only workspace admins may create activities.")
    refused = said(await raci(app, "set churn model retraining I @sam", who="sam"))
    assert "Only workspace admins and the Accountable of “churn model retraining”" in refused
    assert "Saved." in said(await raci(app, "set feature store I @sam", who="bea"))  # bea is Accountable


async def test_rules_are_named_when_a_set_breaks_them(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "set feature store A @alice @noor"))
    assert "Rule “exactly one Accountable”: feature store has 2 Accountables (Alice, Noor); keep one." in text
    text = said(await raci(app, "set brand new R @ravi"))
    assert "Rule “exactly one Accountable”" in text
    assert "`ghost` is not a member" in said(await raci(app, "set feature store R @ghost"))
    assert "Name the activity" in said(await raci(app, "set R @ravi A @alice"))
    assert "Rule “names are short”" in said(await raci(app, f"set {'x' * 500} R @ravi A @alice"))
    assert said(await raci(app, "feature store")).count("@Bea") == 2  # nothing changed


async def test_set_keeps_letters_not_named_and_refuses_near_misses(app: Meridian) -> None:
    await seed(app)
    said(await raci(app, "set feature store I @sam"))
    text = said(await raci(app, "feature store"))
    assert "C · Consulted\nNoor" in text and "I · Informed\nSam" in text
    assert "did you mean “feature store”" in said(await raci(app, "set featur store I @sam"))


async def test_rename_remove_and_history(app: Meridian) -> None:
    await seed(app)
    said(await raci(app, "rename feature store to feature platform"))
    assert said(await raci(app, "feature store")).startswith("feature platform")
    said(await raci(app, "remove feature platform"))
    assert "feature platform" not in said(await raci(app, "list"))
    history = said(await raci(app, "history feature store"))
    assert [line.split(" by ")[0].split()[-1] for line in history.splitlines() if " by " in line] == \
           ["remove", "rename", "create"]
    assert "remove by Alice" in history


async def test_import_refuses_two_accountables_naming_both_rows(app: Meridian) -> None:
    await seed(app)
    csv = "import activity,person,role\ndata contracts,ravi,R\ndata contracts,alice,A\ndata contracts,bea,A\n"
    text = said(await raci(app, csv))
    assert text.startswith("Nothing was imported")
    assert "row 3 and row 4: Rule “exactly one Accountable”" in text
    assert "data contracts" not in said(await raci(app, "list"))


async def test_import_takes_the_uploaded_file_and_is_all_or_nothing(world: World) -> None:
    app, chat = world.app, world.chat
    assert "Upload a CSV to this channel first" in said(await raci(app, "import"))
    content = "\ufeffactivity;alice;ravi;bea\ndata contracts;A;R;C\nlabelling;A/R;-;X\n".encode()
    chat.shared = Upload("raci.csv", content)
    text = said(await raci(app, "import"))
    assert "row 3, column D (bea): `X` is not a role" in text
    assert "data contracts" not in said(await raci(app, "list"))
    assert chat.asked[-1] == ("#ml-team", "alice", 1_000_001)
    chat.shared = Upload("raci.csv", content.replace(b";X", b";I"))
    assert said(await raci(app, "import")) == ("Imported 2 activities from raci.csv (2 new or changed). "
                                               "/raci lint checks the whole chart.")
    assert said(await raci(app, "labelling")).count("Alice — 🌙 06:20") == 2
    assert "Only workspace admins may import" in said(await raci(app, "import", who="bea"))


async def test_a_five_megabyte_import_is_refused_with_the_limit(world: World) -> None:
    app = world.app
    world.chat.shared = Upload("big.csv", b"activity,alice\n" + b"x,A\n" * 1_300_000)
    assert "The file is 5.2 MB; an import takes at most 1.0 MB." in said(await raci(app, "import"))


async def test_export_attaches_a_csv_that_imports_back(app: Meridian) -> None:
    await seed(app)
    reply = await raci(app, "export")
    assert reply.message is not None
    [csv] = reply.message.attachments
    assert csv.mime == "text/csv" and csv.content.startswith("activity,alice,bea,noor,ravi,sam,aliases")
    assert "churn model retraining,A,C,I,R,C,churn retrain" in csv.content
    assert "Imported 3 activities from the pasted text (0 new or changed)" in said(
        await raci(app, "import " + csv.content))


async def test_edit_form_round_trip(app: Meridian) -> None:
    await seed(app)
    reply = await raci(app, "edit feature store", who="bea")
    assert reply.form is not None and reply.form.callback_id == EDIT_ACTION
    assert {i.input_id: i.initial for i in reply.form.inputs}["A"] == "bea"
    submitted = await app.action(Action(WS, member(app, "bea"), EDIT_ACTION, values={
        "R": "bea, noor", "A": "bea", "C": "", "I": "sam", "aliases": "fs", "about": "the online store"},
        metadata=reply.form.metadata))
    assert submitted is not None and "Saved." in said(submitted)
    assert said(await raci(app, "fs")).startswith("feature store\nthe online store · aka fs")
    assert "Only workspace admins and the Accountable" in said(await raci(app, "edit feature store", who="sam"))


async def test_owners_service_for_blockers_and_drift(app: Meridian, service: RaciService) -> None:
    await seed(app)
    found = service.owners(WS, "churn retrain")
    assert found is not None
    responsible, accountable = found
    assert [m.id for m in responsible] == ["ravi"] and accountable is not None and accountable.id == "alice"
    assert service.owners(WS, "nothing like it") is None
    assert service.mentioned_in(WS, "blocked on feature store since Monday") == ["feature store"]


async def test_help_and_usage(app: Meridian) -> None:
    assert "/raci who-to-ask ACTIVITY" in said(await raci(app, "help"))
    assert "Usage: /raci rename OLD to NEW" in said(await raci(app, "rename feature store"))


async def test_admin_only_policy_refuses_the_accountable(app: Meridian, service: RaciService) -> None:
    await seed(app)
    service.settings = replace(service.settings, editors="admins")
    assert "Only workspace admins may change" in said(await raci(app, "set feature store I @sam", who="bea"))


async def test_lint_finds_charts_written_before_the_rules(app: Meridian, service: RaciService) -> None:
    await seed(app)
    legacy = Activity(WS, "legacy etl", (Assignment("alice", Role.A), Assignment("bea", Role.A)))
    service.store.apply(WS, [Change(HistoryEntry(WS, legacy.name, datetime(2027, 1, 1, tzinfo=UTC), "migration",
                                                 "create", "—", "legacy"), legacy)])
    app.store.upsert_member(Member(WS, "zed", "Zed"))
    linted = said(await raci(app, "lint")).splitlines()
    assert "“legacy etl” has 2 Accountables: Alice, Bea." in linted
    assert "“legacy etl” has no Responsible." in linted
    assert "No role anywhere: Zed." in linted


# --- issue 10, item 13 -----------------------------------------------------------------------------


async def test_a_letter_with_no_names_is_refused_and_saves_no_history(app: Meridian, service: RaciService) -> None:
    await seed(app)
    before = service.store.history(WS, ["feature store"])
    text = said(await raci(app, "set feature store I"))
    assert text.startswith("`I` has no one after it. Name the people (I @ravi), or write `I -` to leave no one "
                           "Informed.")
    assert said(await raci(app, "set feature store C @noor")).startswith("Nothing to change: “feature store”")
    assert service.store.history(WS, ["feature store"]) == before
    assert "Saved." in said(await raci(app, "set feature store C -"))  # clearing a letter says so explicitly


async def test_a_letter_that_is_not_r_a_c_or_i_is_named(app: Meridian) -> None:
    await seed(app)
    text = said(await raci(app, "set feature store X @ravi"))
    assert text.startswith("`X` is not a role letter; use R, A, C or I.")
    assert "Give at least one letter" not in text
    assert said(await raci(app, "set feature store @ravi")).startswith("`@ravi` needs a role letter before it")


async def test_a_removed_activitys_aliases_go_with_it(app: Meridian) -> None:
    await seed(app)
    said(await raci(app, "rename feature store to feature platform"))
    said(await raci(app, "set feature platform aka fs"))
    said(await raci(app, "remove feature platform"))
    for gone in ["fs", "feature store", "feature platform"]:
        text = said(await raci(app, gone))
        assert "Did you mean" not in text and "churn" not in text, gone


async def test_counts_read_in_the_right_number(app: Meridian) -> None:
    said(await raci(app, "set feature store R @bea A @alice"))
    assert said(await raci(app, "list")).endswith("1 activity.")
    assert "1 activity as a wide CSV." in said(await raci(app, "export"))
    said(await raci(app, "set churn model retraining R @ravi A @noor --new"))
    assert said(await raci(app, "list")).endswith("2 activities.")


async def test_refusals_that_are_not_usage_mistakes_have_no_usage(app: Meridian) -> None:
    await seed(app)
    for text, who in [("set feature store R @bob", "alice"), ("set feature store A @ravi @noor", "alice"),
                      ("set feature store R @ravi", "sam"), ("remove nothing like it", "alice")]:
        answer = said(await raci(app, text, who=who))
        assert "Usage:" not in answer, text
    assert "Usage: /raci set" in said(await raci(app, "set feature store"))


# --- issue 10, item 12 -----------------------------------------------------------------------------


async def test_forget_me_hands_roles_over_and_keeps_every_rule_satisfiable(app: Meridian,
                                                                          service: RaciService) -> None:
    app.install([People()])
    await seed(app)  # bea is R and A of feature store; ravi is R of churn retraining and A of monitoring
    for who in ("bea", "ravi"):
        done = said(await app.command(Invocation(WS, member(app, who), "meridian", "forget-me confirm")))
        assert "RACI role" in done
    store = service.store
    store_view = {a.name: {r.value: a.holders(r) for r in Role} for a in store.list_activities(WS)}
    assert store_view["feature store"] == {"R": ["alice"], "A": ["alice"], "C": ["noor"], "I": []}
    assert store_view["churn model retraining"]["R"] == ["alice"]
    assert store_view["churn model monitoring"] == {"R": ["noor"], "A": ["alice"], "C": [], "I": []}
    assert service.lint(WS) == ["Alice is Accountable for 3 activities (more than 1)."]  # nothing else
    assert "Saved." in said(await raci(app, "set feature store C @sam"))
    history = store.history(WS, ["feature store"])
    assert all("Bea" not in f"{e.before}{e.after}" and e.actor != "bea" for e in history)
    gone = said(await app.command(Invocation(WS, Member(WS, "bea", "Bea"), "raci", "list")))
    assert gone.startswith("You are not a member of this team any more")


async def test_ask_reads_a_question_or_a_whole_message_and_says_how_to_ask_otherwise(app: Meridian) -> None:
    await seed(app)
    # A question, quotes and all: the words are read as typed, not as a command line.
    assert said(await raci(app, "ask who's on 'churn model monitoring'?")).splitlines()[0].startswith(
        "churn model monitoring")
    # A whole message: the activity it is about, said to be a reading of the message.
    answer = said(await raci(app, "ask The churn retraining run failed again last night, anyone looking?"))
    assert answer.splitlines()[0].startswith("churn model retraining")
    assert "The activity that message seems to be about." in answer
    # Two activities in one message: both offered, neither guessed.
    both = said(await raci(app, "ask the feature store is down, churn model monitoring is red"))
    assert "“churn model monitoring” or “feature store”" in both
    # Nothing on the chart: one line saying how to ask, no usage block.
    hint = said(await raci(app, "ask thanks all, see you tomorrow"))
    assert hint.startswith("I found no RACI activity in that.") and "Usage" not in hint
