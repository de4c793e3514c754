"""Connecting: SQLite settings, URLs from config and environment, errors without passwords."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from newsletter.config import Config, load_config
from newsletter.errors import ConfigError, StoreError
from newsletter.store import Store
from newsletter.store.engine import _scrub, display_url, parse_url
from tests.tools import missing


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(
    sqlite_store: Store,
) -> None:
    """Every SQLite connection gets WAL, foreign keys and a busy timeout."""
    with sqlite_store.database.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (conn.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000


def test_sqlite_checkpoints_its_wal_every_64_mib_and_cuts_it_back(sqlite_store: Store) -> None:
    """A checkpoint syncs to disk: every 64 MiB of WAL, not SQLite's 4 MiB, or a large
    send spends as long in syncs as in its work (issue 16); the WAL file is then cut
    back to 64 MiB, so it does not stay as large as its largest transaction."""
    with sqlite_store.database.read() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 4_096  # 16 KiB each
        assert conn.execute(text("PRAGMA journal_size_limit")).scalar() == 64 * 1024 * 1024


def test_a_new_sqlite_store_has_16_kib_pages(sqlite_store: Store) -> None:
    """New stores are made with 16 KiB pages: a million-row import writes its rows and
    indexes in about 15% less time than with SQLite's 4 KiB (issue 16)."""
    with sqlite_store.database.read() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 16_384


def test_a_store_made_with_4_kib_pages_keeps_them_and_still_checkpoints_every_64_mib(
    tmp_path: Path,
) -> None:
    """SQLite fixes the page size when the file is made: a store from before 16 KiB
    pages keeps its 4 KiB ones, opens and migrates as before, and its checkpoint
    interval is counted in its own pages (16,384 of 4 KiB = 64 MiB)."""
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA page_size = 4096")
    raw.execute("PRAGMA journal_mode = WAL")
    raw.close()
    with Store.open(f"sqlite:///{path}", create=True) as store, store.database.read() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 4_096
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 16_384
        assert conn.execute(text("SELECT count(*) FROM subscribers")).scalar() == 0


def test_relative_sqlite_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    """sqlite:///x.sqlite3 in config.yaml means next to config.yaml, from any directory."""
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///data/s.sqlite3\n")
    config = load_config(tmp_path / "config.yaml")
    with Store.from_config(config, create=True) as store:
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


# A distinctive test password: no four characters of it may appear in any output.
DB_PASSWORD = "Qz7-vault-Kp4Lm9"  # noqa: S105 - a test password, registered with the leak scan
BROKEN_URLS = {
    "host forgotten": f"postgresql://editor:{DB_PASSWORD}/news",
    "host forgotten, psycopg named": f"postgresql+psycopg://editor:{DB_PASSWORD}/news",
    "unencoded @ in the password": f"postgresql://editor:{DB_PASSWORD[:6]}@{DB_PASSWORD[6:]}@db.example.com/news",
    "two unencoded @": f"postgresql://editor:a@{DB_PASSWORD}@x@db.example.com/news",
    "unencoded / in the user name": f"postgresql://edi/tor:{DB_PASSWORD}@db.example.com/news",
    "no scheme": f"editor:{DB_PASSWORD}@db.example.com/news",
    "not a port at all": f"postgresql://editor:{DB_PASSWORD}@db.example.com:port/news",
}


def _password_parts(text: str, length: int = 4) -> list[str]:
    """Every run of `length` characters of DB_PASSWORD that appears in `text`."""
    parts = {DB_PASSWORD[i : i + length] for i in range(len(DB_PASSWORD) - length + 1)}
    return sorted(part for part in parts if part in text)


@pytest.mark.parametrize("raw", BROKEN_URLS.values(), ids=BROKEN_URLS.keys())
def test_a_broken_database_url_is_one_config_error_line_without_the_password(
    raw: str, tmp_path: Path
) -> None:
    """Every database URL that cannot be parsed safely is a ConfigError naming where it
    came from and what is wrong, with no part of the password and no URL in it."""
    with pytest.raises(ConfigError) as caught:
        parse_url(raw, tmp_path, source="$NEWSLETTER_DATABASE_URL")
    text = "\n".join(caught.value.lines())
    assert caught.value.message.startswith("$NEWSLETTER_DATABASE_URL: not a valid database URL")
    assert _password_parts(text) == []
    assert "db.example.com" not in text and "editor" not in text


@pytest.mark.parametrize("raw", BROKEN_URLS.values(), ids=BROKEN_URLS.keys())
@pytest.mark.parametrize("command", [["db", "status"], ["status"], ["subscribers", "count"]])
def test_the_cli_prints_a_broken_url_as_one_line_and_exit_4(
    raw: str, command: list[str], tmp_path: Path
) -> None:
    """Through the CLI: exit 4, the error and its hint, no traceback, nothing of the password."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///s.sqlite3\n")
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "config.yaml"), *command],
        env={"NEWSLETTER_DATABASE_URL": raw},
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), lines
    assert "Traceback" not in result.output
    assert _password_parts(result.output) == []


def test_connection_errors_name_the_database_but_no_url_user_or_password(tmp_path: Path) -> None:
    """A server that refuses (here: no such database) is a StoreError naming the database,
    with the driver's reason, and neither the URL, the user nor the password; the driver's
    message is scrubbed of the password even where it quotes a URL option."""
    base = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL", "").strip()
    if not base:
        missing("NEWSLETTER_TEST_POSTGRES_URL is not set")
    server = make_url(base)
    url = server.set(password=DB_PASSWORD, database="no_such_db_h5")
    with pytest.raises(StoreError) as caught:
        Store.open(url.render_as_string(hide_password=False), base_dir=tmp_path)
    text = "\n".join(caught.value.lines())
    assert caught.value.message.startswith("the PostgreSQL store (database no_such_db_h5):")
    assert _password_parts(text) == [] and "://" not in text
    with pytest.raises(StoreError) as echoed:
        Store.open(
            url.update_query_dict({"application_name": DB_PASSWORD, "bogus": DB_PASSWORD}),
            base_dir=tmp_path,
        )
    assert _password_parts("\n".join(echoed.value.lines())) == []


def test_db_status_masks_the_password_of_a_good_url(tmp_path: Path) -> None:
    """`db status` and the store's repr show a valid URL with the password as ***."""
    url = parse_url(f"postgresql://editor:{DB_PASSWORD}@db.example.com/news", tmp_path)
    assert _password_parts(display_url(url)) == []
    assert "editor:***@db.example.com" in display_url(url)


def test_db_status_masks_a_password_given_as_a_query_option(tmp_path: Path) -> None:
    """libpq also takes the password from the query (``?password=…``, ``sslpassword=…``):
    `display_url` masks every option it does not know to be harmless, and a driver error
    quoting such a value is scrubbed too."""
    url = parse_url(
        f"postgresql://editor@db.example.com/news?password={DB_PASSWORD}"
        f"&sslpassword={DB_PASSWORD}&sslmode=require",
        tmp_path,
    )
    shown = display_url(url)
    assert _password_parts(shown) == []
    assert shown == (
        "postgresql+psycopg://editor@db.example.com/news"
        "?password=***&sslpassword=***&sslmode=require"
    )
    assert _password_parts(_scrub(f"bad value {DB_PASSWORD!r}", url)) == []


@pytest.mark.parametrize(
    "raw",
    [
        f"postgresql+asyncpg://editor:{DB_PASSWORD}@db.example.com/news",
        f"postgresql+psycopg2://editor:{DB_PASSWORD}@db.example.com/news",
        "sqlite+aiosqlite:///store.sqlite3",
        f"sqlite+pysqlcipher://:{DB_PASSWORD}@/store.sqlite3",
    ],
)
def test_a_driver_this_package_does_not_run_is_a_config_error(raw: str, tmp_path: Path) -> None:
    """A URL naming another driver (missing, or asynchronous) is one line and exit 4,
    not an unexpected ModuleNotFoundError (exit 9) when the engine is made."""
    with pytest.raises(ConfigError) as caught:
        parse_url(raw, tmp_path, source="$NEWSLETTER_DATABASE_URL")
    assert "the database driver" in caught.value.message
    assert caught.value.exit_code == 4
    assert _password_parts("\n".join(caught.value.lines())) == []
