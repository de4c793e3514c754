"""The suite-wide leak check (tests/secret_scan.py) really fails when a secret leaks.

The planted values below are built at run time and kept in names the scanner does not
learn from, so this session's own scan never sees them as secrets: only the inner
pytest runs (pytester, in a child process) do.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.secret_scan import Scanner

PLANTED = "planted-" + "value-0123456789abcdef"  # learnt only by the inner runs
OTHER = "planted-" + "other-fedcba9876543210"
THIRD = "planted-" + "third-0a1b2c3d4e5f6789"
SIGNATURE = "S" * 43  # the shape of a token's signature half


def test_the_scanner_finds_a_secret_or_a_token_in_each_channel(tmp_path: Path) -> None:
    """Text with a known secret is a leak in any channel; a token signature only where
    readers never look (stderr, logs), and a leak is named by origin, not by value."""
    scanner = Scanner()
    scanner.learn_secret(PLANTED, "env NEWSLETTER_SECRET")
    scanner.learn_token(SIGNATURE)
    assert scanner.observe("CLI stdout", f"key {PLANTED}".encode(), tokens=False)
    assert scanner.observe("CLI stdout", f"link /u/1.{SIGNATURE}", tokens=False) == []
    assert scanner.observe("CLI stderr", f"bad /u/1.{SIGNATURE}", tokens=True)
    (tmp_path / "out.log").write_text(f"…{PLANTED}…")
    (tmp_path / "clean.txt").write_text("nothing here")
    leaks = scanner.scan_files(tmp_path)
    assert [leak.channel for leak in leaks] == [f"file {tmp_path / 'out.log'}"]
    assert all(PLANTED not in str(leak) for leak in scanner.leaks)


def test_a_database_urls_password_is_a_secret_but_the_rest_is_not() -> None:
    """From NEWSLETTER_DATABASE_URL only the password is learnt: printing the host is fine."""
    scanner = Scanner()
    scanner.learn_env(
        {"NEWSLETTER_DATABASE_URL": f"postgresql://ed:{PLANTED}@db.example.com/news"}, "env"
    )
    assert scanner.find("db.example.com/news", tokens=True) == []
    assert scanner.find(f"ed:{PLANTED}@", tokens=True) == [
        "the password in env NEWSLETTER_DATABASE_URL"
    ]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://ed:{PLANTED}/news",  # the host forgotten: a parser reads a port
        f"postgresql://ed@db.example.com/news?sslmode=require&password={PLANTED}",
        f"postgresql://ed@db.example.com/news?sslpassword={PLANTED}",
        "postgresql://ed:" + PLANTED.replace("-", "%2D") + "@db.example.com/news",
    ],
    ids=["host forgotten", "query password", "query sslpassword", "percent-encoded"],
)
def test_a_database_urls_password_is_learnt_wherever_the_url_puts_it(url: str) -> None:
    """The password is a secret in every place libpq reads one, and decoded as well as
    written: the code under test may print either form."""
    scanner = Scanner()
    scanner.learn_env({"NEWSLETTER_DATABASE_URL": url}, "env")
    assert scanner.find(f"connect failed: {PLANTED}", tokens=False) == [
        "the password in env NEWSLETTER_DATABASE_URL"
    ]
    assert scanner.find("postgresql://ed@db.example.com:5432/news", tokens=False) == []


def test_a_secret_learnt_late_is_still_found_in_text_seen_earlier() -> None:
    """The session-end rescan catches text printed before its secret became known."""
    scanner = Scanner()
    scanner.observe("log record of x", f"early {PLANTED}", tokens=True)
    scanner.learn_secret(PLANTED, "tests.x.API_KEY")
    assert [leak.secret for leak in scanner.rescan()] == ["tests.x.API_KEY"]


def test_a_log_record_is_scanned_with_its_arguments(caplog: pytest.LogCaptureFixture) -> None:
    """The handler formats the record, so a secret passed as an argument is found too."""
    from tests.secret_scan import _RecordScan

    scanner = Scanner()
    scanner.learn_secret(PLANTED, "Secret SENDGRID_API_KEY")
    logger = logging.getLogger("tests.leaky")
    handler = _RecordScan(scanner)
    logger.addHandler(handler)
    try:
        logger.error("refused key %s", PLANTED)
    finally:
        logger.removeHandler(handler)
    assert [leak.channel for leak in scanner.leaks] == ["log record of tests.leaky"]


LEAKY_TESTS = f'''
import logging
from click.testing import CliRunner
import click

@click.command()
def show():
    import os
    click.echo("the key is " + os.environ["SENDGRID_API_KEY"], err=True)

def test_cli_leak():
    CliRunner().invoke(show, env={{"SENDGRID_API_KEY": "{PLANTED}"}})

def test_log_leak(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", "{OTHER}")
    logging.getLogger("app").warning("secret is %s", "{OTHER}")

def test_child_process_leak():
    import subprocess, sys
    child = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; sys.stderr.write(os.environ['SMTP_PASSWORD'])"],
        env={{"SMTP_PASSWORD": "{THIRD}"}},
        stderr=subprocess.PIPE,
    )
    child.communicate(timeout=30)

def test_clean(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", "{OTHER}")
    logging.getLogger("app").warning("nothing secret here")
'''

FILE_LEAK_TESTS = f'''
from newsletter.secrets import Secret

def test_writes_the_secret_to_a_file(tmp_path):
    secret = Secret("SMTP_PASSWORD", "{PLANTED}")
    (tmp_path / "debug.txt").write_text("password=" + secret.reveal())
'''


def _inner_run(pytester: pytest.Pytester, source: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_subprocess("-p", "tests.secret_scan", "-p", "no:cacheprovider")


def test_the_plugin_fails_each_test_that_leaks_and_passes_the_clean_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real pytest run with the plugin: a secret printed by a CLI or a child process,
    or logged, fails that test (at teardown, naming the channel), the clean test passes,
    and the report names the secret by origin, not by value."""
    result = _inner_run(pytester, LEAKY_TESTS, monkeypatch)
    result.assert_outcomes(passed=4, errors=3)
    output = result.stdout.str()
    assert "secret leak" in output
    assert "env SENDGRID_API_KEY appeared in CLI stderr" in output
    assert "env SMTP_PASSWORD appeared in child process stderr" in output
    assert "env NEWSLETTER_SECRET appeared in log record of app" in output
    leak_lines = [line for line in output.splitlines() if "appeared in" in line]
    assert leak_lines and not any(
        value in line for line in leak_lines for value in (PLANTED, OTHER, THIRD)
    )


def test_the_plugin_fails_the_session_when_a_file_holds_a_secret(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret written to a file under the temporary folder fails the run at its end."""
    result = _inner_run(pytester, FILE_LEAK_TESTS, monkeypatch)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "secret leak found after the tests ran" in output
    assert "Secret SMTP_PASSWORD appeared in file" in output and "debug.txt" in output
