"""The Slack app manifest and the Procfile agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.server import EVENTS_PATH
from rules import default_ruleset

REPO = Path(__file__).resolve().parents[3]


def manifest() -> dict:
    return yaml.safe_load((REPO / "bot" / "manifest.yml").read_text())


def test_manifest_asks_for_exactly_the_scopes_and_events_pambot_uses():
    data = manifest()
    assert set(data["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "chat:write", "commands", "im:history", "channels:history",
        "groups:history"}
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.im", "message.channels", "message.groups", "app_home_opened"}
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_every_event_pambot_listens_for_is_in_the_manifest_and_no_other():
    listened = set()
    for module in (REPO / "bot" / "listeners").glob("*.py"):
        listened |= set(re.findall(r'@app\.event\("([a-z_]+)"\)', module.read_text()))
    subscribed = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    # One `message` listener takes message.im, message.channels and message.groups.
    assert listened == {e.split(".")[0] for e in subscribed} == {
        "app_mention", "message", "app_home_opened"}


def test_manifest_command_and_urls_match_the_server():
    data = manifest()
    [command] = data["features"]["slash_commands"]
    assert command["command"] == default_ruleset().settings.command
    urls = [command["url"], data["settings"]["event_subscriptions"]["request_url"],
            data["settings"]["interactivity"]["request_url"]]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)


def test_procfile_runs_http_on_port_and_socket_mode():
    lines = dict(line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines())
    assert lines == {"web": "pambot serve --port $PORT", "worker": "pambot socket"}


def urls_in(data: dict) -> list[str]:
    """Every URL-valued key in a manifest."""
    found = []
    for key, value in data.items():
        if isinstance(value, dict):
            found += urls_in(value)
        elif isinstance(value, list):
            for item in value:
                found += urls_in(item) if isinstance(item, dict) else []
        elif key in ("url", "request_url"):
            found.append(value)
    return found


def without_urls(data: dict) -> dict:
    """`data` minus its URLs and its socket_mode_enabled flag: what both modes share."""
    if isinstance(data, dict):
        return {k: without_urls(v) for k, v in data.items()
                if k not in ("url", "request_url", "socket_mode_enabled")}
    if isinstance(data, list):
        return [without_urls(item) for item in data]
    return data


@pytest.mark.slow
def test_pambot_manifest_for_http_points_every_url_at_slack_events(run_pambot):
    # Through the installed console script, as a user runs it; the others in this process.
    result = run_pambot("manifest", "--url", "https://pambot.corp.example/chatops/")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert urls_in(data) == ["https://pambot.corp.example/chatops" + EVENTS_PATH] * 3
    assert data["settings"]["socket_mode_enabled"] is False
    assert without_urls(data) == without_urls(manifest())


def test_pambot_manifest_for_socket_mode_has_no_urls(pambot_cli):
    result = pambot_cli("manifest", "--socket")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert urls_in(data) == []
    assert data["settings"]["socket_mode_enabled"] is True
    assert without_urls(data) == without_urls(manifest())


def test_pambot_manifest_refuses_an_address_slack_cannot_use(pambot_cli):
    for bad in ("http://pambot.corp.example", "pambot.corp.example", "https://"):
        result = pambot_cli("manifest", "--url", bad)
        assert result.exit_code == 2, bad
        assert result.stderr.startswith("pambot: --url must be the https:// address")
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_pambot_manifest_needs_one_mode(pambot_cli):
    for args in ([], ["--socket", "--url", "https://pambot.corp.example"]):
        result = pambot_cli("manifest", *args)
        assert result.exit_code == 2
        assert "give one of --url https://... or --socket" in result.stderr


def test_pambot_manifest_names_the_command_the_rules_name(pambot_cli, rules_copy):
    path = rules_copy / "settings.yaml"
    path.write_text(path.read_text().replace("command: /pam", "command: /pamhelp"))
    result = pambot_cli("manifest", "--socket", env={"PAMBOT_RULES": str(rules_copy)})
    [command] = yaml.safe_load(result.stdout)["features"]["slash_commands"]
    assert command["command"] == "/pamhelp"
