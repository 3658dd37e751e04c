"""``meridian teams-package``: the zip Teams accepts, built by the operator's command."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.teams.extension import ASK_OWNER
from adapters.teams.package import COMMANDS, png_size
from bot.cli import main

APP_ID = "4f1b8a2e-93c1-4d5e-8f00-1a2b3c4d5e6f"


def pixels(png: bytes) -> list[tuple[int, int, int, int]]:
    """Decode the encoder's own output (8-bit RGBA, filter 0) back to pixels."""
    width, height = png_size(png)
    pos, idat = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    assert len(raw) == stride * height and all(raw[y * stride] == 0 for y in range(height))
    return [tuple(raw[y * stride + 1 + 4 * x: y * stride + 5 + 4 * x]) for y in range(height) for x in range(width)]


def test_the_package_has_a_v1_17_manifest_with_the_bot_and_two_icons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    assert main(["teams-package", "--out", "meridian.zip", "--version", "1.2.0",
                 "--website", "https://meridian.example.com"]) == 0
    assert "wrote meridian.zip" in capsys.readouterr().out
    with zipfile.ZipFile(tmp_path / "meridian.zip") as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        m = json.loads(z.read("manifest.json"))
        color, outline = z.read("color.png"), z.read("outline.png")
    assert m["manifestVersion"] == "1.17" and m["$schema"].endswith("/v1.17/MicrosoftTeams.schema.json")
    assert m["id"] == APP_ID and m["version"] == "1.2.0"
    assert m["developer"]["privacyUrl"] == "https://meridian.example.com/privacy"
    assert len(m["name"]["short"]) <= 30 and len(m["description"]["short"]) <= 80
    assert len(m["description"]["full"]) <= 4000 and m["accentColor"] == "#2E5E8C"
    bot = m["bots"][0]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = bot["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == [t for t, _ in COMMANDS] and len(commands) <= 10
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    assert {"standup", "raci", "retro", "experiments", "drift", "meridian help"} <= {c["title"] for c in commands}
    assert m["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert png_size(color) == (192, 192) and png_size(outline) == (32, 32)
    color_px, outline_px = pixels(color), pixels(outline)
    assert all(a == 255 for *_rgb, a in color_px) and len({p[:3] for p in color_px}) > 2
    assert all(p[:3] == (255, 255, 255) for p in outline_px)  # white on transparent
    assert {p[3] for p in outline_px} >= {0, 255}


def test_without_an_app_id_the_command_says_which_setting_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    assert main(["teams-package"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meridian: MicrosoftAppId must be the bot's Azure app id") and err.count("\n") == 1
    assert main(["teams-package", "--app-id", APP_ID, "--website", "http://insecure.example"]) == 2
    assert "--website must be an https:// URL" in capsys.readouterr().err
    assert not (tmp_path / "meridian-teams.zip").exists()


def test_with_a_public_url_the_package_declares_the_personal_tab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MERIDIAN_PUBLIC_URL", "https://meridian.acme.example/")
    assert main(["teams-package", "--out", "meridian.zip", "--domain", "acme.example"]) == 0
    with zipfile.ZipFile(tmp_path / "meridian.zip") as z:
        m = json.loads(z.read("manifest.json"))
    (tab,) = m["staticTabs"]
    # v1.17: entityId ≤ 64, name ≤ 128, https URLs ≤ 2048 on a valid domain, scopes of a static tab.
    assert tab == {"entityId": "home", "name": "Home", "contentUrl": "https://meridian.acme.example/teams/tab",
                   "websiteUrl": "https://meridian.acme.example/teams/tab", "scopes": ["personal"]}
    assert m["validDomains"] == ["acme.example", "meridian.acme.example"]
    assert main(["teams-package", "--out", "plain.zip", "--public-url", ""]) == 0
    with zipfile.ZipFile(tmp_path / "plain.zip") as z:
        assert "staticTabs" not in json.loads(z.read("manifest.json"))
    assert main(["teams-package", "--public-url", "http://meridian.acme.example"]) == 2
    assert "MERIDIAN_PUBLIC_URL must be an https:// URL" in capsys.readouterr().err


def test_the_package_declares_the_message_action_ask_who_owns_this(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    assert main(["teams-package", "--out", "meridian.zip"]) == 0
    with zipfile.ZipFile(tmp_path / "meridian.zip") as z:
        m = json.loads(z.read("manifest.json"))
    # v1.17: at most one compose extension, powered by the bot (same app id); at most 10 commands; a command's
    # id ≤ 64, title ≤ 32, description ≤ 128; context among compose, commandBox, message; 1 to 5 parameters,
    # each name ≤ 64, title ≤ 32, description ≤ 128 and a known inputType.
    (extension,) = m["composeExtensions"]
    assert extension["botId"] == APP_ID == m["bots"][0]["botId"]
    (command,) = extension["commands"]
    assert command["id"] == ASK_OWNER and command["type"] == "action" and command["title"] == "Ask who owns this"
    assert command["context"] == ["message"] and command["fetchTask"] is False  # Teams sends submitAction itself
    assert len(command["id"]) <= 64 and len(command["title"]) <= 32 and len(command["description"]) <= 128
    (parameter,) = command["parameters"]
    assert parameter["name"] == "question" and parameter["inputType"] == "textarea"
    assert parameter.get("isRequired", False) is False  # empty: the message itself is asked about
    assert len(parameter["name"]) <= 64 and len(parameter["title"]) <= 32 and len(parameter["description"]) <= 128
    assert set(extension) <= {"botId", "commands"} and set(command) <= {
        "id", "type", "title", "description", "context", "fetchTask", "parameters"}


MANIFEST_SCHEMA = Path(__file__).resolve().parents[1] / "emulators" / "schemas" / "teams-manifest-1.17.json"


def _manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    assert main(["teams-package", "--out", "meridian.zip", "--version", "1.2.0",
                 "--website", "https://meridian.example.com", *extra]) == 0
    with zipfile.ZipFile(tmp_path / "meridian.zip") as z:
        manifest: dict[str, Any] = json.loads(z.read("manifest.json"))
    return manifest


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Why the manifest is not a valid Teams app manifest v1.17, by Microsoft's own schema (format checks on)."""
    schema = json.loads(MANIFEST_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(manifest)]


def test_the_package_validates_against_microsofts_v1_17_manifest_schema(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _manifest(tmp_path, monkeypatch)
    assert schema_errors(manifest) == []
    with_tab = _manifest(tmp_path, monkeypatch, "--public-url", "https://meridian.example.com",
                         "--domain", "meridian.example.com")
    assert with_tab["staticTabs"] and schema_errors(with_tab) == []
    # the schema is strict where it matters: it would catch a field the package got wrong
    broken = {**manifest, "manifestVersion": "1.17", "bots": [{**manifest["bots"][0], "scopes": ["everyone"]}]}
    assert any("scopes" in e for e in schema_errors(broken))
    assert any("unexpected" in e or "Additional properties" in e for e in schema_errors({**manifest, "tab": {}}))
