"""`meridian import FILE.csv` and `meridian export --raci-csv` against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.integration.test_raci_console import TEAM


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'meridian.db'}")
    team = tmp_path / "team.yaml"
    team.write_text(TEAM, encoding="utf-8")
    assert main(["import", str(team)]) == 0
    return tmp_path


def test_a_csv_chart_imports_and_exports_in_both_shapes(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = database / "raci.csv"
    chart.write_bytes("\ufeffActivity;Alice;Marta;noor@acme.example\nfeature store;A;R;C\nlabels;I;A/R;\n"
                      .encode())
    capsys.readouterr()
    assert main(["import", str(chart)]) == 0
    assert capsys.readouterr().out == "imported 2 RACI activities into acme-ml (2 new or changed)\n"
    assert main(["export", "--raci-csv"]) == 0
    wide = capsys.readouterr().out.splitlines()
    assert wide[0] == "activity,alice,kenji,marta,noor,ravi,aliases"
    assert "feature store,A,,R,C,," in wide
    assert main(["export", "--raci-csv", "long"]) == 0
    assert "labels,marta,A" in capsys.readouterr().out.splitlines()


def test_a_bad_chart_is_refused_whole_with_rows_and_columns(database: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    chart = database / "raci.csv"
    chart.write_text("activity,alice,marta,bob\nfeature store,A,X,R\nlabels,A,A,\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(chart)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meridian: Nothing was imported; fix these and try again:")
    assert "row 1, column D (bob): `bob` is not a member of this team" in err
    assert "row 2, column C (marta): `X` is not a role" in err
    assert "row 3, column B (alice) and row 3, column C (marta): Rule “exactly one Accountable”" in err
    assert main(["export", "--raci-csv"]) == 0
    assert "feature store" not in capsys.readouterr().out
