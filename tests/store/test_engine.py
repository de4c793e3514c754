"""Connecting: SQLite settings, URLs from config and environment, errors without passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from newsletter.config import Config, load_config
from newsletter.errors import ConfigError, StoreError
from newsletter.store import Store
from newsletter.store.engine import display_url, parse_url


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(
    sqlite_store: Store,
) -> None:
    """Every SQLite connection gets WAL, foreign keys and a busy timeout."""
    with sqlite_store._read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (conn.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000


def test_relative_sqlite_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    """sqlite:///x.sqlite3 in config.yaml means next to config.yaml, from any directory."""
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///data/s.sqlite3\n")
    config = load_config(tmp_path / "config.yaml")
    with Store.from_config(config) as store:
        assert store.display_url == f"sqlite:///{tmp_path}/data/s.sqlite3"
    assert (tmp_path / "data" / "s.sqlite3").exists()


def test_environment_url_overrides_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NEWSLETTER_DATABASE_URL wins over config.yaml's database.url."""
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    config = Config(base_dir=tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path}/env.sqlite3"
    assert config.database_url_source == "$NEWSLETTER_DATABASE_URL"


def test_postgres_urls_get_psycopg_and_never_show_a_password(tmp_path: Path) -> None:
    """postgresql:// uses psycopg 3; the printable form masks the password."""
    url = parse_url("postgresql://ed:s3cret@db.example.com/news", tmp_path)
    assert url.drivername == "postgresql+psycopg"
    assert "s3cret" not in display_url(url)


def test_bad_urls_are_config_errors_without_the_password(tmp_path: Path) -> None:
    """Unsupported, in-memory or malformed URLs are ConfigErrors that do not echo secrets."""
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        parse_url("mysql://root:hunter2@localhost/x", tmp_path)
    with pytest.raises(ConfigError, match="in-memory"):
        parse_url("sqlite://", tmp_path)
    with pytest.raises(ConfigError) as caught:
        parse_url("not a url hunter2", tmp_path)
    assert "hunter2" not in caught.value.message


def test_config_rejects_other_databases_without_echoing_the_url(tmp_path: Path) -> None:
    """config.yaml with a mysql URL fails validation, and the message hides the password."""
    (tmp_path / "config.yaml").write_text("database:\n  url: mysql://u:hunter2@h/db\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "config.yaml")
    assert "database.url" in caught.value.message
    assert "hunter2" not in caught.value.message


def test_an_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    """A PostgreSQL server that is not there gives a StoreError with a hint, no traceback."""
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql://nobody:pw@127.0.0.1:9/none?connect_timeout=2", base_dir=tmp_path)
    assert "pw@" not in caught.value.message
    assert caught.value.hint is not None
