"""`pambot manifest`: the Slack app manifest for HTTP mode or Socket Mode, from bot/manifest.yml.

    manifest_yaml(url="https://pambot.example.com")   # HTTP: every URL is <url>/slack/events
    manifest_yaml(socket=True)                         # Socket Mode: no URLs at all

The packaged manifest is the one source: scopes, events and the slash command come from it
(the command's name from the rules' settings, so a renamed command stays in step).
"""

from __future__ import annotations

import copy
import urllib.parse
from importlib import resources
from typing import Any

import yaml

from bot.server import EVENTS_PATH


class ManifestError(ValueError):
    """The address given for HTTP mode cannot be used; the message says why."""


def packaged_manifest() -> dict[str, Any]:
    """bot/manifest.yml, as data."""
    return yaml.safe_load(resources.files("bot").joinpath("manifest.yml").read_text("utf-8"))


def build_manifest(*, url: str | None = None, socket: bool = False,
                   command: str | None = None) -> dict[str, Any]:
    """The manifest for HTTP mode at `url`, or for Socket Mode (`socket`), as data."""
    if (url is None) == (not socket):
        raise ManifestError("give either an https:// address (HTTP mode) or Socket Mode.")
    data = copy.deepcopy(packaged_manifest())
    [slash] = data["features"]["slash_commands"]
    settings = data["settings"]
    if command:
        slash["command"] = command
    settings["socket_mode_enabled"] = socket
    if socket:
        # Slack sends nothing to a request URL in Socket Mode; leave none to go stale.
        del slash["url"]
        del settings["event_subscriptions"]["request_url"]
        del settings["interactivity"]["request_url"]
    else:
        events_url = events_url_for(url)
        slash["url"] = events_url
        settings["event_subscriptions"]["request_url"] = events_url
        settings["interactivity"]["request_url"] = events_url
    return data


def events_url_for(url: str) -> str:
    """`url` + /slack/events; ManifestError unless `url` is a plain https:// address."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ManifestError(f"--url must be the https:// address where pambot serve is "
                            f"reached, such as https://pambot.example.com, not {url[:80]!r}.")
    path = parts.path.rstrip("/").removesuffix(EVENTS_PATH)
    return urllib.parse.urlunsplit(("https", parts.netloc, path + EVENTS_PATH, "", ""))


def manifest_yaml(*, url: str | None = None, socket: bool = False,
                  command: str | None = None) -> str:
    """The manifest as YAML, ready to paste into Create New App -> From a manifest."""
    data = build_manifest(url=url, socket=socket, command=command)
    where = data["settings"]["interactivity"].get("request_url")
    mode = f"HTTP mode at {where}" if where else "Socket Mode"
    header = (f"# Slack app manifest for pambot, {mode}.\n"
              "# https://api.slack.com/apps -> Create New App -> From a manifest -> paste this.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
