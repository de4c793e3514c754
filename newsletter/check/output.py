"""Rules over what readers receive: the rendered HTML and plain text, as the templates
and config.yaml made them from the digest."""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.check.content import visible
from newsletter.check.findings import Finding, blocking, warning
from newsletter.check.issue import CheckedIssue
from newsletter.check.links import link_problem

# What render_issue leaves for delivery to fill in (newsletter.render.issue.placeholder),
# and template syntax that survived rendering.
# (Closing braces are not looked for: minified CSS ends rules with "}}".)
_MARKERS = re.compile(r"https://[a-z-]+\.invalid/[0-9a-f]{24}|\{\{|\{%")


def size(issue: CheckedIssue) -> Iterator[Finding]:
    limits = issue.config.rendering
    kb = issue.rendered.html_size / 1000
    if issue.rendered.html_size > limits.clip_size_bytes:
        yield blocking(
            "html-clipped",
            "",
            f"the HTML is {kb:.1f} KB: Gmail clips messages over "
            f"{limits.clip_size_bytes / 1000:.0f} KB, hiding the rest and the unsubscribe link",
            "remove items or shorten summaries and quotes",
        )
    elif issue.rendered.html_size > limits.warn_size_bytes:
        yield warning(
            "html-large",
            "",
            f"the HTML is {kb:.1f} KB, close to Gmail's {limits.clip_size_bytes / 1000:.0f} KB "
            f"clipping limit (warning from {limits.warn_size_bytes / 1000:.0f} KB)",
            "shorten the issue a little so a late edit cannot push it over",
        )


# mjml-python writes some characters of an attribute value as Rust escapes (`\u{301}` for
# a combining accent, `\u{200b}` for a zero-width space): readers would see them.
_RUST_ESCAPE = re.compile(r"\\u\{[0-9a-f]{1,6}\}")


def image_alt(issue: CheckedIssue) -> Iterator[Finding]:
    """Images the templates add need alt text; the hero's own is judged on the digest
    (content.hero_alt), unless the renderer garbled it."""
    hero = issue.digest.hero
    for image in issue.html.images:
        from_hero = hero is not None and image.src == hero.image
        if image.alt is not None and _RUST_ESCAPE.search(image.alt):
            yield blocking(
                "image-alt",
                "hero.alt" if from_hero else "",
                f"the alt text would show as {image.alt[:100]!r}: the renderer cannot write "
                "some invisible or combining characters in an attribute",
                "retype the alt text without invisible characters, accents precomposed (NFC)",
            )
        elif image.decorative or (image.alt is not None and visible(image.alt)):
            continue
        elif not (from_hero and image.alt is not None):  # a blank hero.alt: content.hero_alt
            yield blocking(
                "image-alt",
                "",
                f"the image {image.src[:100]!r} has no alt text",
                'give the template\'s <img> an alt (or role="presentation" if decorative)',
            )


def language(issue: CheckedIssue) -> Iterator[Finding]:
    """<html lang> must name a language; MJML writes "und" (BCP 47: undetermined) when
    the template gives none, which tells a screen reader nothing."""
    lang = (issue.html.lang or "").strip()
    if not lang or lang.lower() == "und":
        yield blocking(
            "lang",
            "",
            f"the HTML does not say its language (lang={lang!r}): screen readers cannot "
            "pick the voice",
            "set publication.language in config.yaml; the template writes <mjml lang=…>",
        )


def template_links(issue: CheckedIssue) -> Iterator[Finding]:
    """Links and images the templates and config.yaml add (the digest's own are checked
    by content.digest_links); the unsubscribe link is filled in per reader at sending."""
    rules, own = issue.config.check, issue.digest_urls()
    seen: set[str] = set()
    for url in (*issue.html.links, *(image.src for image in issue.html.images)):
        if url in issue.delivery_markers or url in own or url in seen:
            continue
        seen.add(url)
        if (problem := link_problem(url, rules)) is not None:
            yield blocking(
                "link",
                "",
                f"a link in the email (from the templates or config.yaml): {problem}",
                "fix the template or config.yaml (publication.website, public_base_url)",
            )


def footer(issue: CheckedIssue) -> Iterator[Finding]:
    marker, text = issue.unsubscribe_marker, issue.rendered.text
    if marker not in issue.html.links:
        yield blocking(
            "unsubscribe",
            "",
            "the HTML has no unsubscribe link",
            "the template must link to placeholders.unsubscribe_url",
        )
    if marker not in text:
        yield blocking(
            "unsubscribe",
            "",
            "the plain text has no unsubscribe link",
            "the text template must show placeholders.unsubscribe_url",
        )
    address = visible(issue.config.publication.postal_address)
    if not address:
        yield blocking(
            "postal-address",
            "",
            "no postal address is configured (anti-spam law, e.g. CAN-SPAM, requires one)",
            "set publication.postal_address in config.yaml",
        )
        return
    for part, body in (("HTML", issue.html.text), ("plain text", text)):
        if address not in visible(body):
            yield blocking(
                "postal-address",
                "",
                f"the {part} does not show the postal address",
                "the template's footer must show publication.postal_address",
            )


def text_part(issue: CheckedIssue) -> Iterator[Finding]:
    text = visible(issue.rendered.text)
    if not text:
        yield blocking(
            "text-empty",
            "",
            "the plain-text part is empty",
            "fix the text template (templates/email.txt.j2)",
        )
        return
    for number, item in enumerate(issue.digest.items):
        if visible(item.headline) not in text:
            yield blocking(
                "text-headline",
                f"items[{number}].headline",
                f"the plain-text part lacks item {number + 1}'s headline",
                "fix the text template: every item's headline belongs in the text part",
            )


def _without(body: str, markers: tuple[str, ...]) -> str:
    for marker in markers:
        body = body.replace(marker, "")
    return body


def leftover_markers(issue: CheckedIssue) -> Iterator[Finding]:
    """Template syntax or a delivery marker left in the output. Digest text that holds
    template syntax is reported (at its path) by content.placeholders instead."""
    written = issue.digest.canonical_json()
    wrote_syntax = "{{" in written or "{%" in written
    for part, body in (("HTML", issue.rendered.html), ("plain text", issue.rendered.text)):
        for match in _MARKERS.finditer(_without(body, issue.delivery_markers)):
            if match.group(0).startswith("{") and wrote_syntax:
                continue
            yield blocking(
                "placeholder",
                "",
                f"the {part} holds an unresolved placeholder: {match.group(0)!r}",
                "fix the template: every placeholder must be filled in at rendering",
            )
            break
