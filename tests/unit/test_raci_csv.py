"""Reading and writing RACI spreadsheets: both shapes, their variations, and precise refusals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kernel.domain import Member
from bot.kernel.members import normalise
from bot.raci.csv import parse_cell, read_raci_csv, write_long, write_wide
from bot.raci.model import Activity, Assignment, Role, validate

WS = "acme"
TEAM = [
    Member(WS, "alice", "Alice Martin", accounts={"email": "alice@acme.example"}),
    Member(WS, "ravi", "Ravi"),
    Member(WS, "noor", "Noor"),
]


def roles_of(result, activity: str) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    act = next(a for a in result.activities if a.name == activity)
    out: dict[str, set[str]] = {}
    for a in act.assignments:
        out.setdefault(a.member_id, set()).add(a.role.value)
    return out


def test_cells_accept_the_combinations_people_type() -> None:
    assert parse_cell("A/R") == [Role.A, Role.R]
    assert parse_cell("R, A") == [Role.R, Role.A]
    assert parse_cell("ar") == [Role.A, Role.R]
    assert parse_cell(" - ") == []
    assert parse_cell("") == []
    assert parse_cell("Accountable") == [Role.A]


def test_cyrillic_look_alike_letters_are_read_as_latin() -> None:
    assert parse_cell("А") == [Role.A]  # Cyrillic A
    assert parse_cell("С") == [Role.C]  # Cyrillic Es
    assert parse_cell("І") == [Role.I]  # Ukrainian I


def test_wide_matrix_with_bom_semicolons_names_and_emails() -> None:
    data = ("\ufeffActivity;alice@acme.example;Ravi;noor\r\n"
            "churn model retraining;A;R;С\r\n"
            "feature store;A/R;-;І\r\n").encode()
    result = read_raci_csv(data, WS, TEAM)
    assert result.ok, result.problems
    assert result.shape == "wide"
    assert roles_of(result, "churn model retraining") == {"alice": {"A"}, "ravi": {"R"}, "noor": {"C"}}
    assert roles_of(result, "feature store") == {"alice": {"A", "R"}, "noor": {"I"}}


def test_long_form_with_commas() -> None:
    data = "activity,person,role\nchurn,alice,A\nchurn,ravi,R\nchurn,noor,c\n"
    result = read_raci_csv(data, WS, TEAM)
    assert result.ok and result.shape == "long"
    assert roles_of(result, "churn") == {"alice": {"A"}, "ravi": {"R"}, "noor": {"C"}}


def test_two_accountables_refuse_the_whole_import_naming_both_rows() -> None:
    data = "activity,person,role\nfeature store,ravi,A/R\nchurn,ravi,R\nchurn,alice,A\nchurn,noor,A\n"
    result = read_raci_csv(data, WS, TEAM)
    assert not result.ok and result.activities == []
    [problem] = result.problems
    assert "row 4" in problem.where and "row 5" in problem.where
    assert "exactly one Accountable" in problem.message


def test_two_accountables_in_the_wide_shape_name_both_cells() -> None:
    result = read_raci_csv("activity,alice,ravi,noor\nchurn,A,A,R\n", WS, TEAM)
    [problem] = result.problems
    assert problem.where == "row 2, column B (alice) and row 2, column C (ravi)"


def test_every_bad_cell_is_reported_with_row_and_column() -> None:
    data = "activity,alice,ravi,bob\nchurn,A,X,R\n,R,A,\n" + "y" * 500 + ",A,R,\n"
    result = read_raci_csv(data, WS, TEAM)
    shown = [str(p) for p in result.problems]
    assert any(s.startswith("row 1, column D (bob): `bob` is not a member") for s in shown), shown
    assert any(s.startswith("row 2, column C (ravi): `X` is not a role") for s in shown), shown
    assert any(s.startswith("row 3, column A: the activity name is empty") for s in shown), shown
    assert any(s.startswith("row 4, column A: an activity name of 500 characters") for s in shown), shown
    assert result.activities == []


def test_a_five_megabyte_file_is_refused_before_reading() -> None:
    data = b"activity,alice\n" + b"x,A\n" * 1_300_000
    result = read_raci_csv(data, WS, TEAM)
    assert [str(p) for p in result.problems] == [
        "The file is 5.2 MB; an import takes at most 1.0 MB. Split it into smaller files."]


def test_export_reads_back_identically_in_both_shapes() -> None:
    source = read_raci_csv("activity,alice,ravi,noor\nchurn,A/R,R,C\nlabels,I,A,R\n", WS, TEAM)
    for text in (write_wide(source.activities, TEAM), write_long(source.activities)):
        again = read_raci_csv(text, WS, TEAM)
        assert again.ok, again.problems
        assert {a.name: set(a.assignments) for a in again.activities} == \
               {a.name: set(a.assignments) for a in source.activities}
    assert "A/R" in write_wide(source.activities, TEAM)


# --- properties ---------------------------------------------------------------------------------

_NAME = st.text(alphabet=st.sampled_from("abcdefghij éü-"), min_size=1, max_size=30).filter(
    lambda s: s.strip(" -") != "" and any(c.isalpha() for c in s))


@st.composite
def charts(draw: st.DrawFn) -> list[Activity]:
    names = draw(st.lists(_NAME, min_size=1, max_size=6, unique_by=normalise))
    ids = [m.id for m in TEAM]
    out = []
    for name in names:
        a = draw(st.sampled_from(ids))
        also_r = draw(st.booleans())
        others = [i for i in ids if i != a]
        letters = draw(st.lists(st.sampled_from([Role.R, Role.C, Role.I, None]), min_size=len(others),
                                max_size=len(others)))
        assignments = [Assignment(a, Role.A)] + ([Assignment(a, Role.R)] if also_r else [])
        assignments += [Assignment(i, r) for i, r in zip(others, letters, strict=True) if r is not None]
        if not any(x.role is Role.R for x in assignments):
            assignments.append(Assignment(a, Role.R))
        out.append(Activity(WS, " ".join(name.split()), tuple(assignments)))
    return out


@settings(max_examples=60, deadline=None)
@given(charts(), st.sampled_from(["wide", "long"]), st.sampled_from([",", ";"]), st.booleans())
def test_any_valid_chart_survives_export_and_import(chart: list[Activity], shape: str, sep: str,
                                                    bom: bool) -> None:
    assert all(validate(a) == [] for a in chart)
    text = write_wide(chart, TEAM) if shape == "wide" else write_long(chart)
    if sep == ";":
        text = text.replace(",", ";")
    data = (("\ufeff" if bom else "") + text).encode()
    back = read_raci_csv(data, WS, TEAM)
    assert back.ok, back.problems
    assert {a.name: set(a.assignments) for a in back.activities} == {a.name: set(a.assignments) for a in chart}
