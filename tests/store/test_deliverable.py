"""What may be stored as a subscriber is what every transport can deliver (issue 9, item 2 and 4).

A non-ASCII local part (no SMTPUTF8 on SendGrid or our SMTP client), a name over
200 characters or a name holding an RFC 2047 encoded word is refused at import
and `subscribers add` with the reason; an IDN domain is stored and sent as punycode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.addresses import ascii_email, deliverable_email, normalise_email
from newsletter.config import load_config
from newsletter.errors import AddressError, ConfigError, InputError
from newsletter.store import Store
from tests.store.conftest import write_csv


def test_import_refuses_non_ascii_local_parts_and_bad_names(store: Store, tmp_path: Path) -> None:
    """Each bad row is rejected with its reason; the IDN address is imported."""
    rows = (
        "email,name\n"
        "ñoño@example.com,Ñoño\n"
        f"long@example.com,{'N' * 201}\n"
        "ew@example.com,=?utf-8?q?=0D=0ABcc:_x@example.org?=\n"
        "user@bücher.example,Bücher\n"
    )
    report = store.subscribers.import_csv(write_csv(tmp_path / "list.csv", rows), "weekly")
    assert (report.added, report.rejected_count) == (1, 3)
    reasons = [r.reason for r in report.rejected]
    assert "SMTPUTF8" in reasons[0]
    assert "201 characters; expected at most 200" in reasons[1]
    assert "encoded word" in reasons[2]
    assert store.subscribers.get("user@xn--bcher-kva.example") is not None


def test_add_refuses_what_cannot_be_delivered(store: Store) -> None:
    """subscribers add: the same rules, as InputErrors with the reason."""
    with pytest.raises(AddressError, match="SMTPUTF8"):
        store.subscribers.add("ñoño@example.com", "weekly")
    with pytest.raises(InputError, match="at most 200"):
        store.subscribers.add("a@example.com", "weekly", name="N" * 100_000)
    with pytest.raises(InputError, match="encoded word"):
        store.subscribers.add("a@example.com", "weekly", name="=?utf-8?q?x?=")
    with pytest.raises(AddressError, match="RFC 2047 encoded word"):
        store.subscribers.add(
            "=?utf-8?q?x?=@example.com", "weekly"
        )  # Python's parser reads x@example.com
    assert store.subscribers.get("a@example.com") is None


def test_stored_addresses_stay_reachable_for_lookups() -> None:
    """Looking up or unsubscribing an address stored before the rule still works."""
    assert normalise_email("Ñoño@Example.com") == "ñoño@example.com"
    with pytest.raises(Exception, match="SMTPUTF8"):
        deliverable_email("ñoño@example.com")


def test_the_wire_form_is_ascii() -> None:
    """Domains go out in IDNA form; ASCII addresses pass through untouched."""
    assert ascii_email("user@bücher.example") == "user@xn--bcher-kva.example"
    assert ascii_email("o'brien+x@example.com") == "o'brien+x@example.com"


@pytest.mark.parametrize(
    ("yaml", "where"),
    [
        ('sender:\n  name: "Astana\\r\\nBcc: x@example.org"\n', "sender.name"),
        ("sender:\n  name: '=?utf-8?q?x?='\n", "sender.name"),
        ("sender:\n  email: ñoño@example.com\n", "sender.email"),
        (
            'lists:\n  weekly:\n    file: w.csv\n    description: "Weekly\\nList-Id: x"\n',
            "lists.weekly.description",
        ),
        ("delivery:\n  unsubscribe_mailto: ñ@example.com\n", "delivery.unsubscribe_mailto"),
        ("sender:\n  email: '=?utf-8?q?x?=@example.com'\n", "sender.email"),
    ],
)
def test_config_strings_that_land_in_headers_are_one_line_plain_text(
    tmp_path: Path, yaml: str, where: str
) -> None:
    """A line break, an encoded word or a non-ASCII local part is a ConfigError at load,
    naming the key, instead of crashing every message later."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert where in "\n".join(caught.value.lines())
