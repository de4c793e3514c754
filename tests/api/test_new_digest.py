"""`Newsletter.new_digest`: the next issue's skeleton and schema.json, never an overwrite,
and a skeleton that nothing sends."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

from newsletter import Newsletter
from newsletter.api import NewDigest
from newsletter.digest import schema_text, skeleton_text
from newsletter.errors import DigestInvalidError, InputError
from tests.api.project import DIGEST, SECRET, write_project


@pytest.fixture
def digests(tmp_path: Path) -> Path:
    """A digests folder of its own holding one sample issue (2025-09-12)."""
    folder = tmp_path / "digests"
    folder.mkdir()
    shutil.copy(DIGEST, folder)
    return folder


@pytest.fixture
def nl(tmp_path: Path, digests: Path, monkeypatch: pytest.MonkeyPatch) -> Newsletter:
    """The API of a fresh project whose digests folder is `digests`."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    config = write_project(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["paths"]["digests"] = str(digests)
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return Newsletter.from_config(config)


def numbered(digests: Path, number: int) -> None:
    """Give the sample issue in `digests` an issue number."""
    path = digests / DIGEST.name
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "number": number}), encoding="utf-8")


def test_next_issue_is_a_week_after_the_newest(nl: Newsletter, digests: Path) -> None:
    """Without a date: the newest digest's date plus 7 days, numbered after it, and the
    schema beside it, exactly as `newsletter schema` prints it."""
    numbered(digests, 37)
    made = nl.new_digest()
    assert made == NewDigest(
        path=digests / "2025-09-19.json",
        schema=digests / "schema.json",
        date=dt.date(2025, 9, 19),
        number=38,
        after=digests / "2025-09-12.json",
    )
    assert made.path.read_text(encoding="utf-8") == skeleton_text(dt.date(2025, 9, 19), 38)
    assert made.schema.read_text(encoding="utf-8") == schema_text()
    assert nl.new_digest().date == dt.date(2025, 9, 26)  # counted from the new newest


@pytest.mark.parametrize("given", [dt.date(2025, 10, 3), "2025-10-03"])
def test_given_date(nl: Newsletter, digests: Path, given: dt.date | str) -> None:
    """A given date (a date or YYYY-MM-DD) is used as it is; an unnumbered previous
    issue leaves the number out."""
    made = nl.new_digest(given)
    assert (made.path.name, made.number) == ("2025-10-03.json", None)


@pytest.mark.parametrize("given", ["2025-9-1", "2025-02-30", "next friday", ""])
def test_bad_date_is_refused(nl: Newsletter, digests: Path, given: str) -> None:
    """A date that is not a real YYYY-MM-DD date is InputError (3); nothing is written."""
    with pytest.raises(InputError, match="date: expected a real date as YYYY-MM-DD"):
        nl.new_digest(given)
    assert sorted(p.name for p in digests.iterdir()) == [DIGEST.name]


def test_never_overwrites(nl: Newsletter, digests: Path) -> None:
    """An existing digest of that date is refused (InputError, exit 3, the file named)
    and left byte for byte as it was, be it a sample or an editor's half-written draft."""
    before = (digests / DIGEST.name).read_bytes()
    with pytest.raises(InputError, match=r"2025-09-12\.json: already exists") as caught:
        nl.new_digest("2025-09-12")
    assert caught.value.exit_code == 3
    assert (digests / DIGEST.name).read_bytes() == before
    made = nl.new_digest()
    made.path.write_text('{"title": "half-written', encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        nl.new_digest(made.date)
    assert made.path.read_text(encoding="utf-8") == '{"title": "half-written'


def test_schema_is_refreshed_each_time(nl: Newsletter, digests: Path) -> None:
    """A stale schema.json (from an older version) is replaced by the current one."""
    (digests / "schema.json").write_text("{}", encoding="utf-8")
    nl.new_digest()
    assert (digests / "schema.json").read_text(encoding="utf-8") == schema_text()


def test_no_digest_to_count_from(nl: Newsletter, digests: Path) -> None:
    """With no digest yet, the date must be given (InputError with the hint); given, the
    digests folder is created if need be."""
    shutil.rmtree(digests)
    with pytest.raises(InputError, match="digests folder not found"):
        nl.new_digest()
    digests.mkdir()
    with pytest.raises(InputError, match="no digest to count the next issue date from") as caught:
        nl.new_digest()
    assert caught.value.hint == "give the date: newsletter new --date YYYY-MM-DD"
    digests.rmdir()
    made = nl.new_digest("2026-01-02")
    assert (made.path, made.after) == (digests / "2026-01-02.json", None)


def test_a_skeleton_is_never_sent(nl: Newsletter, tmp_path: Path) -> None:
    """The cron path meets an unfilled skeleton dated today: it refuses it as an invalid
    digest (exit 3, the file and fields named, which cron mails to the editors) and
    sends nothing to anyone."""
    nl.sync("weekly")
    made = nl.new_digest()
    with pytest.raises(DigestInvalidError) as caught:
        nl.dispatch(today=made.date)
    assert str(made.path) in caught.value.message
    assert caught.value.exit_code == 3
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*.eml"))
    assert nl.status() == []
