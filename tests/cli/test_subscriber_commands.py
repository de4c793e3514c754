"""`newsletter subscribers …` and `newsletter db …` through click, as a user runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from newsletter.cli import cli
from tests.conftest import REPO
from tests.store.conftest import write_csv

WEEKLY = "email,name,country\nann@example.com,Ann,KZ\nbob@example.org,Bob,GB\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with config.yaml (two lists, a SQLite store) and the weekly CSV."""
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    (tmp_path / "config.yaml").write_text(
        "database:\n  url: sqlite:///store.sqlite3\n"
        "lists:\n  weekly:\n    file: lists/weekly.csv\n    weekly: true\n"
        "  editors:\n    file: lists/editors.csv\n",
        encoding="utf-8",
    )
    (tmp_path / "lists").mkdir()
    write_csv(tmp_path / "lists" / "weekly.csv", WEEKLY)
    write_csv(tmp_path / "lists" / "editors.csv", "email\ned@example.com\n")
    return tmp_path


@pytest.fixture
def initialised(project: Path) -> Path:
    """The project with an empty store made by `db init`."""
    assert run(project, "db", "init").exit_code == 0
    return project


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project / "config.yaml"), *args])


def test_import_prints_counts_and_each_rejected_row(project: Path) -> None:
    """import reports added/updated/unchanged/suppressed/rejected and every bad row's line."""
    path = write_csv(project / "in.csv", "email,name\nann@example.com,Ann\nnope,X\n\nbob@,B\n")
    result = run(project, "subscribers", "import", str(path), "--list", "weekly")
    assert result.exit_code == 0, result.output
    assert "1 added, 0 updated, 0 unchanged, 0 suppressed, 2 rejected" in result.stdout
    assert "rejected line 3: invalid address 'nope'" in result.stderr
    assert "rejected line 5: invalid address 'bob@'" in result.stderr


def test_import_counts_have_thousands_separators(project: Path) -> None:
    """The import summary writes counts as every other command does (1,234, not 1234)."""
    rows = "".join(f"reader{n}@example.com,\n" for n in range(1234))
    path = write_csv(project / "many.csv", "email,name\n" + rows)
    result = run(project, "subscribers", "import", str(path), "--list", "weekly")
    assert result.exit_code == 0, result.output
    assert "1,234 added, 0 updated" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name\nAnn\n", "the header has no 'email' column"),
        (b"email\n\xff\xfe\n", "not UTF-8 text (line 2"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a CSV text file"),
    ],
)
def test_an_unusable_file_is_one_error_exit_3_and_changes_nothing(
    project: Path, content: bytes, message: str
) -> None:
    """Not CSV, not UTF-8 or no email column: one message, exit code 3, no traceback."""
    path = project / "bad.csv"
    path.write_bytes(content)
    result = run(project, "subscribers", "import", str(path), "--list", "weekly")
    assert result.exit_code == 3
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert run(project, "subscribers", "list", "--list", "weekly").stdout == ""


def test_unknown_list_is_refused_with_the_declared_ones(project: Path) -> None:
    """A list not in config.yaml is an input error listing the declared lists."""
    result = run(project, "subscribers", "add", "a@example.com", "--list", "weekyl")
    assert result.exit_code == 3
    assert "no list named 'weekyl'" in result.stderr
    assert "declared lists: weekly, editors" in result.stderr


@pytest.mark.usefixtures("initialised")
def test_sync_dry_run_then_sync(project: Path) -> None:
    """sync --dry-run shows what would change; sync does it for every declared list."""
    dry = run(project, "subscribers", "sync", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was changed" in dry.stdout
    assert "lists/weekly.csv → list weekly: 2 added" in dry.stdout
    assert run(project, "subscribers", "list", "--list", "weekly").stdout == ""
    done = run(project, "subscribers", "sync", "--list", "weekly")
    assert done.exit_code == 0
    assert "2 added, 0 updated, 0 unchanged, 0 suppressed, 0 removed, 0 rejected" in done.stdout


def test_unsubscribe_resubscribe_and_show(project: Path) -> None:
    """The status commands say what changed, and show prints status, lists and history."""
    run(project, "subscribers", "sync")
    out = run(project, "subscribers", "unsubscribe", "BOB@example.org", "--reason", "asked")
    assert out.stdout.strip() == "bob@example.org unsubscribed from every list (was subscribed)"
    refused = run(project, "subscribers", "add", "bob@example.org", "--list", "editors")
    assert refused.exit_code == 3 and "resubscribe" in refused.stderr
    back = run(project, "subscribers", "resubscribe", "bob@example.org")
    assert back.stdout.strip() == "bob@example.org resubscribed (was unsubscribed)"
    shown = run(project, "subscribers", "show", "bob@example.org").stdout
    assert "status:     subscribed" in shown
    assert "country:    GB" in shown
    assert "weekly (joined" in shown
    assert "subscribed → unsubscribed  [cli]: asked" in shown
    assert "unsubscribed → subscribed  [cli]" in shown


@pytest.mark.usefixtures("initialised")
def test_add_remove_list_export_count(project: Path) -> None:
    """The list commands round-trip: add, list, export as CSV, count, remove."""
    added = run(project, "subscribers", "add", "New@Example.com", "--list", "editors",
                "--name", "New", "-a", "country=KZ")  # fmt: skip
    assert added.stdout.strip() == "added New@Example.com to editors"
    listed = run(project, "subscribers", "list", "--list", "editors").stdout
    assert listed == "new@example.com\tsubscribed\tNew\n"
    exported = run(project, "subscribers", "export", "--list", "editors").stdout
    assert exported == "email,name,country\nnew@example.com,New,KZ\n"
    counted = run(project, "subscribers", "count").stdout.splitlines()
    assert counted[0].split() == ["list", "subscribed", "unsubscribed", "bounced", "complained",
                                  "total"]  # fmt: skip
    assert counted[2].split() == ["editors", "1", "0", "0", "0", "1"]
    removed = run(project, "subscribers", "remove", "new@example.com", "--list", "editors")
    assert removed.exit_code == 0
    assert run(project, "subscribers", "list", "--list", "editors").stdout == ""


@pytest.mark.usefixtures("initialised")
def test_bad_input_on_the_command_line_gives_clear_errors(project: Path) -> None:
    """Invalid address, unknown subscriber and a malformed attribute: messages, not tracebacks."""
    bad = run(project, "subscribers", "add", "nobody", "--list", "weekly")
    assert bad.exit_code == 3 and "'nobody' is not a valid email address" in bad.stderr
    unknown = run(project, "subscribers", "show", "who@example.com")
    assert unknown.exit_code == 3 and "no such subscriber" in unknown.stderr
    attr = run(project, "subscribers", "add", "a@example.com", "--list", "weekly", "-a", "x")
    assert attr.exit_code == 2 and "KEY=VALUE" in attr.output


def test_token_needs_the_secret(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """token without NEWSLETTER_SECRET is a config error (exit 4); with it, a token."""
    run(project, "subscribers", "sync")
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    missing = run(project, "subscribers", "token", "ann@example.com")
    assert missing.exit_code == 4 and "NEWSLETTER_SECRET is not set" in missing.stderr
    monkeypatch.setenv("NEWSLETTER_SECRET", "x" * 40)
    token = run(project, "subscribers", "token", "ann@example.com")
    assert token.exit_code == 0 and token.stdout.strip().startswith("1.")
    assert "x" * 40 not in token.output


def test_db_init_upgrade_and_status(project: Path) -> None:
    """db init creates the store once and says so; db upgrade and status need it to exist."""
    assert run(project, "db", "upgrade").exit_code == 7
    assert run(project, "db", "status").exit_code == 7
    assert not (project / "store.sqlite3").exists()
    first = run(project, "db", "init")
    assert first.exit_code == 0 and "created a new store at sqlite:///" in first.stdout
    second = run(project, "db", "init")
    assert second.exit_code == 0 and "a store is already there" in second.stdout
    again = run(project, "db", "upgrade")
    assert "already at schema" in again.stdout
    status = run(project, "db", "status")
    assert "store.sqlite3" in status.stdout and "schema:" in status.stdout


def test_every_subscriber_command_has_help(project: Path) -> None:
    """Each command documents itself in --help."""
    for command in ("import", "sync", "add", "remove", "unsubscribe", "resubscribe", "show",
                    "list", "export", "count", "token"):  # fmt: skip
        result = run(project, "subscribers", command, "--help")
        assert result.exit_code == 0 and len(result.stdout) > 100, command


HOSTILE = "550 \x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \r\x9b31m\u202egnp.exe\n"


def _no_controls(text: str) -> bool:
    """True when `text` holds no control character but line breaks between lines."""
    return all(ch == "\n" or ch.isprintable() for ch in text)


def test_stored_provider_text_is_printed_inert(project: Path) -> None:
    """A bounce reason (provider text, stored as received) with escape sequences, a
    carriage return, a C1 CSI and a bidi override is shown by `subscribers show` and
    `subscribers list` as visible escapes: nothing reaches the terminal as a control."""
    from newsletter.store import Source, Status, Store

    run(project, "subscribers", "sync")
    with Store.open(f"sqlite:///{project / 'store.sqlite3'}") as store:
        store.subscribers.set_status(
            "ann@example.com", Status.BOUNCED, reason=HOSTILE, source=Source.WEBHOOK
        )
        with store.database.write() as conn:  # a name stored before names were checked
            conn.exec_driver_sql(
                "UPDATE subscribers SET name = ? WHERE email = ?", ("Ann\x1b[8m", "ann@example.com")
            )
    show = run(project, "subscribers", "show", "ann@example.com")
    listed = run(project, "subscribers", "list", "--list", "weekly")
    assert show.exit_code == 0 and listed.exit_code == 0
    assert _no_controls(show.stdout) and "\x1b" not in listed.stdout
    assert "550 \\x1b[2J\\x1b]8;;http://evil.example/\\x07click" in show.stdout
    assert "\\x0d\\x9b31m\\u202egnp.exe\\x0a" in show.stdout
    assert "Ann\\x1b[8m" in show.stdout and "Ann\\x1b[8m" in listed.stdout
    assert listed.stdout.count("\t") == 2 * 2  # the columns' own tabs only


def test_inert_keeps_printable_text_and_escapes_every_control() -> None:
    """Accents, scripts and punctuation pass unchanged; every C0/C1 control, DEL, line
    separators and bidi controls become \\xNN or \\uNNNN."""
    from newsletter.cli.terminal import inert

    assert inert("Zoë Ахметова 李 O'Brien <a@b>") == "Zoë Ахметова 李 O'Brien <a@b>"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0x202E, 0x2066]:
        shown = inert(f"a{chr(code)}b")
        assert shown.isprintable() and shown.startswith("a\\") and shown.endswith("b")


def test_inert_escapes_every_invisible_format_character() -> None:
    """Every code point of Unicode's control, format, surrogate and line/paragraph
    separator categories (the bidi marks U+200E/U+200F and U+061C, zero-width spaces,
    U+FEFF, tag characters included) is shown as an escape: nothing invisible reaches
    the terminal, the same rule provider text is cleaned by on arrival."""
    import sys
    import unicodedata

    from newsletter.cli.terminal import inert

    unsafe = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in unsafe:
            shown = inert(chr(code))
            assert shown.startswith("\\") and shown.isascii(), hex(code)


def test_only_import_and_sync_create_a_store_and_they_say_so(project: Path) -> None:
    """Without a store every reading or changing command refuses with exit 7 and a hint,
    creating nothing; the first sync creates it and says so aloud; a dry run never does."""
    for command in (
        ["subscribers", "show", "ann@example.com"],
        ["subscribers", "list", "--list", "weekly"],
        ["subscribers", "export", "--list", "weekly"],
        ["subscribers", "count"],
        ["subscribers", "add", "x@example.com", "--list", "weekly"],
        ["subscribers", "unsubscribe", "x@example.com"],
        ["subscribers", "sync", "--dry-run"],
        ["status"],
    ):
        refused = run(project, *command)
        assert refused.exit_code == 7, (command, refused.output)
        assert refused.stderr.startswith("no store: the SQLite store "), refused.stderr
        assert "newsletter db init" in refused.stderr
        assert not (project / "store.sqlite3").exists()
    first = run(project, "subscribers", "sync")
    assert first.exit_code == 0
    assert first.stdout.startswith(f"created a new store at sqlite:///{project}/store.sqlite3\n")
    assert "created" not in run(project, "subscribers", "sync").stdout


def test_a_deleted_store_is_reported_never_recreated_empty(project: Path) -> None:
    """After the SQLite file is deleted, `status`, `subscribers count` and a read of one
    subscriber refuse (exit 7); the file is not silently made again."""
    assert run(project, "subscribers", "sync").exit_code == 0
    for suffix in ("", "-wal", "-shm"):
        (project / f"store.sqlite3{suffix}").unlink(missing_ok=True)
    for command in (
        ["status"],
        ["subscribers", "count"],
        ["subscribers", "show", "ann@example.com"],
    ):
        result = run(project, *command)
        assert result.exit_code == 7 and "does not exist" in result.stderr
    assert not (project / "store.sqlite3").exists()


def test_an_uninitialised_postgresql_database_is_no_store(
    project: Path, postgres_admin: Callable[[], URL]
) -> None:
    """On PostgreSQL a database (here: a schema) without the newsletter tables is a
    missing store: refused with exit 7 until `db init`, which creates the tables."""
    url = postgres_admin().render_as_string(hide_password=False)
    env = {"NEWSLETTER_DATABASE_URL": url}
    config = ["--config", str(project / "config.yaml")]
    refused = CliRunner().invoke(cli, [*config, "subscribers", "count"], env=env)
    assert refused.exit_code == 7, refused.output
    assert "was never initialised" in refused.stderr
    made = CliRunner().invoke(cli, [*config, "db", "init"], env=env)
    assert made.exit_code == 0 and "created a new store" in made.stdout
    assert CliRunner().invoke(cli, [*config, "subscribers", "count"], env=env).exit_code == 0


def test_signup_form_prints_plain_html_posting_to_subscribe(project: Path) -> None:
    """`signup-form`: a form posting to {public_base_url}/subscribe, no script."""
    config = project / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "publication:\n  public_base_url: https://news.example.org\n"
        + f"paths:\n  templates: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    printed = run(project, "signup-form")
    assert printed.exit_code == 0
    assert 'action="https://news.example.org/subscribe"' in printed.stdout
    assert "<script" not in printed.stdout
    assert '<label for="newsletter-signup-email">' in printed.stdout


@pytest.mark.usefixtures("initialised")
def test_purge_pending_and_show_the_consent_record(project: Path) -> None:
    """`purge-pending` deletes old unconfirmed sign-ups and says how many; `show` prints a
    confirmed reader's consent record (and says when there is none)."""
    from datetime import timedelta

    from newsletter.clock import FixedClock, SystemClock
    from newsletter.store import Store

    clock = FixedClock(SystemClock().now() - timedelta(days=40))
    with Store.open(f"sqlite:///{project / 'store.sqlite3'}", clock=clock) as store:
        for n, email in enumerate(("old@example.com", "kept@example.com")):
            recorded = store.readers.record_signup(
                email=email, address_hash=str(n) * 64, name=None, lists=["weekly"],
                consent_text_hash="c" * 64, consent_ip="192.0.2.7",
            )  # fmt: skip
        store.readers.confirm(recorded.signup.id)
    purged = run(project, "subscribers", "purge-pending")
    assert purged.exit_code == 0
    assert purged.stdout.startswith("purged 1 unconfirmed sign-up posted before")
    assert purged.stdout.rstrip().endswith("0 still pending")
    shown = run(project, "subscribers", "show", "kept@example.com").stdout
    assert "confirmed:" in shown and "(double opt-in)" in shown
    assert "text sha256:  " + "c" * 64 in shown
    assert "ip address:   192.0.2.7" in shown
    run(project, "subscribers", "add", "ed2@example.com", "--list", "editors")
    assert (
        "consent: (none recorded" in run(project, "subscribers", "show", "ed2@example.com").stdout
    )
