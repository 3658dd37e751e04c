"""Fixtures every integration module shares: one real MLflow server, one Evidently UI and one
Alertmanager per test session."""

from tests.integration.services import alertmanager, evidently_ui, mlflow_server  # noqa: F401  (fixtures)
