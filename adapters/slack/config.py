"""Slack's settings, checked once: one workspace (a bot token), many (OAuth), or Socket Mode.

Kept apart from ``adapters.slack.app`` so that ``meridian`` can check them without loading bolt.
"""

from __future__ import annotations

from dataclasses import dataclass


class SlackSettingError(ValueError):
    """A Slack setting is missing or inconsistent; the message names it."""


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str = ""
    bot_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    app_token: str | None = None
    api_url: str | None = None
    redirect_uri: str | None = None

    @property
    def multi_workspace(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @staticmethod
    def from_env(env: dict[str, str], socket_mode: bool = False) -> SlackConfig | None:
        """Slack settings from the environment; ``None`` when Slack is not configured at all."""
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        config = SlackConfig(signing_secret=get("SLACK_SIGNING_SECRET") or "", bot_token=get("SLACK_BOT_TOKEN"),
                             client_id=get("SLACK_CLIENT_ID"), client_secret=get("SLACK_CLIENT_SECRET"),
                             app_token=get("SLACK_APP_TOKEN"), api_url=get("SLACK_API_URL"),
                             redirect_uri=get("SLACK_REDIRECT_URI"))
        if not (config.bot_token or config.client_id or config.client_secret or config.app_token):
            if socket_mode:
                raise SlackSettingError("SLACK_APP_TOKEN and SLACK_BOT_TOKEN are required for Socket Mode")
            return None
        if bool(config.client_id) != bool(config.client_secret):
            missing = "SLACK_CLIENT_SECRET" if config.client_id else "SLACK_CLIENT_ID"
            raise SlackSettingError(f"{missing} is required for multi-workspace install (OAuth)")
        if socket_mode:
            if not config.app_token:
                raise SlackSettingError("SLACK_APP_TOKEN is required for Socket Mode (an xapp- token)")
            if not config.app_token.startswith("xapp-"):
                raise SlackSettingError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
            if not config.bot_token:
                raise SlackSettingError("SLACK_BOT_TOKEN is required for Socket Mode")
        else:
            if not config.signing_secret:
                raise SlackSettingError("SLACK_SIGNING_SECRET is required to verify Slack's requests")
            if not config.bot_token and not config.multi_workspace:
                raise SlackSettingError("SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                                        "SLACK_CLIENT_SECRET (OAuth install) are required")
        if config.bot_token and not config.bot_token.startswith("xoxb-"):
            raise SlackSettingError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        return config

