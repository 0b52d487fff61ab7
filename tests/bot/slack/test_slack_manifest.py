"""The Slack app manifest and the Procfile agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

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
