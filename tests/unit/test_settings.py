from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_setup() -> None:
    s = load_settings({}, dotenv=None)
    assert (s.database_url, s.port, s.slack_enabled) == ("sqlite:///meridian.db", 3000, False)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nDATABASE_URL='postgresql://db/x'\n# comment\n")
    s = load_settings({"PORT": "5000"}, dotenv=env_file)
    assert (s.port, s.database_url) == (5000, "postgresql://db/x")


@pytest.mark.parametrize(("env", "names"), [
    ({"PORT": "eighty"}, "PORT"), ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"), ({"MERIDIAN_LOG_LEVEL": "LOUD"}, "MERIDIAN_LOG_LEVEL"),
    ({"MLFLOW_TRACKING_URI": "localhost:5000"}, "MLFLOW_TRACKING_URI"),
])
def test_a_bad_setting_is_named_in_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env, dotenv=None)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_secrets_never_appear_in_repr() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-secret-123", "SLACK_SIGNING_SECRET": "shh"}, dotenv=None)
    assert "secret-123" not in repr(s) and "shh" not in repr(s)
