"""`xiansuo serve` as an operator runs it: the secret key it accepts, and whose address it logs.

Each test starts the real server in its own process on loopback and talks to it over HTTP.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from common.settings import generate_secret_file

FORGED = "203.0.113.9"  # TEST-NET-3: an address a client writes into its own headers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    return (
        env
        | {
            "XIANSUO_STATE_DIR": str(state),
            "XIANSUO_OPENSEARCH_URL": os.environ.get(
                "XIANSUO_OPENSEARCH_URL", "http://127.0.0.1:9260"
            ),
            "XIANSUO_LOG_LEVEL": "warning",
        }
        | extra
    )


def _serve(state: Path, port: int, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xiansuo", "serve", "--port", str(port)],
        env=_environment(state, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Running:
    """A started server: its base URL, and what it wrote to stderr once stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stderr = ""


@contextmanager
def running(state: Path, **extra: str) -> Iterator[Running]:
    """A started server; stopped afterwards."""
    port = _free_port()
    process = _serve(state, port, **extra)
    server = Running(f"http://127.0.0.1:{port}")
    url = server.url
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited at start: {process.communicate()[1]}")
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        server.stderr = process.communicate(timeout=30)[1]


def _secret(state: Path) -> str:
    path = state / "secret.key"
    generate_secret_file(path)
    return str(path)


def _failed_login_addresses(state: Path) -> list[str]:
    with sqlite3.connect(state / "xiansuo.db") as conn:
        rows = conn.execute(
            "SELECT source_ip FROM audit_entry WHERE kind = 'login_failed' ORDER BY seq"
        ).fetchall()
    return [row[0] for row in rows]


def _failed_login(url: str, headers: dict[str, str]) -> None:
    answer = httpx.post(
        f"{url}/auth/token",
        json={"username": "nobody.here", "password": "not the password"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 401


def test_serve_refuses_the_development_key_unless_development_is_declared(
    tmp_path: Path,
) -> None:
    process = _serve(tmp_path, _free_port())
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "refusing to start with the published development secret key" in err


def test_serve_warns_loudly_when_development_accepts_the_published_key(tmp_path: Path) -> None:
    with running(tmp_path, XIANSUO_ENVIRONMENT="development") as server:
        assert httpx.get(f"{server.url}/openapi.json", timeout=10).status_code == 200
    assert "RUNNING WITH THE PUBLISHED DEVELOPMENT SECRET KEY" in server.stderr


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": FORGED},
        {"X-Forwarded-For": f"{FORGED}, 127.0.0.1"},
        {"X-Real-IP": FORGED, "Forwarded": f"for={FORGED}"},
    ],
)
def test_a_client_cannot_forge_its_address_in_the_log(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    with running(tmp_path, XIANSUO_SECRET_KEY_FILE=_secret(tmp_path)) as server:
        _failed_login(server.url, headers)
    assert _failed_login_addresses(tmp_path) == ["127.0.0.1"]


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    with running(
        tmp_path, XIANSUO_SECRET_KEY_FILE=_secret(tmp_path), XIANSUO_TRUSTED_PROXIES="127.0.0.1"
    ) as server:
        _failed_login(server.url, {"X-Forwarded-For": FORGED})
        _failed_login(server.url, {})
    assert _failed_login_addresses(tmp_path) == [FORGED, "127.0.0.1"]


def test_a_proxy_elsewhere_does_not_make_loopback_trusted(tmp_path: Path) -> None:
    with running(
        tmp_path, XIANSUO_SECRET_KEY_FILE=_secret(tmp_path), XIANSUO_TRUSTED_PROXIES="10.0.0.5"
    ) as server:
        _failed_login(server.url, {"X-Forwarded-For": FORGED})
    assert _failed_login_addresses(tmp_path) == ["127.0.0.1"]
