"""Settings from the environment (DESIGN §4); a ``.env`` file is read when present.

A missing or invalid setting stops start-up with one clear line naming it. Secrets are
kept out of ``repr`` so they never reach a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """One line that names the setting and what is wrong with it."""


def read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        at = data[:err.start].count(b"\n") + 1
        raise SettingsError(f"{path}:{at}: the file is not UTF-8 text (byte 0x{data[err.start]:02x}); "
                            "save it as UTF-8") from None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _secret() -> str:
    return field(default="", repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///meridian.db"
    port: int = 3000
    slack_bot_token: str = _secret()
    slack_signing_secret: str = _secret()
    slack_app_token: str = _secret()
    slack_client_id: str = ""
    slack_client_secret: str = _secret()
    slack_api_url: str = "https://slack.com/api/"
    microsoft_app_id: str = ""
    microsoft_app_password: str = _secret()
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str = ""
    teams_emulator: bool = False
    """``MERIDIAN_TEAMS_EMULATOR=1``: Teams without authentication, for a local Bot Connector."""
    teams_emulator_url: str = ""
    """``MERIDIAN_TEAMS_EMULATOR_URL``: the local Bot Connector's address, the one service URL besides the
    Bot Framework's that Meridian will call in emulator mode."""
    mlflow_tracking_uri: str = ""
    wandb_api_key: str = _secret()
    evidently_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""
    """``MERIDIAN_ALERTMANAGER_URL``: Alertmanager's API address for the alert buttons (a team file's
    ``sources.alertmanager.url`` wins)."""
    webhook_token: str = _secret()
    mlflow_webhook_secret: str = _secret()
    wandb_webhook_secret: str = _secret()
    public_url: str = ""
    retention_days: int = 365
    heartbeat_seconds: float = 10.0
    """``MERIDIAN_HEARTBEAT_SECONDS``: how often a worker says it is alive; silent for three, it is presumed dead."""
    log_level: str = "INFO"
    slack_journal: str = "slack-journal"
    """``MERIDIAN_SLACK_JOURNAL``: the folder where a Slack request acknowledged before the database recorded it
    is written down (``adapters/slack/journal.py``), so that a killed process's next start finds it."""

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_client_id))


ENV_NAMES = {
    "DATABASE_URL": "database_url", "PORT": "port", "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret", "SLACK_APP_TOKEN": "slack_app_token",
    "SLACK_CLIENT_ID": "slack_client_id", "SLACK_CLIENT_SECRET": "slack_client_secret",
    "SLACK_API_URL": "slack_api_url", "MicrosoftAppId": "microsoft_app_id",
    "MicrosoftAppPassword": "microsoft_app_password", "MicrosoftAppType": "microsoft_app_type",
    "MicrosoftAppTenantId": "microsoft_app_tenant_id", "MLFLOW_TRACKING_URI": "mlflow_tracking_uri",
    "WANDB_API_KEY": "wandb_api_key", "EVIDENTLY_URL": "evidently_url", "PROMETHEUS_URL": "prometheus_url",
    "MERIDIAN_ALERTMANAGER_URL": "alertmanager_url",
    "MERIDIAN_WEBHOOK_TOKEN": "webhook_token", "MERIDIAN_LOG_LEVEL": "log_level",
    "MLFLOW_WEBHOOK_SECRET": "mlflow_webhook_secret", "WANDB_WEBHOOK_SECRET": "wandb_webhook_secret",
    "MERIDIAN_PUBLIC_URL": "public_url",
    "MERIDIAN_RETENTION_DAYS": "retention_days", "MERIDIAN_TEAMS_EMULATOR": "teams_emulator",
    "MERIDIAN_TEAMS_EMULATOR_URL": "teams_emulator_url", "MERIDIAN_HEARTBEAT_SECONDS": "heartbeat_seconds",
    "MERIDIAN_SLACK_JOURNAL": "slack_journal",
}
LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def _heartbeat(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0.1 <= seconds <= 600:
        raise SettingsError(f"MERIDIAN_HEARTBEAT_SECONDS must be a number of seconds from 0.1 to 600, not {raw!r}")
    return seconds


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env"),
                  socket_mode: bool = False) -> Settings:
    """The settings, or ``SettingsError`` naming the first wrong one.

    ``socket_mode`` (``meridian socket``): Slack's events come over a socket opened with
    ``SLACK_APP_TOKEN``, so that is what a bot token needs beside it, not a signing secret.
    """
    source = {**(read_dotenv(dotenv) if dotenv else {}), **(os.environ if env is None else env)}
    values: dict[str, object] = {}
    for env_name, attr in ENV_NAMES.items():
        if env_name in source and source[env_name] != "":
            values[attr] = source[env_name]
    if "port" in values:
        try:
            port = int(str(values["port"]))
        except ValueError:
            raise SettingsError(f"PORT must be a number between 1 and 65535, not {values['port']!r}") from None
        if not 0 < port < 65536:
            raise SettingsError(f"PORT must be a number between 1 and 65535, not {port}")
        values["port"] = port
    if "retention_days" in values:
        raw_days = str(values["retention_days"])
        if not raw_days.isdigit() or int(raw_days) < 1:
            raise SettingsError(f"MERIDIAN_RETENTION_DAYS must be a whole number of days, 1 or more, not {raw_days!r}")
        values["retention_days"] = int(raw_days)
    if "heartbeat_seconds" in values:
        values["heartbeat_seconds"] = _heartbeat(str(values["heartbeat_seconds"]))
    if "teams_emulator" in values:
        values["teams_emulator"] = str(values["teams_emulator"]).strip() == "1"
    url = str(values.get("database_url", Settings.database_url))
    if not url.startswith(("sqlite", "postgres")):
        raise SettingsError("DATABASE_URL must start with sqlite:/// or postgresql:// (got another scheme)")
    level = str(values.get("log_level", "INFO")).upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"MERIDIAN_LOG_LEVEL must be one of {', '.join(sorted(LOG_LEVELS))}")
    values["log_level"] = level
    if values.get("slack_bot_token") and not str(values["slack_bot_token"]).startswith("xox"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if socket_mode and not values.get("slack_app_token"):
        raise SettingsError("SLACK_APP_TOKEN is required for Socket Mode (an app-level token, xapp-…)")
    if values.get("slack_bot_token") and not values.get("slack_signing_secret") and not values.get("slack_app_token"):
        raise SettingsError("SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set "
                            "(or SLACK_APP_TOKEN, for `meridian socket`)")
    for attr in ("slack_api_url", "mlflow_tracking_uri", "evidently_url", "prometheus_url", "alertmanager_url",
                 "public_url",
                 "teams_emulator_url"):
        value = str(values.get(attr, ""))
        if value and not value.startswith(("http://", "https://")):
            name = next(k for k, v in ENV_NAMES.items() if v == attr)
            raise SettingsError(f"{name} must be an http:// or https:// URL")
    return Settings(**values)  # type: ignore[arg-type]
