"""Experiment and model names holding quotes and backslashes, against MLflow's own filter parser and a real server.

MLflow's search filters take a string in single or double quotes and unescape nothing, so the
adapter writes a name in the quote it does not contain, and finds a name holding both with a
LIKE pattern re-checked exactly.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sources.mlflow import MLflowSource, like_pattern, literal, name_filter
from bot.digests.config import TrackingConfig

pytestmark = pytest.mark.services

EXPERIMENTS = ("names: o'neil", 'names: the "best"', "names: c:\\runs\\x", "names: trailing\\",
               "names: o'neil \"best\" \\ run")
DECOYS = ("names: o_neil", "names: oXneil \"best\" X run")
MODELS = ("o'neil-model", 'the "best" model', "back\\slash model", "o'neil \"best\" \\ model")
MODEL_DECOY = "oXneil \"best\" X model"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab'\"\\ %_*?", min_size=1, max_size=12))
def test_mlflows_parser_reads_each_name_back_unchanged_or_the_like_covers_it(name: str) -> None:
    from mlflow.utils.search_utils import SearchExperimentsUtils, SearchModelVersionUtils

    for utils in (SearchExperimentsUtils, SearchModelVersionUtils):
        (parsed,) = utils.parse_search_filter(name_filter(name))
        if literal(name) is not None:
            assert (parsed["comparator"], parsed["value"]) == ("=", name)
        else:
            assert parsed["comparator"] == "LIKE"
            pattern = "".join("." if c == "_" else ".*" if c == "%" else "\\" + c if not c.isalnum() else c
                              for c in parsed["value"])
            assert re.fullmatch(pattern, name), (name, parsed["value"])
    (parsed,) = SearchExperimentsUtils.parse_search_filter(f"name LIKE {like_pattern(name)}")
    assert parsed["comparator"] == "LIKE"


@pytest.fixture(scope="module")
def named(mlflow_server) -> Any:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    experiments = {name: client.create_experiment(name) for name in EXPERIMENTS + DECOYS}
    run = client.create_run(experiments[EXPERIMENTS[0]]).info.run_id
    for model in (*MODELS, MODEL_DECOY):
        client.create_registered_model(model)
        client.create_model_version(model, f"runs:/{run}/model", run_id=run)
    client.create_model_version(MODELS[-1], f"runs:/{run}/model", run_id=run)
    return experiments


async def test_names_with_quotes_and_backslashes_are_found_on_a_real_server(named, mlflow_server) -> None:
    source = MLflowSource(TrackingConfig(kind="mlflow", name="mlflow", url=mlflow_server.url, experiments=(),
                                         metric="val_auc"))
    try:
        for name in EXPERIMENTS:
            found = await source.experiments([name])
            assert [(e.id, e.name) for e in found] == [(named[name], name)], name
        everything = await source.experiments(["names: *"])
        assert sorted(e.name for e in everything) == sorted(EXPERIMENTS + DECOYS)
        some = await source.experiments(["names: o'neil*", "names: *\\"])
        assert sorted(e.name for e in some) == sorted([EXPERIMENTS[0], EXPERIMENTS[3], EXPERIMENTS[4]])
        for model in MODELS:
            versions = await source.model_versions(model)
            assert {v.model for v in versions} == {model}, model
            assert sorted(v.version for v in versions) == (["1", "2"] if model == MODELS[-1] else ["1"])
            assert (await source.registered_model(model)) is not None
    finally:
        await source.close()
