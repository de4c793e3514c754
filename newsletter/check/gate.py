"""The pre-send gate: every rule over one digest, then the tools, into one report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from newsletter.check import content, output
from newsletter.check.axe import axe_check
from newsletter.check.findings import CheckReport, Finding, Severity, blocking
from newsletter.check.issue import CheckedIssue
from newsletter.check.spam import spam_check
from newsletter.config import Config
from newsletter.digest import load_digest
from newsletter.errors import MessageError
from newsletter.message import Recipient, build_issue_message
from newsletter.message.links import UnsubscribeLinks
from newsletter.message.mime import mime_bytes
from newsletter.render import issue_id, render_issue
from newsletter.secrets import Secret

Rule = Callable[[CheckedIssue], Iterable[Finding]]

# In the order an editor reads the issue: the subject line first, then the content,
# then what the templates and the configuration made of it.
RULES: tuple[Rule, ...] = (
    content.subject,
    content.preheader,
    content.placeholders,
    content.hero_alt,
    content.digest_links,
    content.missing_urls,
    content.duplicate_urls,
    content.published_dates,
    content.long_items,
    output.size,
    output.image_alt,
    output.language,
    output.template_links,
    output.footer,
    output.text_part,
    output.leftover_markers,
)
SKIPPED_TOOLS = (
    "spam score: skipped (tools off)",
    "accessibility: skipped (tools off)",
)
# A token's shape (newsletter.tokens: id, dot, 43 characters), signed by nobody.
# Signs the sample reader's link only: the link is checked, never sent or published.
_SAMPLE_SECRET = "the-checks-sample-reader-only"  # noqa: S105 (not a credential)
_SAMPLE_SIGNATURE = "sample-unsubscribe-token-of-the-check-0000"[:43].ljust(43, "0")
# A fixed Date header keeps SpamAssassin's input the same from run to run.
_DATE = "Mon, 01 Jan 2024 06:00:00 +0000"


def _ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Blocking findings first, each group in the order found (a stable sort)."""
    return tuple(sorted(findings, key=lambda f: f.severity is not Severity.BLOCKING))


def run_rules(issue: CheckedIssue, rules: Iterable[Rule] = RULES) -> tuple[Finding, ...]:
    """Every finding of `rules`, blocking ones first."""
    return _ordered(finding for rule in rules for finding in rule(issue))


def _sample_recipient(config: Config) -> Recipient:
    """A reader as SpamAssassin sees one: the sender's own domain, a link of the real shape.

    With publication.public_base_url set, its link is made by the sending code itself
    (UnsubscribeLinks), so a base URL no unsubscribe link can be made from is the same
    ConfigError (4) here as in `send`: a configuration error, never a finding about the
    digest. Without it (a check before the web endpoint exists), the website stands in."""
    if config.publication.public_base_url:
        links = UnsubscribeLinks(config, Secret("check sample", _SAMPLE_SECRET))
        url = links(1)
    else:
        url = f"{config.publication.website.rstrip('/')}/unsubscribe/1.{_SAMPLE_SIGNATURE}"
        if url.startswith("http://"):  # unsubscribe links must be https (but on localhost)
            url = "https://" + url.removeprefix("http://")
    domain = config.sender.email.rsplit("@", 1)[1]
    return Recipient(email=f"reader@{domain}", unsubscribe_url=url, subscriber_id=1)


def _list_name(config: Config) -> str:
    return next(iter(config.weekly_lists or list(config.lists) or ["weekly"]))


# What build_issue_message refuses that a rule has already reported, with its path.
_EXPLAINED = frozenset({"text-empty", "unsubscribe", "placeholder"})


def build_message(
    issue: CheckedIssue, known: tuple[Finding, ...]
) -> tuple[bytes | None, tuple[Finding, ...]]:
    """The finished MIME message as a reader would get it, built by the code that sends
    it. What that refuses (MessageError) blocks, unless a rule already said why (no
    unsubscribe link, an empty text part, a leftover marker)."""
    config = issue.config
    try:
        message = build_issue_message(issue.rendered, config, _list_name(config))
    except MessageError as err:
        if any(f.rule in _EXPLAINED for f in known):
            return None, ()
        return None, (blocking("message", "", err.message, err.hint or "see the message"),)
    try:  # per reader: the unsubscribe URL made from public_base_url, the To header
        return mime_bytes(message.personalise(_sample_recipient(config)), date=_DATE), ()
    except MessageError as err:
        return None, (blocking("message", "", err.message, err.hint or "see the message"),)


def run_tools(
    issue: CheckedIssue, raw: bytes | None
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """SpamAssassin on the finished message, axe-core on the HTML: findings and notes."""
    spam_found, spam_notes = (
        spam_check(raw)
        if raw is not None
        else ((), ("spam score: skipped, the message could not be built",))
    )
    axe_found, axe_notes = axe_check(issue.rendered.html, issue.config.base_dir)
    return (*spam_found, *axe_found), (*spam_notes, *axe_notes)


def check_issue(config: Config, path: Path, *, tools: bool = True) -> CheckReport:
    """Check the digest in `path` before it is sent (docs/check.md lists every rule).

    Returns a CheckReport: blocking findings and warnings, each with the JSON path it
    concerns and a fix, and a note for each check that could not run. `tools=False`
    skips SpamAssassin and axe-core (seconds each). Raises DigestFileError /
    DigestInvalidError (3) for a digest that is not valid, RenderError (6) when the
    templates fail: there is nothing to check then."""
    rendered = render_issue(load_digest(path), config)
    issue = CheckedIssue(config=config, rendered=rendered)
    findings = run_rules(issue)
    raw, refused = build_message(issue, findings)
    findings = _ordered((*findings, *refused))
    skipped: tuple[str, ...] = SKIPPED_TOOLS
    if tools:
        tool_findings, skipped = run_tools(issue, raw)
        findings = _ordered((*findings, *tool_findings))
    return CheckReport(
        digest_path=path,
        issue_id=issue_id(rendered.digest),
        findings=findings,
        skipped=skipped,
    )
