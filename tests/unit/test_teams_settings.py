"""When Teams is switched on, and the one line an operator gets for a wrong Teams setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.teams.cli import teams_enabled
from adapters.teams.server import TeamsSettingsError, teams_config
from bot.bootstrap import connect_platforms
from bot.settings import SettingsError, load_settings


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"DATABASE_URL": "sqlite://", **env}, dotenv=None)


def test_teams_is_on_with_an_app_id_or_in_emulator_mode_and_off_otherwise() -> None:
    assert not teams_enabled(settings())
    assert teams_enabled(settings(MERIDIAN_TEAMS_EMULATOR="1"))
    assert not teams_enabled(settings(MERIDIAN_TEAMS_EMULATOR="0"))
    assert teams_enabled(settings(MicrosoftAppId="x", MicrosoftAppPassword="p"))


def test_emulator_mode_is_read_from_the_environment_or_the_dotenv_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("MERIDIAN_TEAMS_EMULATOR=1\n", encoding="utf-8")
    assert load_settings({}, dotenv=dotenv).teams_emulator
    assert not load_settings({"MERIDIAN_TEAMS_EMULATOR": "0"}, dotenv=dotenv).teams_emulator
    assert not load_settings({}, dotenv=None).teams_emulator


def test_serve_gets_the_teams_port_and_route_in_emulator_mode() -> None:
    teams = connect_platforms(settings(MERIDIAN_TEAMS_EMULATOR="1",
                                       MERIDIAN_TEAMS_EMULATOR_URL="http://127.0.0.1:9000"))["teams"]
    assert teams.chat.platform == "teams" and teams.chat.app_id == "" and len(teams.routes) == 1
    connections = connect_platforms(settings())
    assert list(connections) == ["console"] and connections["console"].routes == []


@pytest.mark.parametrize(("env", "message"), [
    ({"MicrosoftAppId": "x"}, "MicrosoftAppPassword is required when MicrosoftAppId is set"),
    ({"MicrosoftAppId": "x", "MicrosoftAppPassword": "p", "MicrosoftAppType": "SingleTenant"},
     "MicrosoftAppTenantId is required when MicrosoftAppType is SingleTenant"),
    ({"MicrosoftAppType": "Weird"}, "MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI"),
])
def test_a_wrong_teams_setting_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(TeamsSettingsError, match=message):
        teams_config(settings(**env))
    with pytest.raises(SettingsError, match=message):
        connect_platforms(settings(**env, MERIDIAN_TEAMS_EMULATOR="1"))


def test_the_password_never_shows_in_a_repr() -> None:
    config = teams_config(settings(MicrosoftAppId="x", MicrosoftAppPassword="hunter2"))
    assert config.APP_PASSWORD == "hunter2" and "hunter2" not in repr(config)


@pytest.mark.parametrize("blank", [" ", "\t", "   "])
def test_a_blank_app_id_without_the_emulator_flag_stops_start_up(blank: str) -> None:
    """A blank ``MicrosoftAppId`` used to switch authentication off silently."""
    with pytest.raises(SettingsError, match="MicrosoftAppId is blank") as refused:
        connect_platforms(settings(MicrosoftAppId=blank))
    assert "\n" not in str(refused.value)
    config = teams_config(settings(MicrosoftAppId=blank, MERIDIAN_TEAMS_EMULATOR="1",
                                   MERIDIAN_TEAMS_EMULATOR_URL="http://127.0.0.1:9000"))
    assert config.emulator_mode and config.service_urls.allows("http://127.0.0.1:9000/v3/conversations")


def test_emulator_mode_needs_the_connector_url_and_calls_nowhere_else() -> None:
    with pytest.raises(SettingsError, match="MERIDIAN_TEAMS_EMULATOR_URL is required"):
        connect_platforms(settings(MERIDIAN_TEAMS_EMULATOR="1"))
    urls = teams_config(settings(MERIDIAN_TEAMS_EMULATOR="1", MERIDIAN_TEAMS_EMULATOR_URL="http://127.0.0.1:9000/"))\
        .service_urls
    assert urls.allows("http://127.0.0.1:9000/")
    assert not urls.allows("http://127.0.0.1:9001/") and not urls.allows("http://169.254.169.254/latest")
    assert urls.allows("https://smba.trafficmanager.net/emea/")


def test_with_an_app_id_only_bot_framework_service_urls_are_called() -> None:
    urls = teams_config(settings(MicrosoftAppId="x", MicrosoftAppPassword="p", MERIDIAN_TEAMS_EMULATOR="1",
                                 MERIDIAN_TEAMS_EMULATOR_URL="http://127.0.0.1:9000")).service_urls
    for good in ("https://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net/teams/",
                 "https://smba.infra.gcc.teams.microsoft.com/teams", "https://smba.infra.gov.teams.microsoft.us/teams",
                 "https://smba.infra.dod.teams.microsoft.us/teams"):
        assert urls.allows(good), good
    for bad in ("http://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net.evil.test/",
                "https://evil.test@smba.trafficmanager.net/", "https://smba.trafficmanager.net:8443/",
                "http://127.0.0.1:9000/", "", "not a url", "https://[::1/"):
        assert not urls.allows(bad), bad
