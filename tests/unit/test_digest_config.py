"""The team file's sources: and digests: sections, the digest schedule, and the sparkline."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.digests.config import SourceDefaults, SourcesConfig, SourcesConfigError, parse_sources
from bot.digests.install import Digests
from bot.digests.schedule import plan_digests
from bot.digests.sources import SourceSet
from bot.digests.text import sparkline
from bot.kernel.app import Meridian
from bot.kernel.ports import Store
from bot.kernel.team import apply_team
from bot.kernel.teamfile import TeamFileError, parse_team
from bot.kernel.timekeeping import utc
from tests.digest_fakes import make_app

DESIGN_EXAMPLE = {
    "workspace": "acme-ml",
    "sources": {
        "tracking": [{"kind": "mlflow", "uri": "http://127.0.0.1:5000", "experiments": ["churn-*"],
                      "metric": "val_auc", "goal": "max"}],
        "monitoring": [{"kind": "evidently", "url": "http://127.0.0.1:8010", "project": "churn"}],
    },
    "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 Europe/London",
                 "days": ["mon", "tue", "wed", "thu", "fri"]}],
}


def test_the_design_example_parses_with_defaults() -> None:
    config = parse_sources(DESIGN_EXAMPLE)
    mlflow, = config.tracking
    assert (mlflow.name, mlflow.url, mlflow.metric, mlflow.goal) == ("mlflow", "http://127.0.0.1:5000", "val_auc", "max")
    assert mlflow.stale_after == timedelta(hours=6) and mlflow.lookback == timedelta(hours=24)
    model, = config.models
    assert (model.name, model.project, model.owner, model.monitoring) == ("churn", "churn", None, "evidently")
    digest, = config.digests
    assert (digest.at, digest.tz, digest.channel) == (time(8, 0), "Europe/London", "#ml-team")


def test_wandb_source_names_entity_and_projects() -> None:
    config = parse_sources({"sources": {"tracking": [
        {"kind": "wandb", "entity": "acme", "projects": ["churn"], "metric": "val_loss", "goal": "min"}]}})
    wandb, = config.tracking
    assert (wandb.url, wandb.entity, wandb.experiments, wandb.goal) == ("https://api.wandb.ai", "acme", ("churn",), "min")


@pytest.mark.parametrize(("change", "where", "why"), [
    (lambda t: t["sources"]["tracking"][0].update(goal="up"), "sources.tracking[0].goal", "must be one of max, min"),
    (lambda t: t["sources"]["tracking"][0].pop("metric"), "sources.tracking[0].metric", "is required"),
    (lambda t: t["sources"]["tracking"][0].update(uri="mlflow:5000"), "sources.tracking[0].uri", "http(s) URL"),
    (lambda t: t["sources"]["tracking"][0].update(stale="6h"), "sources.tracking[0].stale", "unknown key"),
    (lambda t: t["sources"]["tracking"][0].update(stale_after="soon"), "sources.tracking[0].stale_after",
     "not a duration"),
    (lambda t: t["sources"]["monitoring"][0].update(kind="grafana"), "sources.monitoring[0].kind", "evidently"),
    (lambda t: t["sources"].update(models=[{"name": "m"}]), "sources.models[0].owner", "is required"),
    (lambda t: t["sources"].update(models=[{"name": "m", "owner": "a", "drift_share": 2}]),
     "sources.models[0].drift_share", "between 0.0 and 1.0"),
    (lambda t: t["sources"].update(models=[{"name": "m", "owner": "a", "prometheus": [{"name": "x", "query": "up"}]}]),
     "sources.models[0].prometheus", "sources.prometheus.url"),
    (lambda t: t["sources"].update(prometheus={"url": "http://p:9090"}, models=[
        {"name": "m", "owner": "a", "prometheus": [{"name": "x", "query": "up", "aggregate": "median"}]}]),
     "sources.models[0].prometheus[0].aggregate", "must be one of sum, avg, min, max, not 'median'"),
    (lambda t: t["sources"].update(prometheus={"url": "http://p:9090"}, models=[
        {"name": "m", "owner": "a", "prometheus": [{"name": "x", "query": "up", "labels": ["api-1"]}]}]),
     "sources.models[0].prometheus[0].labels", "must be a mapping of label names to values"),
    (lambda t: t["sources"].update(prometheus={"url": "http://p:9090"}, models=[
        {"name": "m", "owner": "a", "prometheus": [{"name": "x", "query": "up", "labels": {"1nstance": "a"}}]}]),
     "sources.models[0].prometheus[0].labels", "'1nstance' is not a Prometheus label name"),
    (lambda t: t["digests"][0].update(at="8am"), "digests[0].at", "not a time of day"),
    (lambda t: t["digests"][0].update(at="08:00 Mars/Olympus"), "digests[0].at", "not a known time zone"),
    (lambda t: t["digests"][0].update(days=["monday"]), "digests[0].days", "'monday' is not a day"),
    (lambda t: t["digests"][0].update(sources=["wandb"]), "digests[0].sources", "no tracking source named 'wandb'"),
    (lambda t: t["sources"]["tracking"].append(dict(t["sources"]["tracking"][0])), "sources.tracking[1].name",
     "used twice"),
])
def test_mistakes_name_their_key(change, where: str, why: str) -> None:
    import copy
    team = copy.deepcopy(DESIGN_EXAMPLE)
    change(team)
    with pytest.raises(SourcesConfigError) as err:
        parse_sources(team)
    assert str(err.value).startswith(f"{where}: ")
    assert why in str(err.value)


def test_a_prometheus_check_names_its_series_or_how_to_combine_them() -> None:
    config = parse_sources({"sources": {"prometheus": {"url": "http://p:9090"}, "models": [
        {"name": "m", "owner": "a", "prometheus": [
            {"name": "p99", "query": "latency_p99", "labels": {"instance": "api-1:9100", "code": 200}},
            {"name": "errors", "query": "rate(errors[5m])", "aggregate": "sum"},
            {"name": "up", "query": "up"}]}]}})
    p99, errors, up = config.models[0].prometheus
    assert (dict(p99.choice.labels), p99.choice.aggregate) == ({"instance": "api-1:9100", "code": "200"}, None)
    assert (dict(errors.choice.labels), errors.choice.aggregate) == ({}, "sum")
    assert (dict(up.choice.labels), up.choice.aggregate) == ({}, None)


def test_schedule_has_one_key_per_occurrence_at_local_time_across_dst() -> None:
    config = parse_sources(DESIGN_EXAMPLE)
    # London springs forward on Sunday 2027-03-28: 08:00 is 08:00 UTC on Friday, 07:00 UTC on Monday.
    items = plan_digests("acme-ml", config, utc(2027, 3, 26), utc(2027, 3, 30))
    assert [(i.key, i.due_at) for i in items] == [
        ("digest:experiments:acme-ml:#ml-team:2027-03-26", utc(2027, 3, 26, 8)),
        ("digest:experiments:acme-ml:#ml-team:2027-03-29", utc(2027, 3, 29, 7)),
    ]
    again = plan_digests("acme-ml", config, utc(2027, 3, 26), utc(2027, 3, 30))
    assert [i.key for i in again] == [i.key for i in items]


def test_drift_checks_are_planned_on_a_fixed_grid() -> None:
    team = {**DESIGN_EXAMPLE, "digests": [{"kind": "drift", "channel": "#ml", "at": "09:00 UTC", "check_every": "30m"}]}
    items = plan_digests("acme-ml", parse_sources(team), utc(2027, 3, 15, 8, 10), utc(2027, 3, 15, 9, 31))
    assert [(i.kind, i.due_at) for i in items] == [
        ("digest.drift", utc(2027, 3, 15, 9)),
        ("digest.drift-check", utc(2027, 3, 15, 8, 30)),
        ("digest.drift-check", utc(2027, 3, 15, 9)),
        ("digest.drift-check", utc(2027, 3, 15, 9, 30)),
    ]


def test_sparkline_reads_as_bars_with_gaps() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.5, None, 0.5]) == "▄·▄"
    assert sparkline([None, None]) == "··"


def test_an_entry_without_an_address_takes_the_deployment_default() -> None:
    team = {"sources": {"tracking": [{"kind": "mlflow", "experiments": ["churn-*"], "metric": "val_auc"}],
                        "monitoring": [{"kind": "evidently", "project": "churn"}],
                        "prometheus": {"timeout": "5s"}}}
    defaults = SourceDefaults(mlflow_uri="http://mlflow.internal:5000/", evidently_url="http://evidently.internal",
                              prometheus_url="http://prom.internal:9090")
    config = parse_sources(team, defaults)
    assert config.tracking[0].url == "http://mlflow.internal:5000"
    assert config.monitoring[0].url == "http://evidently.internal"
    assert config.prometheus is not None and config.prometheus.url == "http://prom.internal:9090"
    named = {"sources": {"tracking": [{"kind": "mlflow", "uri": "http://other:5000", "experiments": ["x"],
                                       "metric": "auc"}]}}
    assert parse_sources(named, defaults).tracking[0].url == "http://other:5000", "the team file's address wins"
    with pytest.raises(SourcesConfigError, match=r"sources\.tracking\[0\]\.uri: .*MLFLOW_TRACKING_URI"):
        parse_sources(team)
    with pytest.raises(SourcesConfigError, match=r"sources\.monitoring\[0\]\.url: .*EVIDENTLY_URL"):
        parse_sources({"sources": {"monitoring": [{"kind": "evidently"}]}})


TEAM_HEAD = "workspace: acme-ml\nmembers:\n  - {id: alice, name: Alice, tz: UTC}\n"


def installed_app(store: Store, defaults: SourceDefaults | None = None) -> tuple[Meridian, Digests]:
    app, *_ = make_app(store, utc(2027, 3, 15, 7))
    digests = Digests(lambda config: SourceSet(), defaults=defaults)
    app.install([digests])
    return app, digests


def test_a_bad_digests_section_without_sources_is_an_error_at_its_line(sqlite_store: Store) -> None:
    app, _ = installed_app(sqlite_store)
    text = TEAM_HEAD + "digests:\n  - {kind: experiments, channel: '#ml', at: '08:00 UTC', days: [someday]}\n"
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "team.yaml", app.sections)
    assert err.value.errors == ["team.yaml:5: digests[0].days: 'someday' is not a day; use mon, tue, wed, thu, fri, "
                                "sat, sun"]
    text = TEAM_HEAD + "digests:\n  - {kind: experiments, channel: '#ml', at: '08:00 UTC'}\n"
    with pytest.raises(TeamFileError, match=r"team.yaml:5: digests\[0\]: an experiments digest needs sources.tracking"):
        parse_team(text, "team.yaml", app.sections)


def test_both_sections_are_checked_once_and_applied_in_the_import(sqlite_store: Store) -> None:
    app, digests = installed_app(sqlite_store, SourceDefaults(mlflow_uri="http://mlflow.internal"))
    text = (TEAM_HEAD + "sources:\n  tracking: [{kind: mlflow, experiments: [x], metric: auc, goal: up}]\n"
            "digests: [{kind: experiments, channel: '#ml', at: '08:00 UTC'}]\n")
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "team.yaml", app.sections)
    assert err.value.errors == ["team.yaml:5: sources.tracking[0].goal: must be one of max, min, not 'up'"]
    tf = parse_team(text.replace("goal: up", "goal: max"), "team.yaml", app.sections)
    apply_team(app, tf)
    service = digests.registry.get("acme-ml")
    assert service is not None and service.config.tracking[0].url == "http://mlflow.internal"


def test_a_failure_while_applying_leaves_no_digest_configuration_behind(sqlite_store: Store) -> None:
    app, *_ = make_app(sqlite_store, utc(2027, 3, 15, 7))

    def no_key(config: SourcesConfig) -> SourceSet:
        raise SourcesConfigError(("sources", "tracking", 0, "kind"), "a W&B source needs the WANDB_API_KEY setting")

    digests = Digests(no_key)
    app.install([digests])
    text = (TEAM_HEAD + "sources:\n  tracking: [{kind: wandb, entity: acme, projects: [churn], metric: loss}]\n")
    with pytest.raises(SourcesConfigError):
        apply_team(app, parse_team(text, "team.yaml", app.sections))
    assert digests.registry.get("acme-ml") is None
    assert sqlite_store.kv_get("acme-ml", "digests:config") is None


def test_alertmanager_address_from_the_team_file_or_the_setting() -> None:
    from bot.settings import SettingsError, load_settings

    models = {"models": [{"name": "m", "owner": "alice", "prometheus": [{"name": "p", "query": "up"}]}],
              "prometheus": {"url": "http://prom"}}
    setting = SourceDefaults(alertmanager_url="http://am.internal:9093/")
    assert parse_sources({"sources": models}).alertmanager is None
    alone = parse_sources({"sources": models}, setting).alertmanager
    assert alone is not None and alone.url == "http://am.internal:9093" and alone.channel is None
    written = parse_sources({"sources": {**models, "alertmanager": {"url": "http://am.team:9093", "channel": "#a",
                                                                    "timeout": "3s"}}}, setting).alertmanager
    assert written is not None and (written.url, written.channel, written.timeout) == (
        "http://am.team:9093", "#a", timedelta(seconds=3))
    with pytest.raises(SourcesConfigError, match=r"sources\.alertmanager\.url.*http"):
        parse_sources({"sources": {**models, "alertmanager": {"url": "am.team:9093"}}})
    assert written.check_every == timedelta(minutes=1), "a silenced alert is looked up every minute by default"
    often = parse_sources({"sources": {**models, "alertmanager": {"url": "http://am", "check_every": "30s"}}})
    assert often.alertmanager is not None and often.alertmanager.check_every == timedelta(seconds=30)
    with pytest.raises(SourcesConfigError, match=r"sources\.alertmanager\.check_every"):
        parse_sources({"sources": {**models, "alertmanager": {"url": "http://am", "check_every": "often"}}})
    assert load_settings({"MERIDIAN_ALERTMANAGER_URL": "http://am:9093"}, dotenv=None).alertmanager_url == \
        "http://am:9093"
    with pytest.raises(SettingsError, match="MERIDIAN_ALERTMANAGER_URL must be an http"):
        load_settings({"MERIDIAN_ALERTMANAGER_URL": "am:9093"}, dotenv=None)


def test_run_events_are_on_by_default_every_two_minutes_and_off_for_the_demo_data() -> None:
    cfg = parse_sources({"sources": {"tracking": [
        {"kind": "mlflow", "uri": "http://m:5000", "experiments": ["churn-*"], "metric": "val_auc"},
        {"kind": "demo", "name": "demo", "experiments": ["churn-*"], "metric": "val_auc"},
        {"kind": "mlflow", "name": "off", "uri": "http://m:5000", "experiments": ["x"], "metric": "m",
         "events": False}]}})
    assert cfg.tracking[0].events is not None and cfg.tracking[0].events.every == timedelta(minutes=2)
    assert cfg.tracking[0].events.stale_after == timedelta(minutes=30)
    assert cfg.tracking[1].events is None and cfg.tracking[2].events is None


def test_run_targets_read_as_people_write_them() -> None:
    cfg = parse_sources({"sources": {"tracking": [
        {"kind": "mlflow", "uri": "http://m:5000", "experiments": ["churn-*"], "metric": "val_auc",
         "events": {"every": "1m", "channel": "#runs", "targets": {"val_auc": ">= 0.90", "loss": "<0.2",
                                                                  "f1": "≥ .8"}}}]}})
    events = cfg.tracking[0].events
    assert events is not None and events.every == timedelta(minutes=1) and events.channel == "#runs"
    assert [str(t) for t in events.targets] == ["val_auc ≥ 0.9", "loss < 0.2", "f1 ≥ 0.8"]
    assert events.targets[0].met(0.9) and not events.targets[0].met(0.899)
    assert events.targets[1].met(0.1) and not events.targets[1].met(0.2)


@pytest.mark.parametrize(("events", "where", "why"), [
    ({"targets": {"val_auc": "at least 0.9"}}, "events.targets.val_auc", "is not a comparison"),
    ({"targets": {"val_auc": 0.9}}, "events.targets.val_auc", "like \">= 0.9\""),
    ({"targets": {"val_auc": "=> 0.9"}}, "events.targets.val_auc", "is not a comparison"),
    ({"targets": ["val_auc >= 0.9"]}, "events.targets", "mapping of metric names"),
    ({"every": "10s"}, "events.every", "at least 30s"),
    ({"every": "soon"}, "events.every", ""),
    ({"stale": "30m"}, "events.stale", "unknown key"),
])
def test_run_event_mistakes_name_their_key(events, where: str, why: str) -> None:
    raw = {"sources": {"tracking": [{"kind": "mlflow", "uri": "http://m:5000", "experiments": ["churn-*"],
                                     "metric": "val_auc", "events": events}]}}
    with pytest.raises(SourcesConfigError) as err:
        parse_sources(raw)
    assert str(err.value).startswith(f"sources.tracking[0].{where}: ") and why in str(err.value)


def test_run_event_polls_are_planned_on_a_fixed_grid_only_for_sources_with_events() -> None:
    from bot.digests.events import plan_polls

    cfg = parse_sources({"sources": {"tracking": [
        {"kind": "mlflow", "uri": "http://m:5000", "experiments": ["a"], "metric": "m", "events": {"every": "5m"}},
        {"kind": "mlflow", "name": "quiet", "uri": "http://m:5000", "experiments": ["b"], "metric": "m",
         "events": False}]}})
    start = utc(2027, 3, 15, 8, 1)
    items = plan_polls("acme-ml", cfg.tracking, start, start + timedelta(minutes=20))
    assert [i.key for i in items] == [f"run-events:acme-ml:mlflow:2027-03-15T08:{m:02d}:00Z" for m in (5, 10, 15, 20)]
    assert items == plan_polls("acme-ml", cfg.tracking, start, start + timedelta(minutes=20)), "planning twice"


TARGETED = {"sources": {
    "tracking": [{"kind": "mlflow", "uri": "http://m:5000", "experiments": ["churn-*"], "metric": "val_auc",
                  "models": ["churn-model"]}],
    "prometheus": {"url": "http://p:9090"},
    "models": [{"name": "churn", "owner": "ravi", "registered_model": "churn-model",
                "prometheus": [{"name": "latency_p99_ms", "query": "latency_p99 * 1000", "aggregate": "max"}],
                "targets": {"val_auc": ">= 0.82", "latency_p99_ms": "≤ 200",
                            "error_rate": {"condition": "< 0.01", "prometheus": "rate(errors[5m])",
                                           "labels": {"job": "api"}}}}]}}


def test_a_models_targets_read_its_prometheus_checks_its_own_queries_or_the_registry() -> None:
    model, = parse_sources(TARGETED).models
    auc, latency, errors = model.targets
    assert (str(auc.target), auc.check, auc.tracking) == ("val_auc ≥ 0.82", None, "mlflow")
    assert model.registry_name == "churn-model"
    assert str(latency.target) == "latency_p99_ms ≤ 200" and latency.check == model.prometheus[0]
    assert latency.tracking is None
    assert errors.check is not None and (errors.check.query, dict(errors.check.choice.labels)) == (
        "rate(errors[5m])", {"job": "api"})


def test_a_registry_target_reads_the_tracking_source_that_lists_the_model_or_the_one_named() -> None:
    import copy
    team = copy.deepcopy(TARGETED)
    team["sources"]["tracking"].insert(0, {"kind": "demo", "name": "other", "experiments": ["x"], "metric": "auc"})
    assert parse_sources(team).models[0].targets[0].tracking == "mlflow", "the source whose models: list it"
    team["sources"]["models"][0]["tracking"] = "other"
    assert parse_sources(team).models[0].targets[0].tracking == "other"
    only_targets = {"sources": {"tracking": TARGETED["sources"]["tracking"],
                                "models": [{"name": "churn-model", "owner": "ravi", "targets": {"val_auc": ">= 0.8"}}]}}
    assert parse_sources(only_targets).models[0].targets[0].tracking == "mlflow", "targets alone are enough to watch"


def _targeted(change) -> dict:
    import copy
    team = copy.deepcopy(TARGETED)
    change(team["sources"])
    return team


@pytest.mark.parametrize(("change", "where", "why"), [
    (lambda s: s["models"][0]["targets"].update(val_auc="at least 0.82"), "sources.models[0].targets.val_auc",
     "'at least 0.82' is not a comparison: write one of >=, >, <=, < and a number"),
    (lambda s: s["models"][0]["targets"].update(val_auc=0.82), "sources.models[0].targets.val_auc",
     'must be a comparison and a number in quotes, like ">= 0.9", not 0.82'),
    (lambda s: s["models"][0].update(targets=[">= 0.8"]), "sources.models[0].targets",
     "must be a mapping of metric names to conditions"),
    (lambda s: s["models"][0]["targets"].update(p50={"prometheus": "x"}), "sources.models[0].targets.p50.condition",
     "is required"),
    (lambda s: s["models"][0]["targets"].update(p50={"condition": "< 1", "querry": "x"}),
     "sources.models[0].targets.p50.querry", "unknown key"),
    (lambda s: s.pop("tracking"), "sources.models[0].targets.val_auc",
     "is not one of this model's Prometheus checks (latency_p99_ms), and there is no tracking source to read it "
     "from"),
    (lambda s: s["tracking"].__setitem__(0, {"kind": "wandb", "entity": "acme", "projects": ["churn"],
                                             "metric": "auc"}),
     "sources.models[0].targets.val_auc", "tracking source 'wandb' (wandb) has no model registry Meridian reads"),
    (lambda s: s["tracking"].extend([{**s["tracking"][0], "name": "a", "models": []},
                                     {**s["tracking"][0], "name": "b", "models": []}]) or s["tracking"].pop(0),
     "sources.models[0].targets.val_auc", "say which tracking source's registry holds 'churn-model' with tracking:"),
    (lambda s: s["models"][0].update(tracking="nope"), "sources.models[0].tracking", "no tracking source named 'nope'"),
    (lambda s: s.pop("prometheus") and s["models"][0].pop("prometheus"), "sources.models[0].targets.error_rate",
     "reads Prometheus, which needs sources.prometheus.url"),
])
def test_target_mistakes_name_their_key(change, where: str, why: str) -> None:
    with pytest.raises(SourcesConfigError) as err:
        parse_sources(_targeted(change))
    assert str(err.value).startswith(f"{where}: ")
    assert why in str(err.value)


def test_a_bad_target_is_one_line_at_its_line_in_the_team_file(sqlite_store: Store) -> None:
    app, _ = installed_app(sqlite_store)
    text = (TEAM_HEAD + "sources:\n  tracking: [{kind: demo, experiments: [x], metric: auc}]\n  models:\n"
            "    - name: churn\n      owner: alice\n      targets:\n        val_auc: '>= 0.8'\n"
            "        latency_ms: 'under 200'\n")
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "team.yaml", app.sections)
    assert err.value.errors == ["team.yaml:11: sources.models[0].targets.latency_ms: 'under 200' is not a comparison: "
                                'write one of >=, >, <=, < and a number, like ">= 0.9"']
    text = text.replace("  tracking: [{kind: demo, experiments: [x], metric: auc}]\n", "").replace(
        "latency_ms: 'under 200'", "latency_ms: '< 200'")
    with pytest.raises(TeamFileError) as err:
        parse_team(text, "team.yaml", app.sections)
    assert err.value.errors == ["team.yaml:9: sources.models[0].targets.val_auc: is not a Prometheus check of this "
                                "model, and there is no tracking source to read it from: add sources.tracking (an "
                                "MLflow registry), or give it a prometheus: query"]


def test_the_published_schema_describes_targets() -> None:
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "team.schema.json").read_text())
    team = {"workspace": "acme-ml", "members": [{"id": "ravi", "tz": "UTC"}], **TARGETED}
    jsonschema.validate(team, schema)
    bad = {**team, "sources": {**TARGETED["sources"], "models": [
        {**TARGETED["sources"]["models"][0], "targets": {"val_auc": "at least 0.8"}}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
