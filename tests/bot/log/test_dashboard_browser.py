"""`pambot log serve`: the query log in Datasette, looked at in a real (headless) Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from bot.querylog import QueryLog, connect
from rules import answer
from tests.conftest import PAMBOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def fill_log(path: Path) -> None:
    """A week of questions: some unanswered, some voted on, several outcomes."""
    log = QueryLog(path)
    for text in ["upgrade 4.0", "Upgrade 4.0 ", "upgrade 4.0", "upgrade 8.0", "hello there"]:
        log.record_query(answer(text), source="slash", elapsed_ms=1.0, user="U1")
    helped = log.record_query(answer("upgrade 6.5.4"), source="mention", elapsed_ms=1.0)
    disliked = log.record_query(answer("upgrade 6.5.4 tonight"), source="dm", elapsed_ms=1.0)
    log.record_query(answer("restore leader"), source="cli", elapsed_ms=1.0)
    log.record_feedback(helped, helpful=True, user="U2")
    log.record_feedback(disliked, helpful=True, user="U3")
    log.record_feedback(disliked, helpful=False, user="U3")  # changed their mind: counts
    assert log.flush()
    log.close()


def start_dashboard(db_path: Path, log_path: Path,
                    **env: str) -> tuple[subprocess.Popen, str]:
    """`pambot log serve` on the log at `db_path`, at a free port, once it answers; the
    process and its URL."""
    with socket_port() as port:
        pass
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "PAMBOT_"))}
    environment.update(PAMBOT_DB=str(db_path), **env)
    with open(log_path, "wb") as out:
        process = subprocess.Popen([PAMBOT, "log", "serve", "--port", str(port)],
                                   env=environment, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/-/versions.json", timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """`pambot log serve` on a filled log, at a free port; its URL."""
    tmp = tmp_path_factory.mktemp("dashboard")
    db_path = tmp / "pambot.db"
    fill_log(db_path)
    process, url = start_dashboard(db_path, tmp / "dashboard.log")
    yield url, db_path
    process.terminate()
    process.wait(timeout=20)


class socket_port:  # noqa: N801 - used as a context manager, like socket.socket
    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        pass


def in_ci() -> bool:
    """True under CI (`CI` set, as .ci/run and the usual CI services set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_browser() -> None:
    """Skip, saying why, where Chromium is missing; under CI, fail: these are the only tests
    of the dashboard's canned queries, and a green run without them would hide that."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    reason = (f"Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}): apt-get install "
              "chromium chromium-driver")
    if in_ci():
        pytest.fail(f"{reason}. CI must run the dashboard's browser tests (.ci/run installs "
                    "it as root with apt-get)", pytrace=False)
    pytest.skip(f"{reason}; skipped here, outside CI")


def test_without_chromium_ci_fails_and_a_local_run_skips(monkeypatch):
    monkeypatch.setattr(f"{__name__}.CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the dashboard's browser tests"):
        require_browser()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/chromium.*outside CI"):
        require_browser()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by selenium through Debian's chromedriver."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pambot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def rows(browser, url: str) -> list[dict[str, str]]:
    """The result table of the page at `url`, as the browser shows it."""
    from selenium.webdriver.common.by import By

    browser.get(url)
    headers = [th.get_attribute("data-column") or th.text
               for th in browser.find_elements(By.CSS_SELECTOR, "table.rows-and-columns th")]
    return [dict(zip(headers, [td.text for td in tr.find_elements(By.TAG_NAME, "td")],
                     strict=True))
            for tr in browser.find_elements(By.CSS_SELECTOR, "table.rows-and-columns tbody tr")]


def test_the_canned_queries_show_what_the_rule_owners_need(dashboard, browser, tmp_path):
    url, db_path = dashboard
    unanswered = rows(browser, f"{url}/pambot/unanswered_this_week")
    from selenium.webdriver.common.by import By

    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "Questions pambot could not answer this week"
    by_question = {row["question"]: row for row in unanswered}
    assert by_question["upgrade 4.0"]["times_asked"] == "3"
    assert by_question["upgrade 8.0"]["times_asked"] == "1"
    assert "upgrade 6.5.4" not in by_question
    assert unanswered[0]["question"] == "upgrade 4.0"  # most asked first

    not_helpful = rows(browser, f"{url}/pambot/not_helpful_by_rule")
    assert [(r["rule"], r["not_helpful"], r["helpful"]) for r in not_helpful] == [
        ("upgrade-6.5.4", "1", "1")]
    assert not_helpful[0]["questions"] == "upgrade 6.5.4 tonight"

    per_day = rows(browser, f"{url}/pambot/questions_per_day")
    # The days the rows were logged on (UTC), from the rows themselves: a log filled just
    # before midnight spans two days.
    with sqlite3.connect(db_path) as db:
        days = dict(db.execute("SELECT substr(ts, 1, 10), count(*) FROM queries GROUP BY 1"))
    assert {row["day"]: int(row["questions"]) for row in per_day} == days
    assert sum(days.values()) == 8
    assert sum(int(row["path"]) for row in per_day) == 3

    never_hit = {row["rule"] for row in rows(browser, f"{url}/pambot/rules_never_hit")}
    assert "restore-cluster" in never_hit
    assert {"upgrade-6.5.4", "restore-leader"}.isdisjoint(never_hit)
    path = tmp_path / "dashboard.png"
    browser.get(f"{url}/pambot/unanswered_this_week")
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("PAMBOT_README_SCREENSHOT"):  # refresh the README's picture by hand
        shutil.copy(path, os.environ["PAMBOT_README_SCREENSHOT"])


def test_the_database_page_describes_the_tables_and_hides_the_internal_ones(dashboard,
                                                                            browser):
    from selenium.webdriver.common.by import By

    url, _ = dashboard
    browser.get(f"{url}/pambot")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "queries" in page and "feedback" in page
    for internal in ("events", "threads", "query_links"):
        assert not browser.find_elements(By.CSS_SELECTOR, f'a[href="/pambot/{internal}"]')
    for title in ("Questions pambot could not answer this week", "Rules never hit",
                  "Answers marked not helpful, by rule", "Questions per day by outcome"):
        assert title in page
    browser.get(f"{url}/pambot/queries")
    assert "One row per question answered." in browser.find_element(By.TAG_NAME, "body").text


def test_the_dashboard_is_read_only_and_local(dashboard, browser):
    from selenium.webdriver.common.by import By

    url, db_path = dashboard
    browser.get(f"{url}/pambot?sql=delete+from+queries")
    assert "Statement must be a SELECT" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{url}/pambot?sql=select+count(*)+as+n+from+queries")
    assert browser.find_element(By.CSS_SELECTOR, "td.col-n").text == "8"
    with urllib.request.urlopen(f"{url}/-/settings.json", timeout=5) as reply:
        assert b'"allow_download": false' in reply.read()


def test_the_dashboard_listens_on_127_0_0_1_only(dashboard):
    url, _ = dashboard
    port = int(url.rsplit(":", 1)[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # 127.0.0.2 is this machine too (Linux routes all of 127/8 to it), but not 127.0.0.1: a
    # server on every address (0.0.0.0) answers there, one on 127.0.0.1 only refuses.
    with socket.create_server(("0.0.0.0", 0)) as everywhere:
        socket.create_connection(("127.0.0.2", everywhere.getsockname()[1]), timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=5)
    # Nor on this machine's own network addresses, where it has any.
    for address in own_addresses():
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=5)


def own_addresses() -> set[str]:
    """This machine's IPv4 addresses outside 127/8, as its name resolves."""
    try:
        found = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return set()
    return {info[4][0] for info in found if not info[4][0].startswith("127.")}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_log_serve_stopped_by_a_signal_leaves_no_temporary_directory(tmp_path, stop):
    db_path = tmp_path / "pambot.db"
    fill_log(db_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process, _ = start_dashboard(db_path, tmp_path / "dashboard.log", TMPDIR=str(temporary))
    assert [p.name for p in temporary.iterdir()][0].startswith("pambot-dashboard-")
    process.send_signal(stop)
    status = process.wait(timeout=20)
    assert list(temporary.iterdir()) == []
    assert status == {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 130}[stop]
    assert "Traceback" not in (tmp_path / "dashboard.log").read_text()


def test_log_serve_says_so_when_there_is_no_log(pambot_cli, tmp_path):
    result = pambot_cli("log", "serve", env={"PAMBOT_DB": str(tmp_path / "none.db")})
    assert result.exit_code == 1
    assert result.stderr.startswith("pambot: ")
    assert "nothing to show yet" in result.stderr
    assert "Traceback" not in result.output


def test_log_serve_on_an_address_in_use_is_one_line_and_exit_1(pambot_cli, tmp_path):
    db_path = tmp_path / "pambot.db"
    connect(db_path).close()
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = pambot_cli("log", "serve", "--port", str(port),
                            env={"PAMBOT_DB": str(db_path)})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"pambot: cannot listen on 127.0.0.1:{port}: Address already in use")
