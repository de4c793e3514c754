"""The digest format v1: what it accepts, and the exact problem it reports otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from newsletter.digest import SCHEMA_KEY, Digest, json_schema, load_digest, parse_digest
from newsletter.digest.models import Quote
from newsletter.errors import DigestFileError, DigestInvalidError
from tests.conftest import SAMPLE_DIGESTS


def problems_of(data: Any) -> list[str]:
    """Validate `data` and return its problems as 'path: message' strings."""
    with pytest.raises(DigestInvalidError) as caught:
        parse_digest(json.dumps(data), "d.json")
    return [str(p) for p in caught.value.problems]


def only_problem(data: Any) -> str:
    found = problems_of(data)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("path", SAMPLE_DIGESTS, ids=lambda p: p.name)
def test_sample_digests_are_valid(path: Path) -> None:
    """Every shipped sample digest validates and its date matches its file name."""
    digest = load_digest(path)
    assert digest.date.isoformat() == path.stem
    assert 5 <= len(digest.items) <= 10


def test_there_are_four_samples() -> None:
    """One sample digest per seed issue is shipped."""
    assert len(SAMPLE_DIGESTS) == 4


def test_string_or_list_paragraphs(digest_data: dict[str, Any]) -> None:
    """A paragraph field takes a string (split on blank lines) or a list."""
    digest_data["intro"] = "First paragraph\nstill first.\n\nSecond."
    digest_data["items"][0]["summary"] = ["One.", "Two."]
    digest = parse_digest(json.dumps(digest_data))
    assert digest.intro == ["First paragraph still first.", "Second."]
    assert digest.items[0].summary == ["One.", "Two."]


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("Just words.", Quote(text=["Just words."])),
        (["One.", "Two."], Quote(text=["One.", "Two."])),
        ({"text": "Said.", "cite": "said Karabayev"}, Quote(text=["Said."], cite="said Karabayev")),
    ],
)
def test_quote_forms(digest_data: dict[str, Any], quote: Any, expected: Quote) -> None:
    """A quote is a string, a list of paragraphs, or {text, cite}."""
    digest_data["items"][0]["quote"] = quote
    assert parse_digest(json.dumps(digest_data)).items[0].quote == expected


def test_optional_overrides(digest_data: dict[str, Any]) -> None:
    """subject, preheader and number override the defaults."""
    digest = parse_digest(
        json.dumps({**digest_data, "subject": "S", "preheader": "P", "number": 12})
    )
    assert (digest.email_subject, digest.email_preheader, digest.number) == ("S", "P", 12)


def test_default_subject_and_preheader(digest_data: dict[str, Any]) -> None:
    """Without overrides the subject is the title and the preheader the headlines."""
    digest = parse_digest(json.dumps(digest_data))
    assert digest.email_subject == digest_data["title"]
    assert digest.email_preheader == digest_data["items"][0]["headline"]


def test_long_preheader_is_cut_at_a_word() -> None:
    """The default preheader stays within 130 characters (what inboxes show, and the
    check's warning limit) and ends on a whole word."""
    digest = load_digest(SAMPLE_DIGESTS[0])
    assert len(digest.email_preheader) <= 130
    assert digest.email_preheader.endswith("…")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("title"), "title: is required"),
        (lambda d: d.pop("date"), "date: is required"),
        (lambda d: d.pop("intro"), "intro: is required"),
        (lambda d: d.pop("items"), "items: is required"),
        (lambda d: d.update(title="  "), "title: must not be empty"),
        (lambda d: d.update(title="a\nb"), "title: expected a single line"),
        (lambda d: d.update(title="x" * 301), "title: expected at most 300 characters"),
        (lambda d: d.update(title=5), "title: expected a string, got a number"),
        (lambda d: d.update(date="12/09/2025"), "date: expected an ISO date YYYY-MM-DD"),
        (lambda d: d.update(date="2025-02-30"), "date: '2025-02-30' is not a real date"),
        (lambda d: d.update(date=1757635200), "date: expected an ISO date YYYY-MM-DD"),
        (lambda d: d.update(intro=5), "intro: expected a string or a list of paragraph"),
        (lambda d: d.update(intro=[]), "intro: expected at least 1 entry, got 0"),
        (lambda d: d.update(intro=["ok", ""]), "intro[1]: must not be empty"),
        (lambda d: d.update(intro=["bell\x07"]), "intro[0]: contains a control character"),
        (lambda d: d.update(items=[]), "items: expected at least 1 entry, got 0"),
        (lambda d: d.update(items=d["items"] * 31), "items: expected at most 30 entries, got 31"),
        (lambda d: d.update(titel="x"), "titel: unknown field"),
        (lambda d: d.update(number=0), "number: input should be greater than or equal to 1"),
        (lambda d: d.update(number="3"), "number: expected a whole number"),
        (lambda d: d.update(number=True), "number: expected a whole number"),
        (lambda d: d.update(hero={"image": "https://x.test/a.jpg"}), "hero.alt: is required when"),
        (lambda d: d.update(hero={"image": "http://x.test/a.jpg", "alt": "a"}), "hero.image: "),
        (lambda d: d.update(hero={"credit": "x", "photo": "y"}), "hero.photo: unknown field"),
        (lambda d: d["items"][0].pop("headline"), "items[0].headline: is required"),
        (lambda d: d["items"][0].pop("outlet"), "items[0].outlet: is required"),
        (lambda d: d["items"][0].pop("summary"), "items[0].summary: is required"),
        (lambda d: d["items"][0].update(url="javascript:alert(1)"), "items[0].url: expected"),
        (lambda d: d["items"][0].update(url="data:text/html,x"), "items[0].url: expected"),
        (lambda d: d["items"][0].update(url="//evil.test/x"), "items[0].url: expected"),
        (lambda d: d["items"][0].update(url="https://a b.test"), "items[0].url: expected"),
        (lambda d: d["items"][0].update(published="Sept. 11"), "items[0].published: expected"),
        (lambda d: d["items"][0].update(quote={"cite": "x"}), "items[0].quote.text: is required"),
        (lambda d: d["items"][0].update(quote=3), "items[0].quote: expected an object"),
        (lambda d: d["items"][0].update(quote={"text": "q", "by": "x"}), "items[0].quote.by: "),
        (lambda d: d["items"][0].update(tags=["x"]), "items[0].tags: unknown field"),
        (
            lambda d: d["items"][0].update(url="https://x.test/" + "a" * 1885),
            "items[0].url: too long for one line of the email: 1900 octets as written in HTML"
            " (UTF-8; & counts 5, as &amp;); expected at most 800",
        ),
        (
            lambda d: d["items"][0].update(url="https://x.test/?" + "a=1&" * 160),
            "items[0].url: too long for one line of the email: 1296 octets",
        ),
        (
            lambda d: d.update(hero={"image": "https://x.test/" + "b" * 786, "alt": "a"}),
            "hero.image: too long for one line of the email: 801 octets",
        ),
        (
            lambda d: d.update(hero={"image": "https://x.test/a.jpg", "alt": "😀" * 300}),
            "hero.alt: too long for one line of the email: 1200 octets",
        ),
        (lambda d: d.update(title="🇰🇿" * 101), "title: too long for one line of the email: 808"),
        (
            lambda d: d.update(subject="&" * 200),
            "subject: too long for one line of the email: 1000",
        ),
    ],
)
def test_each_rule_reports_its_path(
    digest_data: dict[str, Any], mutate: Any, expected: str
) -> None:
    """Each broken rule yields one problem naming its JSON path and what is expected."""
    mutate(digest_data)
    assert only_problem(digest_data).startswith(expected)


def test_all_problems_reported_at_once(digest_data: dict[str, Any]) -> None:
    """Every problem of a file is reported in one go, not just the first."""
    digest_data.update(date="soon", titel="x")
    digest_data["items"].append({"headline": "h", "outlet": "o", "url": "ftp://x.test/"})
    found = problems_of(digest_data)
    assert [p.split(":")[0] for p in found] == ["date", "items[1].url", "items[1].summary", "titel"]


def test_top_level_must_be_an_object() -> None:
    """A JSON array or string is not a digest."""
    assert only_problem(["x"]) == "expected a JSON object at the top level"


def test_duplicate_keys_are_refused(digest_data: dict[str, Any]) -> None:
    """A key written twice is an error, not a silent overwrite."""
    text = json.dumps(digest_data)[:-1] + ', "title": "again"}'
    with pytest.raises(DigestInvalidError) as caught:
        parse_digest(text)
    assert [str(p) for p in caught.value.problems] == ["duplicate key 'title'"]


def test_broken_json_names_line_and_column() -> None:
    """Broken JSON is one error with its line and column."""
    with pytest.raises(DigestFileError, match=r"d.json: not valid JSON at line 2, column 3"):
        parse_digest('{"title": "x",\n  }', "d.json")


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is one clear error."""
    with pytest.raises(DigestFileError, match="no such file"):
        load_digest(tmp_path / "nope.json")


def test_non_utf8_file(tmp_path: Path) -> None:
    """A file in another encoding says so, with the offending byte."""
    path = tmp_path / "latin1.json"
    path.write_bytes('{"title": "Café"}'.encode("latin-1"))
    with pytest.raises(DigestFileError, match=r"not UTF-8 \(invalid byte 0xe9 at offset 14\)"):
        load_digest(path)


def test_utf8_bom_is_accepted(tmp_path: Path, digest_data: dict[str, Any]) -> None:
    """Editors' tools that write a BOM do not break the file."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(digest_data).encode())
    assert load_digest(path).date == dt.date(2025, 9, 12)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    """A folder given as a digest gets a clear error."""
    with pytest.raises(DigestFileError, match="is a folder"):
        load_digest(tmp_path)


def test_text_stays_text(digest_data: dict[str, Any]) -> None:
    """Markup and template syntax in text fields are kept verbatim, never interpreted."""
    digest_data["items"][0]["headline"] = "<b>{{ 7*7 }}</b> & {% raw %}"
    digest = parse_digest(json.dumps(digest_data))
    assert digest.items[0].headline == "<b>{{ 7*7 }}</b> & {% raw %}"


def test_content_hash_is_stable_and_sensitive(digest_data: dict[str, Any]) -> None:
    """The same content hashes the same; any change changes the hash."""
    one = parse_digest(json.dumps(digest_data))
    two = parse_digest(json.dumps(digest_data, indent=4))
    digest_data["items"][0]["outlet"] = "Euronews"
    three = parse_digest(json.dumps(digest_data))
    assert one.content_hash() == two.content_hash() != three.content_hash()


def test_json_schema_describes_the_format() -> None:
    """The generated JSON Schema names every field and accepts the samples' shapes."""
    import jsonschema

    schema = json_schema()
    assert set(schema["properties"]) == {SCHEMA_KEY, *Digest.model_fields}
    assert schema["additionalProperties"] is False
    for path in SAMPLE_DIGESTS:
        data = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema)
        jsonschema.validate({SCHEMA_KEY: "./schema.json", **data}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"title": "x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, SCHEMA_KEY: 7}, schema)


def test_schema_key_is_accepted_and_ignored(digest_data: dict[str, Any]) -> None:
    """A top-level "$schema" (as `newsletter new` writes it) is not content: the digest and
    its content hash are those of the same file without it (so an approval or a backfill
    match does not depend on it); anywhere else it is an unknown field as before."""
    plain = parse_digest(json.dumps(digest_data))
    named = parse_digest(json.dumps({SCHEMA_KEY: "./schema.json", **digest_data}))
    assert named == plain
    assert named.content_hash() == plain.content_hash()
    digest_data["items"][0][SCHEMA_KEY] = "./schema.json"
    assert (
        only_problem(digest_data)
        == "items[0].$schema: unknown field (not part of the format; check the spelling)"
    )


@pytest.mark.parametrize("value", [7, ["./schema.json"], {"a": 1}, True])
def test_schema_key_must_be_a_string(digest_data: dict[str, Any], value: Any) -> None:
    """A "$schema" that is not a string is reported at its path, not ignored: an editor's
    tool could not use it either."""
    problem = only_problem({SCHEMA_KEY: value, **digest_data})
    assert problem == "$schema: expected a string: the JSON Schema's path or URL"


def test_values_that_fit_one_body_line_are_accepted(digest_data: dict[str, Any]) -> None:
    """At the caps: an 800-octet URL (as written in HTML), alt text of 266 Chinese
    characters (798 octets) and a 300-character ASCII title are valid."""
    digest_data["items"][0]["url"] = "https://x.test/" + "a" * 785
    digest_data.update(hero={"image": "https://x.test/a.jpg", "alt": "照" * 266}, title="t" * 300)
    parse_digest(json.dumps(digest_data), "d.json")
