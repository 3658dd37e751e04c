"""Every Evidently stat test, chosen explicitly in a real report, read back through a real Evidently UI.

A column's verdict is not stored in the series the adapter reads, so the adapter applies the
stat test's own rule (``STAT_TESTS``). Two checks keep that table honest: it is compared with the
installed Evidently's registry, each rule against what Evidently's own test function decides at,
just below and just above the score; and per test, a report that chooses it explicitly is stored
in the UI, and the columns the adapter calls drifted must be the ones Evidently counted itself
(``DriftedColumnsCount``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.sources.evidently import STAT_TESTS, EvidentlySource
from bot.digests.config import MonitoringConfig
from bot.digests.sources import DriftSnapshot

pytestmark = pytest.mark.services

NOW = datetime.now(UTC).replace(microsecond=0)
NUMERICAL = ("ks", "anderson", "cramer_von_mises", "es", "mannw", "t_test", "empirical_mmd", "wasserstein", "ed")
CATEGORICAL = ("chisquare", "z", "fisher_exact", "g_test", "TVD")
BOTH = ("psi", "kl_div", "jensenshannon", "hellinger")
ROWS = 200


def _series(seed: int) -> dict[str, Any]:
    """Reference and current data for each column type, a little apart (scores strictly inside their range)."""
    import numpy as np
    import pandas as pd
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(seed)
    return {
        ColumnType.Numerical: (pd.Series(rng.normal(0, 1, ROWS)), pd.Series(rng.normal(0.15, 1, ROWS))),
        ColumnType.Categorical: (pd.Series(rng.choice(["a", "b"], ROWS)),
                                 pd.Series(rng.choice(["a", "b"], ROWS, p=[0.45, 0.55]))),
        ColumnType.Text: (pd.Series([" ".join(rng.choice(["ant", "bee", "cat", "dog"], 6)) for _ in range(ROWS)]),
                          pd.Series([" ".join(rng.choice(["cat", "dog", "eel", "fox"], 6)) for _ in range(ROWS)])),
    }


def test_the_table_is_evidentlys_registry_and_each_rule_is_evidentlys_own() -> None:
    import numpy as np
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    registered = {test.name: test for by_type in _registered_stat_tests.values() for test in by_type.values()}
    assert set(registered) == {t.name for t in STAT_TESTS.values()}, "a stat test is missing from the table"
    data = _series(3)
    for name, test in registered.items():
        ours = STAT_TESTS[name]
        assert (ours.display_name, ours.default_threshold) == (test.display_name, test.default_threshold), name
        assert STAT_TESTS[test.display_name] is ours
        if ours.rule is None:  # compares with a bootstrap percentile of a random classifier, not the threshold
            assert name == "perc_text_content_drift"
            continue
        kind = test.allowed_feature_types[0]
        reference, current = data[kind]

        def run(threshold: float | None, test: Any = test, reference: Any = reference, current: Any = current,
                kind: Any = kind) -> Any:
            np.random.seed(0)  # the permutation tests (empirical MMD, TVD) draw from numpy's global generator
            return test(reference, current, kind, threshold)

        score = run(None).drift_score
        step = max(abs(score), 1e-3) / 2
        for threshold in (score - step, score, score + step):
            result = run(threshold)
            assert result.drift_score == score, name
            assert ours.rule.drifted(score, threshold) == result.drifted, f"{name} at threshold {threshold}"


def _frames(seed: int) -> tuple[Any, Any]:
    """``*_same`` columns hold the reference's values reshuffled (p-value 1, distance 0); ``*_shift`` ones move a lot."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"num_same": rng.normal(0, 1, ROWS), "num_shift": rng.normal(0, 1, ROWS),
                              "cat_same": rng.choice(["a", "b"], ROWS), "cat_shift": rng.choice(["a", "b"], ROWS)})
    current = pd.DataFrame({"num_same": rng.permutation(reference["num_same"].to_numpy()),
                            "num_shift": rng.normal(1.5, 1, ROWS),
                            "cat_same": rng.permutation(reference["cat_same"].to_numpy()),
                            "cat_shift": rng.choice(["a", "b"], ROWS, p=[0.1, 0.9])})
    return current, reference


METHODS = NUMERICAL + CATEGORICAL + BOTH


@pytest.fixture(scope="module")
def explicit_reports(evidently_ui: str) -> str:
    """One snapshot per stat test, a minute apart in ``METHODS`` order, each report naming its test.

    The reports hold the metrics ``DataDriftPreset`` makes (``DriftedColumnsCount`` and a ``ValueDrift``
    per column, with ``method`` set as the preset sets it) without the preset's extra rendering, which
    runs each test again (the permutation tests take seconds a call).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift
    from evidently.ui.workspace import RemoteWorkspace

    workspace = RemoteWorkspace(evidently_ui)
    project = workspace.create_project("stat-tests")
    current, reference = _frames(11)
    for i, method in enumerate(METHODS):
        numerical = [] if method in CATEGORICAL else ["num_same", "num_shift"]
        categorical = [] if method in NUMERICAL else ["cat_same", "cat_shift"]
        columns = numerical + categorical
        definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
        report = Report([DriftedColumnsCount(columns=columns, method=method),
                         *(ValueDrift(column=column, method=method) for column in columns)])
        taken = (NOW - timedelta(hours=1) + timedelta(minutes=i)).replace(tzinfo=None)
        run = report.run(Dataset.from_pandas(current[columns], data_definition=definition),
                         Dataset.from_pandas(reference[columns], data_definition=definition), timestamp=taken)
        workspace.add_run(project.id, run, include_data=False)
    return "stat-tests"


async def test_each_explicit_stat_test_reads_as_evidently_counted_it(explicit_reports: str, evidently_ui: str) -> None:
    source = EvidentlySource(MonitoringConfig(kind="evidently", name="evidently", url=evidently_ui))
    try:
        snapshots: list[DriftSnapshot] = await source.snapshots(explicit_reports, NOW - timedelta(hours=2), NOW)
    finally:
        await source.close()
    assert len(snapshots) == len(METHODS)
    for method, snap in zip(METHODS, snapshots, strict=True):
        test = STAT_TESTS[method]
        assert {c.method for c in snap.columns} == {test.display_name}, method
        assert all(c.rule == test.rule for c in snap.columns), method
        drifted = {c.column for c in snap.columns if c.drifted}
        assert snap.drifted_share == pytest.approx(len(drifted) / len(snap.columns)), (
            f"{method}: Evidently counted a share of {snap.drifted_share}, the adapter's verdicts give {drifted}")
        assert drifted == {c.column for c in snap.columns if c.column.endswith("_shift")}, method
        same = [c for c in snap.columns if c.column.endswith("_same")]
        if test.rule is not None and test.rule.below:
            assert all(c.score >= c.threshold for c in same), f"{method}: a high p-value is not drift"
