"""What the Teams adapter keeps, on SQLite and PostgreSQL: references, channel labels, identities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.kernel.repo import SqlStore
from storage.teams.repo import TeamsIdentity, TeamsRepo

T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


def ref(conversation: str) -> dict[str, object]:
    return {"channelId": "msteams", "serviceUrl": "https://smba.example/", "conversation": {"id": conversation},
            "bot": {"id": "28:bot"}}


def test_channels_are_found_by_label_or_id_and_labels_never_collide(store: SqlStore) -> None:
    repo = TeamsRepo(store.engine)
    first = repo.save_conversation("t1", "19:a@thread.tacv2", "channel", "https://smba.example/",
                                   ref("19:a@thread.tacv2"), T0, label="#general")
    second = repo.save_conversation("t1", "19:b@thread.tacv2", "channel", "https://smba.example/",
                                    ref("19:b@thread.tacv2"), T0, label="#general")
    assert first.label == "#general" and second.label is not None and second.label.startswith("#general-")
    assert repo.channel("t1", "#general").id == "19:a@thread.tacv2"
    assert repo.channel("t1", second.label).id == "19:b@thread.tacv2"
    assert repo.channel("t1", "19:b@thread.tacv2").label == second.label
    # Seen again later (a rename upstream, a newer service URL): the label stays, the reference is refreshed.
    again = repo.save_conversation("t1", "19:a@thread.tacv2", "channel", "https://smba2.example/",
                                   ref("19:a@thread.tacv2"), T0 + timedelta(hours=1), label="#renamed")
    assert again.label == "#general" and again.service_url == "https://smba2.example/"
    assert repo.newest("t1").id == "19:a@thread.tacv2"
    assert repo.channel("t2", "#general") is None and repo.newest("t2") is None


def test_identities_and_one_to_one_chats_belong_to_a_member_and_are_forgotten_with_them(store: SqlStore) -> None:
    repo = TeamsRepo(store.engine)
    repo.save_identity(TeamsIdentity("t1", "ravi", "29:ravi", "aad-ravi", "Ravi"))
    repo.save_identity(TeamsIdentity("t1", "ravi", "29:ravi-new", "aad-ravi", "Ravi K"))
    repo.save_conversation("t1", "a:ravi", "personal", "https://smba.example/", ref("a:ravi"), T0, member_id="ravi")
    repo.save_conversation("t2", "a:ravi-b", "personal", "https://smba.example/", ref("a:ravi-b"), T0,
                           member_id="ravi")
    assert repo.identity("t1", "ravi") == TeamsIdentity("t1", "ravi", "29:ravi-new", "aad-ravi", "Ravi K")
    assert repo.personal("t1", "ravi").id == "a:ravi"
    repo.forget("t1", "ravi")
    assert repo.identity("t1", "ravi") is None and repo.personal("t1", "ravi") is None
    assert repo.personal("t2", "ravi").id == "a:ravi-b"


def test_a_rosters_identities_are_written_in_one_go_and_read_back_by_member(store: SqlStore) -> None:
    repo = TeamsRepo(store.engine)
    repo.save_identity(TeamsIdentity("t1", "ravi", "29:old", None, "Ravi"))
    many = [TeamsIdentity("t1", f"p{i}", f"29:p{i}", f"aad-{i}", f"Person {i}") for i in range(1200)]
    repo.save_identities([*many, TeamsIdentity("t1", "ravi", "29:ravi", "aad-ravi", "Ravi K")])
    found = repo.identities("t1")
    assert len(found) == 1201 and found["p1199"] == many[-1]
    assert found["ravi"] == TeamsIdentity("t1", "ravi", "29:ravi", "aad-ravi", "Ravi K")  # updated, not doubled
    assert repo.identities("t2") == {}
