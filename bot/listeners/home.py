"""The App Home tab: published (`views.publish`) each time someone opens it.

What pambot answers, example questions as buttons (answered in the viewer's DM, see
`actions`), the viewer's own recent questions from the query log, and for the user IDs in
PAMBOT_ADMINS the query log's summary as blocks and the words to teach (see `teach`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import querylog
from bot.home import home_view
from bot.listeners.common import Services
from bot.querylog.read import review_rows
from bot.teaching import review_groups

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

RECENT_DAYS = 30
RECENT_SHOWN = 5
STATS_DAYS = 7
# The most asked questions of each kind the Home's "Words to teach" reads (it is published
# each time an admin opens it: `pambot log review` reads them all).
REVIEW_ROWS = 200


def register(app: App, services: Services) -> None:
    """Listen for `app_home_opened`."""

    @app.event("app_home_opened")
    def on_home_opened(event: dict, client: WebClient) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str):
            return  # the Messages tab, or an event without a viewer
        publish_home(services, client, user)


def publish_home(services: Services, client: WebClient, user: str) -> None:
    """Publish `user`'s Home tab, as it stands now."""
    recent, summary, teach = _from_the_log(services, user, admin=user in services.admins)
    client.views_publish(user_id=user, view=home_view(
        services.ruleset, recent=recent, summary=summary, since=f"{STATS_DAYS} days",
        recent_days=RECENT_DAYS, teach=teach))


def _from_the_log(services: Services, user: str, *, admin: bool):
    """The viewer's recent questions, and if they are an admin the summary and the review
    groups to teach from (or empty ones, when there is no log to read)."""
    now = datetime.now(UTC)
    summary = querylog.Summary(since=None, total=0, by_intent=[], by_outcome=[], by_rule=[],
                               top_unanswered=[], votes=0, helpful_votes=0) if admin else None
    teach = [] if admin else None
    if not services.db_path:
        return [], summary, teach
    try:
        db = querylog.open_existing(services.db_path)
    except querylog.NoLog:
        return [], summary, teach
    except querylog.errors() as exc:
        log.warning("App Home: cannot read the query log %s: %s",
                    querylog.shown(services.db_path), exc)
        return [], summary, teach
    try:
        recent = querylog.recent_questions(
            db, user, querylog.utc_iso(now - timedelta(days=RECENT_DAYS)), limit=RECENT_SHOWN)
        if admin:
            since = querylog.utc_iso(now - timedelta(days=STATS_DAYS))
            summary = querylog.summarize(db, since)
            teach = review_groups(review_rows(db, since, limit=REVIEW_ROWS), services.ruleset)
    except querylog.errors() as exc:
        log.warning("App Home: cannot read the query log %s: %s",
                    querylog.shown(services.db_path), exc)
        recent = []
    finally:
        db.close()
    return recent, summary, teach
