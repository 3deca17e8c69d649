"""Browser tests: the real server (`xiansuo serve` in its own process, on loopback) over a demo
drop ingested into the run's own index prefix, driven by Debian's Chromium through Playwright.

Every page a test opens goes through a `Guard`: a request to any host but 127.0.0.1 is aborted
and fails the test, console errors, page errors and Content-Security-Policy violations fail it,
the CJK font must be available to the page, and a screenshot of each page is kept under
``$XIANSUO_TEST_ARTIFACTS`` (default ``tests/browser/artifacts/``, gitignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from apiworld import ingest_demo, isolated_settings
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, sync_playwright

from common.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = "127.0.0.1"
PASSWORD = "browser test passphrase 2026"  # noqa: S105 - fictitious accounts
REGION = "46"
SPECIAL_TASK = "web.task"
PURPOSE = "核查举报反映的公职人员违规经商办企业问题线索"
CJK_FONT_CHECK = "document.fonts.check('16px \"Noto Sans CJK SC\"', '线索检索')"
# Collects Content-Security-Policy violations from the first script on (an init script runs
# through the DevTools protocol: the page's CSP does not apply to it).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""
ARTIFACTS = Path(
    os.environ.get("XIANSUO_TEST_ARTIFACTS", Path(__file__).resolve().parent / "artifacts")
)
ACCOUNTS: dict[str, str] = {  # name -> role; one account per role
    "web.inv": "investigator",
    "web.inv2": "investigator",
    "web.boss": "approver",
    "web.task": "special_task",
    "web.analyst": "analyst",
    "web.auditor": "security_auditor",
    "web.secadmin": "security_admin",
    "web.sysadmin": "system_admin",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _environment(local: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    return env | {
        "XIANSUO_ENVIRONMENT": "development",  # cookies without Secure: the test speaks HTTP
        "XIANSUO_STATE_DIR": str(local.state_dir),
        "XIANSUO_DATABASE_URL": local.effective_database_url,
        "XIANSUO_INDEX_PREFIX": local.index_prefix,
        "XIANSUO_OPENSEARCH_URL": local.opensearch_url,
        "XIANSUO_LOG_LEVEL": "warning",
    }


def _xiansuo(local: Settings, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xiansuo", *args],
        env=_environment(local),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Server:
    """The running server, its settings, and API helpers for the test's setup."""

    url: str
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, who: str) -> str:
        if who not in self.tokens:
            answer = httpx.post(
                f"{self.url}/auth/token", json={"username": who, "password": PASSWORD}, timeout=30
            )
            assert answer.status_code == 200, answer.text
            self.tokens[who] = answer.json()["access_token"]
        return self.tokens[who]

    def api(self, method: str, path: str, who: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        return httpx.request(method, f"{self.url}{path}", json=body, headers=headers, timeout=60)

    def file_application(
        self, applicant: str, title: str, body: dict[str, Any], prefix: str = "案"
    ) -> int:
        """Open a case titled ``title`` (its number ``prefix`` and a fresh suffix) as
        ``applicant`` and file the application ``body`` under it through the API; its id."""
        case_no = f"{prefix}-{uuid.uuid4().hex[:8]}"
        case = self.api("POST", "/cases", applicant, {"case_no": case_no, "title": title})
        assert case.status_code == 201, case.text
        filed = self.api("POST", "/applications", applicant, body | {"case_id": case.json()["id"]})
        assert filed.status_code == 201, filed.text
        return int(filed.json()["id"])

    def file_approved(
        self, applicant: str, title: str, body: dict[str, Any], prefix: str = "案",
        approver: str = "web.boss",
    ) -> int:  # fmt: skip
        """`file_application`, then approved by ``approver`` through the API; the
        application's id."""
        app_id = self.file_application(applicant, title, body, prefix)
        decided = self.api("POST", f"/applications/{app_id}/decision", approver,
                           {"approve": True, "note": "同意"})  # fmt: skip
        assert decided.status_code == 200, decided.text
        return app_id

    def approved_application(self, applicant: str = "web.inv", approver: str = "web.boss") -> int:
        """A case and an application of ``applicant`` over every source of the region,
        approved by ``approver`` through the API; its id."""
        body = {"purpose": PURPOSE, "category": "初核",
                "sources": ["household", "company", "shareholder", "company_officer", "insured",
                            "benefit", "property", "petition", "official"],
                "regions": [REGION]}  # fmt: skip
        return self.file_approved(applicant, "网页检索核查", body, approver=approver)

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """The query log's entries after ``since`` (by seq), read from the store."""
        from common.db import create_db_engine
        from query_logs.audit import iter_entries

        engine = create_db_engine(self.settings.effective_database_url)
        try:
            return [asdict(e) for e in iter_entries(engine, after_seq=since, limit=10_000)]
        finally:
            engine.dispose()

    def last_seq(self) -> int:
        entries = self.log()
        return int(entries[-1]["seq"]) if entries else 0


@pytest.fixture(scope="session")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server over a demo drop of its own, with an account for every role (made with
    `xiansuo users add`); stopped, and its indices dropped, at the end."""
    root = tmp_path_factory.mktemp("browser")
    local = isolated_settings(settings, root, "web")
    ingest_demo(local, root, persons=300, seed=41)
    for name, role in ACCOUNTS.items():
        _xiansuo(local, "users", "add", name, "--role", role, "--region", REGION,
                 "--password-stdin", stdin=f"{PASSWORD}\n")  # fmt: skip
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "xiansuo", "serve", "--host", LOOPBACK, "--port", str(port)],
        env=_environment(local),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited at start: {process.communicate()[1]}")
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("the server did not start")
                time.sleep(0.2)
        yield Server(url, local)
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium(playwright_session: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (``playwright install`` needs a CDN this network cannot reach)."""
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Guard:
    """What a page did that a test must not allow: requests off the machine, console errors,
    page errors; and the screenshots it took."""

    page: Page
    name: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shots: int = 0

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == LOOPBACK:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def attach(self) -> None:
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.add_init_script(CSP_LISTENER)

    def check(self, label: str) -> None:
        """The page as it is now: Chinese font available, no CSP violation; a screenshot."""
        self.page.wait_for_load_state("networkidle")
        assert self.page.evaluate(CJK_FONT_CHECK), "the CJK font is not available to the page"
        violations = self.page.evaluate("window.__cspViolations || []")
        assert violations == [], violations
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        self.page.screenshot(path=ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png",
                             full_page=True)  # fmt: skip

    def expect_refused_load(self, status: int) -> None:
        """The page just loaded was a refusal the test asked for: Chromium's console error for
        that status is expected (any other error still fails the test)."""
        expected = f"the server responded with a status of {status}"
        self.errors = [e for e in self.errors if expected not in e]

    def finish(self) -> None:
        assert self.outside == [], f"requests left {LOOPBACK}: {self.outside}"
        assert self.errors == [], self.errors


@pytest.fixture
def guarded(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Guard]:
    """A fresh browser context and page under a `Guard`, checked when the test ends."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860})
    page = context.new_page()
    guard = Guard(page, request.node.name.replace("/", "_")[:80])
    guard.attach()
    try:
        yield guard
        guard.finish()
    finally:
        context.close()


def log_in(page: Page, url: str, who: str, password: str = PASSWORD) -> None:
    """Sign in through the login page."""
    page.goto(f"{url}/ui/login")
    page.fill("#username", who)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def pick_application(page: Page, application_id: int) -> None:
    """Choose ``application_id`` in the header's application picker and wait for the page the
    picker returns to."""
    page.click("#current-application button")
    page.select_option("#application-id", str(application_id))
    page.click("#application-picker button[type=submit]")
    page.wait_for_load_state("networkidle")


def file_special_check(
    server: Server,
    case: tuple[str, str],
    purpose: str,
    sources: list[str],
    models: list[str] | None = None,
) -> int:
    """A 专项核查 application with export of the special-task account under a new case (``case``:
    its number's prefix and its title), over ``sources`` of the region and, when given, naming
    ``models``; approved through the API. Its id."""
    body = {"purpose": purpose, "category": "专项核查", "sources": sources, "regions": [REGION],
            "export": True} | ({} if models is None else {"models": models})  # fmt: skip
    prefix, title = case
    return server.file_approved(SPECIAL_TASK, title, body, prefix)


def entries_of(entries: list[dict[str, Any]], kind: str, **match: Any) -> list[Mapping[str, Any]]:
    return [e for e in entries if str(e["kind"]) == kind
            and all(e.get(k) == v for k, v in match.items())]  # fmt: skip
