"""The App Home tab: published (`views.publish`) each time someone opens it.

What pambot answers, example questions as buttons (answered in the viewer's DM, see
`actions`), the viewer's own recent questions from the query log, and for the user IDs in
PAMBOT_ADMINS the query log's summary as blocks.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import querylog
from bot.home import home_view
from bot.listeners.common import Services

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

RECENT_DAYS = 30
RECENT_SHOWN = 5
STATS_DAYS = 7


def register(app: App, services: Services) -> None:
    """Listen for `app_home_opened`."""

    @app.event("app_home_opened")
    def on_home_opened(event: dict, client: WebClient) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str):
            return  # the Messages tab, or an event without a viewer
        recent, summary = _from_the_log(services, user, admin=user in services.admins)
        client.views_publish(user_id=user, view=home_view(
            services.ruleset, recent=recent, summary=summary, since=f"{STATS_DAYS} days",
            recent_days=RECENT_DAYS))


def _from_the_log(services: Services, user: str, *, admin: bool):
    """The viewer's recent questions, and the summary if they are an admin (or empty ones,
    when there is no log to read)."""
    now = datetime.now(UTC)
    summary = querylog.Summary(since=None, total=0, by_intent=[], by_outcome=[], by_rule=[],
                               top_unanswered=[], votes=0, helpful_votes=0) if admin else None
    if not services.db_path:
        return [], summary
    try:
        db = querylog.open_existing(services.db_path)
    except querylog.NoLog:
        return [], summary
    except querylog.errors() as exc:
        log.warning("App Home: cannot read the query log %s: %s",
                    querylog.shown(services.db_path), exc)
        return [], summary
    try:
        recent = querylog.recent_questions(
            db, user, querylog.utc_iso(now - timedelta(days=RECENT_DAYS)), limit=RECENT_SHOWN)
        if admin:
            summary = querylog.summarize(db, querylog.utc_iso(now - timedelta(days=STATS_DAYS)))
    except querylog.errors() as exc:
        log.warning("App Home: cannot read the query log %s: %s",
                    querylog.shown(services.db_path), exc)
        recent = []
    finally:
        db.close()
    return recent, summary
