"""The shape of a Slack request body, checked before Bolt or a listener reads it.

Slack documents every payload's fields and their types, and Bolt and pambot's listeners read
them as documented: an event is an object, its `text` a string, a click's `actions` a
non-empty list of objects. A signed body of any other shape is not something Slack sends, so
it is refused with one sentence naming the field (`MalformedPayload`), before it can fail
somewhere inside Bolt with a traceback.

    >>> try:
    ...     check_payload({"type": "event_callback", "event": "app_mention"})
    ... except MalformedPayload as problem:
    ...     print(problem)
    `event` is not an object

Only what Bolt or pambot reads is checked; fields nobody reads may be anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Event types pambot answers: their user, channel and text are strings (Slack's Events API).
_ANSWERED_EVENTS = frozenset({"app_mention", "message", "app_home_opened"})
_EVENT_TEXT = ("type", "user", "channel", "text", "ts", "thread_ts", "channel_type",
               "subtype", "bot_id", "tab", "event_ts")
_TOP_TEXT = ("type", "team_id", "api_app_id", "event_id", "enterprise_id", "command",
             "text", "user_id", "channel_id", "response_url", "trigger_id", "challenge")
# Objects in interactivity payloads (block_actions, view_submission, shortcut, ...).
_TOP_OBJECTS = ("team", "channel", "container", "message", "view", "enterprise")
_ACTION_TEXT = ("action_id", "block_id", "value", "type", "action_ts")
_VIEW_TYPES = frozenset({"view_submission", "view_closed"})


class MalformedPayload(ValueError):
    """A Slack request body of a shape Slack does not send; the message names the field."""


def check_payload(payload: Mapping[str, Any]) -> None:
    """MalformedPayload unless `payload` (a parsed request body) has the shape Slack sends."""
    _texts(payload, _TOP_TEXT, "")
    for name in _TOP_OBJECTS:
        _object(payload, name, "")
    if "event" in payload or payload.get("type") == "event_callback":
        _event(payload.get("event"))
    kind = payload.get("type")
    if kind in ("block_actions", "block_suggestion", "shortcut", "message_action") \
            or kind in _VIEW_TYPES:
        _user(payload.get("user"))
    if kind == "block_actions":
        _actions(payload.get("actions"))
    if kind in _VIEW_TYPES:
        view = payload.get("view")
        if not isinstance(view, Mapping):
            raise MalformedPayload(f"a {kind} without a `view` object")
        _texts(view, ("id", "type", "callback_id"), "view.", required=True)


def _event(event: Any) -> None:
    if not isinstance(event, Mapping):
        raise MalformedPayload("`event` is not an object")
    if not isinstance(event.get("type"), str):
        raise MalformedPayload("`event.type` is not a string")
    if event["type"] in _ANSWERED_EVENTS:
        _texts(event, _EVENT_TEXT, "event.")
    else:
        # Other events may carry the user or channel as an object (team_join, channel_created).
        for name in ("user", "channel"):
            if event.get(name) is not None and not isinstance(event[name], str | Mapping):
                raise MalformedPayload(f"`event.{name}` is neither a string nor an object")


def _user(user: Any) -> None:
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), str):
        raise MalformedPayload("`user` is not an object with a string `id`")


def _actions(actions: Any) -> None:
    if not isinstance(actions, list) or not actions:
        raise MalformedPayload("block_actions without a list of `actions`")
    for action in actions:
        if not isinstance(action, Mapping) or not isinstance(action.get("action_id"), str):
            raise MalformedPayload("an action that is not an object with a string `action_id`")
        _texts(action, _ACTION_TEXT, "actions[].")


def _texts(data: Mapping[str, Any], names: tuple[str, ...], prefix: str, *,
           required: bool = False) -> None:
    for name in names:
        value = data.get(name)
        if (value is not None or required) and not isinstance(value, str):
            raise MalformedPayload(f"`{prefix}{name}` is not a string")


def _object(data: Mapping[str, Any], name: str, prefix: str) -> None:
    value = data.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise MalformedPayload(f"`{prefix}{name}` is not an object")
