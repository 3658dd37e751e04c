"""Fixtures every integration module shares: one real MLflow server and one Evidently UI per test session."""

from tests.integration.services import evidently_ui, mlflow_server  # noqa: F401  (fixtures)
