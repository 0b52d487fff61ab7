"""Slack listeners, one module per surface: `commands`, `events` (mentions, DMs, thread
replies), `actions` (answer buttons), `runbooks` (checklists), `home` (the App Home tab),
`teach` (the admin's "Teach" button and its modal).

Every listener does the same four things: acknowledge, ask the engine, render, reply.
None of them holds rule logic; `conversation` keeps a thread's context between messages,
and `common` holds what they all share. `register_listeners(app, services)` wires them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.listeners import actions, commands, events, home, runbooks, teach
from bot.listeners.common import Services

if TYPE_CHECKING:
    from slack_bolt import App

__all__ = ["register_listeners"]


def register_listeners(app: App, services: Services) -> None:
    """Attach every pambot listener to `app`."""
    commands.register(app, services)
    events.register(app, services)
    home.register(app, services)
    runbooks.register(app, services)
    teach.register(app, services)
    actions.register(app, services)
    # Last: Bolt hands a request to the first listener that matches.
    actions.register_fallback(app)
