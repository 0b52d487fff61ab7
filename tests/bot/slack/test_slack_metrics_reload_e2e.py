"""Operating `pambot serve` and `pambot socket`: /metrics summed over several gunicorn workers,
and SIGHUP reloading the rule files while requests keep coming."""

from __future__ import annotations

import re
import signal
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.bot.slack.conftest import (
    free_port,
    mention_envelope,
    start_server,
    start_socket,
    stop_server,
    wait,
)

pytestmark = pytest.mark.slow

OLD_VERDICT = "verdict: Backup and restore required"
NEW_VERDICT = "verdict: Backup and restore needed first"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(page: dict, name: str, **labels: str) -> float | None:
    return page.get((name, tuple(sorted(labels.items()))))


def scrape(url: str) -> dict:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=")
        return samples(reply.read().decode())


def test_metrics_add_up_across_gunicorn_workers(standin, slack_to, tmp_path):
    server = start_server(standin, tmp_path, workers=3)
    try:
        slack = slack_to(server)
        questions = ["upgrade 6.5.4"] * 20 + ["upgrade 4.0"] * 10
        # Sent at once, so that every worker answers some of them.
        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(lambda text: slack.command(text), questions))
        assert [r.status for r in replies] == [200] * 30
        mention = {"type": "app_mention", "user": "U0ASKER", "channel": slack.unique("C"),
                   "text": f"<@{slack.BOT_USER}> upgrade 6.5.4", "ts": "1800000001.000100"}
        assert slack.event(mention, event_id="EvMETRICS1").status == 200
        assert slack.event(mention, event_id="EvMETRICS1", retry=1).status == 200
        assert server.rows("SELECT id FROM queries", count=31)

        version = server.get("/healthz")[1].removeprefix("ok, rules ")
        # Whichever worker answers the scrape, it counts every worker's share.
        for _ in range(6):
            page = scrape(server.url)
            assert value(page, "pambot_questions_total", source="slash", outcome="path") == 20
            assert value(page, "pambot_questions_total", source="slash", outcome="support") == 10
            assert value(page, "pambot_questions_total", source="mention", outcome="path") == 1
            assert value(page, "pambot_answer_seconds_count", source="slash") == 30
            assert value(page, "pambot_answer_seconds_bucket", source="slash", le="+Inf") == 30
            assert value(page, "pambot_slack_acks_total", status="200") == 32
            assert value(page, "pambot_events_deduplicated_total") == 1
            assert value(page, "pambot_rules_info", version=version) == 1
            assert value(page, "pambot_rules_loaded_timestamp_seconds") > 0
        page = wait(lambda: (p := scrape(server.url)) and value(
            p, "pambot_querylog_rows_written_total", table="queries") == 31 and p)
        assert value(page, "pambot_querylog_rows_written_total", table="queries") == 31
        assert value(page, "pambot_querylog_queue_depth") == 0
        assert value(page, "pambot_rules_reloads_total", result="refused") == 0
        unsigned = urllib.request.Request(server.url + "/slack/events", data=b"{}",
                                          method="POST")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(unsigned, timeout=10)
        assert value(scrape(server.url), "pambot_slack_acks_total", status="401") == 1
        [directory] = re.findall(r"metrics of every worker in (\S+)", server.log())
        assert Path(directory).is_dir()
    finally:
        assert stop_server(server) == 0
    # pambot made the multiprocess directory; it goes with pambot.
    assert not Path(directory).exists()


class Traffic:
    """Slash commands sent one after another from two threads until stopped."""

    def __init__(self, slack) -> None:
        self.slack = slack
        self.stop = threading.Event()
        self.replies: list[tuple[int, str]] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                reply = self.slack.command("upgrade 6.5.4")
                self.replies.append((reply.status, reply.text))
            except OSError as error:  # a refused or reset connection is a dropped request
                self.replies.append((0, str(error)))

    def finish(self) -> list[tuple[int, str]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        return self.replies


def test_sighup_reloads_the_rules_in_every_worker_without_dropping_a_request(
        standin, slack_to, tmp_path, rules_copy):
    server = start_server(standin, tmp_path, workers=2, env={"PAMBOT_RULES": str(rules_copy)})
    slack = slack_to(server)
    upgrade = rules_copy / "upgrade.yaml"
    traffic = None
    try:
        old_version = server.get("/healthz")[1].removeprefix("ok, rules ")
        traffic = Traffic(slack)
        assert wait(lambda: len(traffic.replies) >= 5)
        upgrade.write_text(upgrade.read_text().replace(OLD_VERDICT, NEW_VERDICT))
        server.process.send_signal(signal.SIGHUP)
        # New workers start before the old ones finish their requests, so for a moment
        # either may answer; the reload is done once no worker reports the old rules.
        changed = wait(lambda: (h := server.get("/healthz")[1]) != f"ok, rules {old_version}"
                       and h)
        assert changed, server.log()
        new_version = changed.removeprefix("ok, rules ")
        assert re.fullmatch(r"[0-9a-f]{12}", new_version) and new_version != old_version
        assert wait(lambda: all(server.get("/healthz")[1] == f"ok, rules {new_version}"
                                for _ in range(6))), server.log()

        # A broken set is refused with its file and line; the new rules stay in force.
        general = rules_copy / "general.yaml"
        general.write_text(general.read_text() + "rules: [{id: broken\n")
        server.process.send_signal(signal.SIGHUP)
        assert wait(lambda: "rules reload refused" in server.log()), server.log()
        assert wait(lambda: len(traffic.replies) >= 40)
        replies = traffic.finish()
        assert [r for r in replies if r[0] != 200] == [], server.log()[-3000:]

        log = server.log()
        assert f"rules reload refused, rules {new_version} stay in force" in log
        assert re.search(rf"{re.escape(str(general))}:\d+: not valid YAML", log), log
        assert server.get("/healthz") == (200, f"ok, rules {new_version}")
        # Every worker answers from the new rules.
        after = [slack.command("upgrade 6.5.4") for _ in range(12)]
        assert all(r.status == 200 and "Backup and restore needed first" in r.text
                   for r in after)
        assert any("Backup and restore required" in text for _, text in replies)
        page = scrape(server.url)
        assert value(page, "pambot_rules_info", version=new_version) == 1
        assert value(page, "pambot_rules_info", version=old_version) is None
        assert value(page, "pambot_rules_reloads_total", result="applied") == 1
        assert value(page, "pambot_rules_reloads_total", result="refused") == 1
        # Each logged query names the rules that answered it.
        total = len(replies) + len(after)
        rows = dict(server.rows("SELECT rules_version, count(*) FROM queries "
                                "GROUP BY rules_version", count=2))
        assert set(rows) == {old_version, new_version}
        assert wait(lambda: sum(dict(server.rows(
            "SELECT rules_version, count(*) FROM queries GROUP BY rules_version")).values())
            == total)
        latest = server.rows("SELECT rules_version FROM queries ORDER BY ts DESC LIMIT 12")
        assert {v for (v,) in latest} == {new_version}
    finally:
        if traffic is not None:
            traffic.finish()
        assert stop_server(server) == 0


def test_socket_mode_metrics_and_sighup_reload(standin, websocket, slack_env, tmp_path,
                                              rules_copy):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, log_path = start_socket({**slack_env, "PAMBOT_RULES": str(rules_copy)}, tmp_path,
                                     "--health-port", str(port), "--ping-interval", "2")

    def health() -> str:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as reply:
                return reply.read().decode()
        except OSError:
            return ""

    try:
        assert wait(lambda: health().startswith("ok, rules "), timeout=30), log_path.read_text()
        assert wait(lambda: value(scrape(url), "pambot_socket_connected") == 1)
        version = health().removeprefix("ok, rules ")
        page = scrape(url)
        assert value(page, "pambot_socket_reconnects_total") == 0
        assert value(page, "pambot_rules_info", version=version) == 1

        websocket.abort()  # the TCP connection drops; pambot connects again
        assert wait(lambda: value(scrape(url), "pambot_socket_reconnects_total") == 1)
        assert wait(lambda: value(scrape(url), "pambot_socket_connected") == 1)

        upgrade = rules_copy / "upgrade.yaml"
        upgrade.write_text(upgrade.read_text().replace(OLD_VERDICT, NEW_VERDICT))
        process.send_signal(signal.SIGHUP)
        assert wait(lambda: health() not in ("", f"ok, rules {version}")), log_path.read_text()
        new_version = health().removeprefix("ok, rules ")
        websocket.send(mention_envelope("env-metrics", "C0SOCKMET", "EvSOCKMET"))
        assert wait(lambda: websocket.acks("env-metrics"))
        assert wait(lambda: standin.posted(lambda c: c.body.get("channel") == "C0SOCKMET"))
        [post] = standin.posted(lambda c: c.body.get("channel") == "C0SOCKMET")
        assert "Backup and restore needed first" in post.body["text"]
        page = scrape(url)
        assert value(page, "pambot_questions_total", source="mention", outcome="path") == 1
        assert value(page, "pambot_slack_acks_total", status="200") >= 1
        assert value(page, "pambot_rules_info", version=new_version) == 1
        assert value(page, "pambot_rules_info", version=version) is None
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 143 or process.returncode == 0
