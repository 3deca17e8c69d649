"""Settings: the XIANSUO_ prefix and the refusal of development defaults in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.settings import Environment, LogFormat, Settings


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
