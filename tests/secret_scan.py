"""A pytest plugin that fails the run when a test secret or token appears in any output.

Secrets are learnt as the suite runs, never listed by hand:

- every value a test puts into an environment variable whose name says it is secret
  (``monkeypatch.setenv``, ``CliRunner.invoke(env=…)``): NEWSLETTER_SECRET,
  SENDGRID_API_KEY, SMTP passwords, database URLs' passwords (as written and
  percent-decoded, in the userinfo, in a URL whose host was forgotten, in ``?password=``);
- every `newsletter.secrets.Secret` the code under test builds;
- every module-level constant of the test modules whose name says it is secret
  (``SECRET``, ``API_KEY``, ``DB_PASSWORD``…);
- the signature half of every unsubscribe token the code mints.

The channels scanned:

- what the CLI printed, through click's CliRunner (stdout and stderr),
  ``subprocess.run`` and ``Popen.communicate`` (captured output);
- every log record emitted anywhere (a handler on the root logger), formatted with
  its arguments and traceback;
- each test's captured stdout, stderr and log sections;
- at the end of the session, every file under the session's temporary folder.

Tokens legitimately reach readers: in a message's unsubscribe link (mbox and .eml
files), the unsubscribe page, and `subscribers token`'s output. So token
signatures are looked for only where no reader ever looks: log records and stderr.

A leak seen during a test fails that test at teardown; leaks found only at the end
(files, or a secret learnt after its text was seen) fail the session. Reports name
the secret by where it was learnt, never by its value.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

# Names of environment variables and constants that hold a secret.
SECRET_NAME = re.compile(r"SECRET|API_KEY|PASSWORD|PASSWD", re.I)
# Environment variables holding a URL whose password is secret (the rest of it is not).
URL_NAME = re.compile(r"DATABASE_URL|POSTGRES_URL|_DSN$", re.I)
# A constant like SECRET_ENV = "NEWSLETTER_SECRET" names a variable; it is no secret.
_VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
MIN_LENGTH = 8  # shorter values ("x", "short") would match by chance
MAX_FILE_BYTES = 64 * 1024 * 1024  # scanned in full up to this size, then the head of it


@dataclass(frozen=True)
class Leak:
    """Where a known secret was found: named by origin, never by value."""

    secret: str  # e.g. "env NEWSLETTER_SECRET", "token signature"
    channel: str  # e.g. "CLI stderr", "log record", "file /tmp/…"
    test: str  # the test running when it was seen, or "(session)"

    def __str__(self) -> str:
        return f"{self.secret} appeared in {self.channel} (during {self.test})"


@dataclass
class _Text:
    channel: str
    test: str
    text: str
    tokens_scanned: bool


@dataclass
class Scanner:
    """The known secrets and every text seen so far; `scan` reports leaks."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> where it was learnt
    tokens: dict[str, str] = field(default_factory=dict)  # token signatures
    seen: list[_Text] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    test: str = "(session)"

    def learn_secret(self, value: str | None, origin: str) -> None:
        """Remember `value` as secret (ignored when too short to match by chance)."""
        text = (value or "").strip()
        if len(text) >= MIN_LENGTH and not _VARIABLE_NAME.fullmatch(text):
            self.secrets.setdefault(text, origin)
        self.learn_url(value, origin)

    def learn_url(self, value: str | None, origin: str) -> None:
        """Remember the password of a URL (the rest of a URL is no secret)."""
        for password in _url_passwords(value or ""):
            if len(password) >= MIN_LENGTH:
                self.secrets.setdefault(password, f"the password in {origin}")

    def learn_token(self, signature: str) -> None:
        self.tokens.setdefault(signature, "an unsubscribe token")

    def learn_env(self, env: Mapping[str, str | None] | None, origin: str) -> None:
        for name, value in (env or {}).items():
            if not value:
                continue
            if SECRET_NAME.search(name):
                self.learn_secret(value, f"{origin} {name}")
            elif URL_NAME.search(name):
                self.learn_url(value, f"{origin} {name}")

    def observe(self, channel: str, text: str | bytes | None, *, tokens: bool) -> list[Leak]:
        """Scan `text` now and keep it for the final scan; the leaks found now."""
        if not text:
            return []
        decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        self.seen.append(_Text(channel, self.test, decoded, tokens))
        return self._record(self.find(decoded, tokens=tokens), channel, self.test)

    def find(self, text: str, *, tokens: bool) -> list[str]:
        """The origins of the known secrets (and, if `tokens`, token signatures) in `text`."""
        found = [origin for value, origin in self.secrets.items() if value in text]
        if tokens:
            found += [origin for value, origin in self.tokens.items() if value in text]
        return found

    def _record(self, origins: Iterable[str], channel: str, test: str) -> list[Leak]:
        new = [Leak(origin, channel, test) for origin in origins]
        new = [leak for leak in new if leak not in self.leaks]
        self.leaks.extend(new)
        return new

    def rescan(self) -> list[Leak]:
        """Every text seen, against every secret known now (some are learnt late)."""
        found: list[Leak] = []
        for seen in self.seen:
            origins = self.find(seen.text, tokens=seen.tokens_scanned)
            found += self._record(origins, seen.channel, seen.test)
        return found

    def scan_files(
        self, root: Path, *, skip: Callable[[Path], bool] = lambda _: False
    ) -> list[Leak]:
        """Every regular file under `root` (secrets only: readers' files carry tokens)."""
        found: list[Leak] = []
        needles = [(value.encode(), origin) for value, origin in self.secrets.items()]
        for path in _files(root):
            try:
                with path.open("rb") as handle:
                    data = handle.read(MAX_FILE_BYTES)
            except OSError:
                continue
            origins = [origin for value, origin in needles if value in data]
            found += self._record(origins, f"file {path}", "(session)")
        return found


def _files(root: Path) -> Iterator[Path]:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                yield path


def _url_passwords(value: str) -> list[str]:
    """Every password a URL holds, as written and percent-decoded: in the userinfo (up to
    the last '@': a password may hold an unencoded one), in a URL whose host was forgotten
    (``postgresql://user:PASSWORD/db``, where a parser takes it for the port), and in the
    query (libpq reads ``?password=`` and ``?sslpassword=`` too)."""
    found = []
    userinfo = re.match(r"^[\w+]+://[^:/@]*:(.+)@", value)
    hostless = re.match(r"^[\w+]+://[^:/@?#]*:([^/?#@]+)", value)
    if userinfo:
        found.append(userinfo.group(1))
    elif hostless and not hostless.group(1).isdigit():
        found.append(hostless.group(1))
    found += re.findall(r"[?&](?:ssl)?password=([^&#]+)", value, flags=re.IGNORECASE)
    return found + [unquote(password) for password in found if unquote(password) != password]


class _RecordScan(logging.Handler):
    """Formats every record (message, arguments, traceback) and scans it."""

    def __init__(self, scanner: Scanner) -> None:
        super().__init__(level=logging.NOTSET)
        self.scanner = scanner
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot format still must not crash the test
            text = f"{record.msg!r} {record.args!r}"
        self.scanner.observe(f"log record of {record.name}", text, tokens=True)


class SecretScanPlugin:
    """Installs the learners and the channels; fails tests and the session on a leak."""

    def __init__(self, scanner: Scanner | None = None) -> None:
        self.scanner = scanner or Scanner()
        self._undo: list[Callable[[], None]] = []
        self._handler = _RecordScan(self.scanner)

    # -- installing --------------------------------------------------------------------

    def install(self) -> None:
        scanner = self.scanner
        scanner.learn_env(dict(os.environ), "environment")
        logging.getLogger().addHandler(self._handler)
        self._undo.append(lambda: logging.getLogger().removeHandler(self._handler))
        self._wrap_setenv()
        self._wrap_cli_runner()
        self._wrap_subprocess_run()
        self._wrap_secret()
        self._wrap_token()

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        original = getattr(owner, name)
        setattr(owner, name, replacement)
        self._undo.append(lambda: setattr(owner, name, original))

    def _wrap_setenv(self) -> None:
        original = pytest.MonkeyPatch.setenv
        scanner = self.scanner

        def setenv(
            self: pytest.MonkeyPatch, name: str, value: str, prepend: str | None = None
        ) -> None:
            scanner.learn_env({name: str(value)}, "env")
            original(self, name, value, prepend)

        self._patch(pytest.MonkeyPatch, "setenv", setenv)

    def _wrap_cli_runner(self) -> None:
        from click.testing import CliRunner

        original = CliRunner.invoke
        scanner = self.scanner

        def invoke(runner: CliRunner, *args: Any, **kwargs: Any) -> Any:
            scanner.learn_env(kwargs.get("env"), "env")
            scanner.learn_env(runner.env, "env")
            result = original(runner, *args, **kwargs)
            scanner.observe("CLI stdout", result.stdout_bytes, tokens=False)
            scanner.observe("CLI stderr", result.stderr_bytes, tokens=True)
            if result.exc_info is not None and not isinstance(result.exception, SystemExit):
                import traceback

                trace = "".join(traceback.format_exception(*result.exc_info))
                scanner.observe("CLI traceback", trace, tokens=True)
            return result

        self._patch(CliRunner, "invoke", invoke)

    def _wrap_subprocess_run(self) -> None:
        original = subprocess.run
        scanner = self.scanner

        def run(*args: Any, **kwargs: Any) -> Any:
            scanner.learn_env(kwargs.get("env"), "env")
            completed = original(*args, **kwargs)
            scanner.observe("subprocess stdout", completed.stdout, tokens=False)
            scanner.observe("subprocess stderr", completed.stderr, tokens=True)
            return completed

        self._patch(subprocess, "run", run)

        # A child started with Popen (`serve`, a second host, a send to kill) is read
        # through communicate: its output is a channel too.
        original_init = subprocess.Popen.__init__
        original_communicate = subprocess.Popen.communicate

        def init(popen: Any, *args: Any, **kwargs: Any) -> None:
            scanner.learn_env(kwargs.get("env"), "env")
            original_init(popen, *args, **kwargs)

        def communicate(popen: Any, *args: Any, **kwargs: Any) -> Any:
            stdout, stderr = original_communicate(popen, *args, **kwargs)
            scanner.observe("child process stdout", stdout, tokens=False)
            scanner.observe("child process stderr", stderr, tokens=True)
            return stdout, stderr

        self._patch(subprocess.Popen, "__init__", init)
        self._patch(subprocess.Popen, "communicate", communicate)

    def _wrap_secret(self) -> None:
        from newsletter.secrets import Secret

        original = Secret.__init__
        scanner = self.scanner

        def init(secret: Secret, name: str, value: str) -> None:
            scanner.learn_secret(value, f"Secret {name}")
            original(secret, name, value)

        self._patch(Secret, "__init__", init)

    def _wrap_token(self) -> None:
        import newsletter.tokens as tokens

        original = tokens._signature
        scanner = self.scanner

        def signature(subscriber_id: int, purpose: str, secret: Any) -> str:
            made = original(subscriber_id, purpose, secret)
            scanner.learn_token(made)
            return made

        self._patch(tokens, "_signature", signature)

    def learn_constants(self) -> None:
        """Secret-named string constants of every imported test module."""
        for name, module in list(sys.modules.items()):
            if not (name == "tests" or name.startswith("tests.")) or module is None:
                continue
            for attribute, value in vars(module).items():
                if attribute.isupper() and isinstance(value, str) and SECRET_NAME.search(attribute):
                    self.scanner.learn_secret(value, f"{name}.{attribute}")

    # -- pytest hooks ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.learn_constants()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.scanner.test = item.nodeid
        yield
        self.scanner.test = "(session)"

    @pytest.fixture(autouse=True)
    def _no_secret_leaks(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Fails the test (at teardown) when it let a known secret into a scanned channel."""
        before = len(self.scanner.leaks)
        yield
        new = [leak for leak in self.scanner.leaks[before:] if leak.test == request.node.nodeid]
        if new:
            pytest.fail("secret leak:\n" + "\n".join(f"  {leak}" for leak in new), pytrace=False)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for title, content in report.sections:
            # Pytest's titles read "Captured stdout call", "Captured log teardown"…
            tokens = "stdout" not in title
            self.scanner.observe(title.lower(), content, tokens=tokens)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.learn_constants()
        late = self.scanner.rescan()
        factory = getattr(session.config, "_tmp_path_factory", None)  # pytest's tmp_path plugin
        if factory is not None:
            late += self.scanner.scan_files(Path(factory.getbasetemp()))
        if late:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            lines = ["secret leak found after the tests ran:", *(f"  {leak}" for leak in late)]
            if reporter is not None:
                for line in lines:
                    reporter.write_line(line, red=True)
            else:  # pragma: no cover - pytest always has a reporter on a terminal
                sys.stderr.write("\n".join(lines) + "\n")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()


def pytest_configure(config: pytest.Config) -> None:
    """Registers the plugin once per session (`-p tests.secret_scan` or conftest)."""
    if config.pluginmanager.has_plugin("secret-scan"):
        return
    plugin = SecretScanPlugin()
    plugin.install()
    config.pluginmanager.register(plugin, "secret-scan")
