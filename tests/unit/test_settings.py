"""Settings: the XIANSUO_ prefix and the refusal of development defaults in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from common.settings import (
    MIN_SECRET_CHARS,
    Environment,
    LogFormat,
    Settings,
    generate_secret_file,
)


def test_environment_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIANSUO_OPENSEARCH_URL", "http://127.0.0.1:9999")
    assert Settings().opensearch_url == "http://127.0.0.1:9999"


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="XIANSUO_SECRET_KEY must be set"):
        Settings(environment=Environment.PRODUCTION)


def test_production_accepts_a_long_secret_and_logs_json() -> None:
    settings = Settings(environment=Environment.PRODUCTION, secret_key="k" * 40)
    assert settings.effective_log_format is LogFormat.JSON


def test_database_defaults_to_sqlite_in_state_dir(tmp_path: object) -> None:
    settings = Settings(state_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/xiansuo.db"


def test_index_prefix_is_validated() -> None:
    with pytest.raises(ValidationError):
        Settings(index_prefix="Bad Prefix!")


def test_secret_key_file_replaces_the_secret(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    generate_secret_file(secret)
    settings = Settings(secret_key_file=secret)
    assert settings.secret_key.get_secret_value() == secret.read_text().strip()
    assert not settings.uses_development_secret


def test_generated_secret_file_is_private_and_kept(tmp_path: Path) -> None:
    secret = tmp_path / "keys" / "secret.key"
    generate_secret_file(secret)
    first = secret.read_text()
    generate_secret_file(secret)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text() == first
    assert len(first.strip()) >= MIN_SECRET_CHARS


@pytest.mark.parametrize(
    ("mode", "content", "message"),
    [
        (0o644, "s" * 48, "readable by others"),
        (0o640, "s" * 48, "readable by others"),
        (0o600, "short", "shorter than"),
    ],
)
def test_unsafe_secret_key_files_are_refused(
    tmp_path: Path, mode: int, content: str, message: str
) -> None:
    secret = tmp_path / "secret.key"
    secret.write_text(content)
    secret.chmod(mode)
    with pytest.raises(ValidationError, match=message):
        Settings(secret_key_file=secret)


def test_a_missing_secret_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the secret key file"):
        Settings(secret_key_file=tmp_path / "absent.key")


def test_development_counts_as_declared_only_when_set_explicitly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not Settings().development_declared
    monkeypatch.setenv("XIANSUO_ENVIRONMENT", "development")
    assert Settings().development_declared


def test_trusted_proxies_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIANSUO_TRUSTED_PROXIES", " 10.0.0.5, 192.168.1.0/24 ,")
    assert Settings().trusted_proxies == ("10.0.0.5", "192.168.1.0/24")


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().trusted_proxies == ()


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.300", "*"])
def test_a_trusted_proxy_must_be_an_address_or_network(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XIANSUO_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings()


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("http://127.0.0.1:9250", ["http://127.0.0.1:9250"]),
        (
            "http://127.0.0.1:9270,http://127.0.0.1:9271, http://127.0.0.1:9272",
            ["http://127.0.0.1:9270", "http://127.0.0.1:9271", "http://127.0.0.1:9272"],
        ),
        ("https://search.example:9200,", ["https://search.example:9200"]),
    ],
)
def test_engine_url_list_gives_every_node_to_the_client(value: str, hosts: list[str]) -> None:
    assert Settings(opensearch_url=value).opensearch_hosts == hosts


@pytest.mark.parametrize("value", ["", " , ", "127.0.0.1:9250", "http://a:1,ftp://b:2"])
def test_engine_url_without_a_usable_node_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match=r"engine|XIANSUO_OPENSEARCH_URL"):
        Settings(opensearch_url=value)


def test_indices_have_no_replica_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIANSUO_INDEX_REPLICAS", raising=False)
    assert Settings().index_replicas == 0


def test_index_replicas_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIANSUO_INDEX_REPLICAS", "1")
    assert Settings().index_replicas == 1


@pytest.mark.parametrize("value", ["-1", "6"])
def test_index_replicas_out_of_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XIANSUO_INDEX_REPLICAS", value)
    with pytest.raises(ValidationError, match="index_replicas"):
        Settings()
