"""config.yaml: the publication, its sender, its lists and where things live.

Validated with Pydantic so a wrong key or value is named precisely. Secrets are
never read from here: they come from environment variables only (see
``newsletter.secrets``). Relative paths are resolved against the folder that
holds config.yaml, so the CLI works from any working directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import string
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
)

from newsletter.addresses import undeliverable_reason
from newsletter.errors import ConfigError
from newsletter.validation import describe_errors, http_url

CONFIG_ENV = "NEWSLETTER_CONFIG"
DATABASE_URL_ENV = "NEWSLETTER_DATABASE_URL"
DEFAULT_CONFIG_NAME = "config.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


HttpUrlStr = Annotated[str, AfterValidator(http_url(("https", "http")))]
MAX_HEADER_TEXT = 200  # the same cap as a subscriber's name


def _header_text(value: str) -> str:
    """Text that lands in a header (a name, a list description): one line of plain text."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise ValueError(
                f"contains a control character or line break (U+{ord(ch):04X}); "
                "expected one line of plain text (it goes into email headers)"
            )
    if "=?" in value:
        raise ValueError(
            "contains '=?', which starts an RFC 2047 encoded word in a header; expected plain text"
        )
    if len(value) > MAX_HEADER_TEXT:
        raise ValueError(f"is {len(value)} characters long; expected at most {MAX_HEADER_TEXT}")
    return value


def _sendable_email(value: str) -> str:
    """An address we send from or name in headers: every transport must carry it."""
    reason = undeliverable_reason(value)
    if reason is not None:
        raise ValueError(reason)
    return value


HeaderText = Annotated[str, AfterValidator(_header_text)]
SendableEmail = Annotated[EmailStr, AfterValidator(_sendable_email)]
ListName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Publication(_Strict):
    name: str = "The Astana Times"
    digest_name: str = "Foreign Media Digest"
    website: HttpUrlStr = "https://astanatimes.com"
    postal_address: str = "Astana Times LLP, 12 Dostyk Street, Astana 010000, Kazakhstan"
    public_base_url: HttpUrlStr | None = Field(
        default=None,
        description="Where the web archive and unsubscribe pages are served, "
        "e.g. https://newsletter.astanatimes.com; enables 'view in browser'.",
    )
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    logo_url: HttpUrlStr | None = None


class Sender(_Strict):
    name: HeaderText = "The Astana Times"
    email: SendableEmail = "digest@astanatimes.com"
    reply_to: SendableEmail | None = "editors@astanatimes.com"


class ListConfig(_Strict):
    file: Path = Field(description="CSV file of the list, relative to config.yaml.")
    description: HeaderText = Field(default="", description="Shown in the List-Id header.")
    weekly: bool = Field(default=False, description="Sent the weekly issue by `dispatch`.")
    public: bool = Field(
        default=False,
        description="Offered to readers on the sign-up form (and the preference page).",
    )


class Paths(_Strict):
    digests: Path = Path("digests")
    templates: Path = Path("templates")
    build: Path = Path("build")


def _database_url(value: str) -> str:
    # Checked by hand, not with a pattern, so the error never echoes a password in the URL.
    if not re.match(r"^(sqlite|postgresql)(\+[a-z0-9_]+)?://", value):
        raise ValueError("expected a sqlite:///FILE or postgresql://USER@HOST/DBNAME URL")
    return value


class Database(_Strict):
    url: Annotated[str, AfterValidator(_database_url)] = Field(
        default="sqlite:///newsletter.sqlite3",
        description="SQLAlchemy URL of the store: sqlite:///FILE (relative to config.yaml) "
        "or postgresql://USER@HOST/DB; $NEWSLETTER_DATABASE_URL overrides it.",
    )


TransportName = Literal["outbox", "sendgrid", "smtp"]


class OutboxSettings(_Strict):
    folder: Path = Field(
        default=Path("outbox"), description="Where the outbox Maildirs (one .eml per message) go."
    )


class SendGridSettings(_Strict):
    api_host: HttpUrlStr = Field(
        default="https://api.sendgrid.com",
        description="Base URL of the API; $SENDGRID_API_HOST overrides it.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    batch_size: int = Field(default=1000, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=20)
    asm_group_id: int | None = Field(
        default=None, ge=1, description="SendGrid unsubscribe group; SendGrid then manages links."
    )
    sandbox: bool = Field(default=False, description="Validate only; SendGrid delivers nothing.")


class SmtpSettings(_Strict):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the server with (default: the system's)."
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=5, ge=1, le=20)


class Delivery(_Strict):
    transport: TransportName = Field(
        default="outbox", description="outbox (no account needed), sendgrid or smtp."
    )
    categories: list[Annotated[str, Field(pattern=r"^[ -~]{1,255}$")]] = Field(
        default_factory=lambda: ["foreign-media-digest"], max_length=10
    )
    unsubscribe_mailto: SendableEmail | None = Field(
        default=None, description="Also offer mailto: in List-Unsubscribe."
    )
    preview_recipients: list[SendableEmail] = Field(
        default_factory=list,
        description="Who `preview` sends to without --to; empty means the `editors` list.",
    )
    retry_base_seconds: float = Field(default=1.0, gt=0, le=60)
    concurrency: int = Field(default=4, ge=1, le=32, description="Requests in flight at once.")
    rate_per_second: float | None = Field(
        default=None, gt=0, description="At most this many messages per second (None: no limit)."
    )
    pause_after: int = Field(
        default=5, ge=1, description="Pause a send after this many failed batches in a row."
    )
    outbox: OutboxSettings = OutboxSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    smtp: SmtpSettings = SmtpSettings()


class Rendering(_Strict):
    warn_size_bytes: int = Field(default=90_000, gt=0)
    clip_size_bytes: int = Field(default=102_000, gt=0)


MAX_UTM_VALUE = 100  # characters; keeps a tracked link within one line of the email
_UTM_FIELDS = frozenset({"date"})


def _utm_value(value: str) -> str:
    """One line of printable text; percent-encoded where it is added to a link."""
    if not value or len(value) > MAX_UTM_VALUE:
        raise ValueError(f"expected 1 to {MAX_UTM_VALUE} characters, got {len(value)}")
    if not value.isprintable():
        raise ValueError("contains a control character or line break; expected one line of text")
    return value


def _utm_template(value: str) -> str:
    """A value with `{date}` (the issue date, YYYY-MM-DD) in it; `{{`/`}}` for braces."""
    try:
        fields = [
            (n, spec, conv) for _, n, spec, conv in string.Formatter().parse(value) if n is not None
        ]
    except ValueError as err:
        raise ValueError(f"not a valid template ({err}); write {{{{ and }}}} for braces") from err
    for name, spec, conversion in fields:
        if name not in _UTM_FIELDS or spec or conversion:
            raise ValueError(
                f"unknown placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}}; the only one is {{date}} (the issue date, "
                "YYYY-MM-DD), as it is; write {{ and }} for braces"
            )
    return _utm_value(value)


UtmValue = Annotated[str, AfterValidator(_utm_value)]
UtmTemplate = Annotated[str, AfterValidator(_utm_template)]


class Utm(_Strict):
    """Google Analytics' campaign parameters, added to the digest's item links."""

    source: UtmValue = Field(description="utm_source, e.g. astanatimes-digest.")
    medium: UtmValue = Field(default="email", description="utm_medium.")
    campaign: UtmTemplate = Field(
        default="digest-{date}", description="utm_campaign; {date} is the issue date."
    )

    def parameters(self, issue_date: dt.date) -> dict[str, str]:
        """The query parameters for one issue, in this order: source, medium, campaign."""
        return {
            "utm_source": self.source,
            "utm_medium": self.medium,
            "utm_campaign": self.campaign.format(date=issue_date.isoformat()),
        }


class Links(_Strict):
    """Link tracking: off unless `utm` is set."""

    utm: Utm | None = Field(
        default=None,
        description="Campaign parameters added to item links only (never to unsubscribe, "
        "view-in-browser or other footer links); off when null.",
    )


# Hosts no link in an issue may point at (RFC 2606 and RFC 6761 reserved names, RFC 6762
# .local, RFC 8375 home.arpa, ICANN's .internal): a link there is a draft's leftover or a
# link into the office network, and no reader can open it.
DEFAULT_DENY_HOSTS = (
    "localhost",
    ".localhost",
    ".invalid",
    ".test",
    ".example",
    "example.com",
    "example.net",
    "example.org",
    ".local",
    ".internal",
    ".home.arpa",
)
_DENY_ENTRY = re.compile(r"^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def _deny_entry(value: str) -> str:
    value = value.strip().lower()
    if _DENY_ENTRY.match(value):
        return value
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"{value!r}: expected a host name (example.com: it and its subdomains), a "
            "suffix starting with a dot (.test) or an IP network (10.0.0.0/8)"
        ) from None
    return value


class Check(_Strict):
    """`newsletter check`, the pre-send gate (docs/check.md). Its size limits are
    `rendering.warn_size_bytes` and `rendering.clip_size_bytes`."""

    deny_hosts: list[Annotated[str, AfterValidator(_deny_entry)]] = Field(
        default_factory=lambda: list(DEFAULT_DENY_HOSTS),
        max_length=1000,
        description="Hosts no link may point at: a name (and its subdomains), a .suffix, "
        "or an IP network. Replaces the default list when given.",
    )
    deny_private_addresses: bool = Field(
        default=True,
        description="Refuse links to private, loopback, link-local and other non-public "
        "IP addresses (however the address is spelled).",
    )


class Web(_Strict):
    """`newsletter serve`: where it listens (behind a reverse proxy in production)."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, ge=1, le=65535)


class Preferences(_Strict):
    """The readers' preference page (docs/readers.md)."""

    pause_weeks: list[Annotated[int, Field(ge=1, le=52)]] = Field(
        default_factory=lambda: [2, 4, 8],
        min_length=1,
        max_length=6,
        description="The pauses a reader may choose, in weeks.",
    )
    change_address_expiry_days: int = Field(
        default=7, ge=1, le=30, description="How long a change-of-address link works."
    )


class Webhook(_Strict):
    """SendGrid's signed Event Webhook, received by `newsletter serve`."""

    sendgrid_public_key: str | None = Field(
        default=None,
        description="The verification key from SendGrid (base64 DER or PEM). A public key, "
        "not a secret; without it the webhook refuses every request.",
    )
    max_age_seconds: int = Field(
        default=300, ge=10, le=86_400, description="Refuse signatures older than this (replay)."
    )


class Tracking(_Strict):
    """What SendGrid's events tell the report (`newsletter report`, docs/report.md)."""

    click: bool = Field(
        default=False,
        description="SendGrid click tracking: item links go through SendGrid's redirect "
        "so clicks are reported; never the unsubscribe or preferences links. Off by default.",
    )
    per_reader: bool = Field(
        default=False,
        description="Keep who opened and clicked which link (unique openers and clickers "
        "in the report). Off: only counts per issue and link are kept.",
    )


class ApprovalSettings(_Strict):
    """Approval bound to content (`newsletter approve`, docs/dispatch.md)."""

    required_for_dispatch: bool = Field(
        default=True,
        description="`dispatch` sends an issue only while its digest and rendered message "
        "match its latest approval; false: it sends the due digest unapproved.",
    )


DEFAULT_CONSENT_TEXT = (
    "I agree to receive the newsletter by email. I can unsubscribe at any time with the "
    "link in every issue; my address is used for nothing else."
)
MAX_CONSENT_TEXT = 2000


class SignupSettings(_Strict):
    """Readers' own sign-up with double opt-in (`newsletter serve`, docs/readers.md)."""

    consent_text: str = Field(
        default=DEFAULT_CONSENT_TEXT,
        min_length=1,
        max_length=MAX_CONSENT_TEXT,
        description="Shown beside the sign-up button; its SHA-256 is kept with each consent.",
    )
    confirm_expiry_days: int = Field(
        default=7, ge=1, le=90, description="A confirmation link works this long."
    )
    purge_pending_after_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="`subscribers purge-pending` deletes sign-ups unconfirmed this long.",
    )
    min_fill_seconds: int = Field(
        default=3, ge=0, le=600, description="A form posted sooner after it was shown is refused."
    )
    rate_limit_per_ip_per_hour: int = Field(
        default=20, ge=1, le=100_000, description="Sign-up POSTs accepted per client IP per hour."
    )
    record_ip: bool = Field(
        default=False, description="Keep the client's IP address in the consent record."
    )
    welcome: bool = Field(
        default=False, description="Send a confirmed reader the latest sent issue at once."
    )


def _default_lists() -> dict[str, ListConfig]:
    return {
        "weekly": ListConfig(
            file=Path("subscribers/weekly.csv"),
            description="The weekly foreign-media digest",
            weekly=True,
            public=True,
        ),
        "editors": ListConfig(
            file=Path("subscribers/editors.csv"),
            description="Editors who receive test previews",
        ),
    }


class Config(_Strict):
    """The whole of config.yaml; every field has a working default."""

    publication: Publication = Publication()
    sender: Sender = Sender()
    lists: dict[ListName, ListConfig] = Field(default_factory=_default_lists)
    paths: Paths = Paths()
    rendering: Rendering = Rendering()
    links: Links = Links()
    check: Check = Check()
    delivery: Delivery = Delivery()
    database: Database = Database()
    web: Web = Web()
    webhook: Webhook = Webhook()
    preferences: Preferences = Preferences()
    tracking: Tracking = Tracking()
    approval: ApprovalSettings = ApprovalSettings()
    signup: SignupSettings = SignupSettings()
    base_dir: Path = Field(default=Path(), exclude=True)

    def resolve(self, path: Path) -> Path:
        """A path from the config, made absolute against config.yaml's folder."""
        return path if path.is_absolute() else self.base_dir / path

    @property
    def templates_dir(self) -> Path:
        return self.resolve(self.paths.templates)

    @property
    def digests_dir(self) -> Path:
        return self.resolve(self.paths.digests)

    @property
    def build_dir(self) -> Path:
        return self.resolve(self.paths.build)

    @property
    def weekly_lists(self) -> list[str]:
        """The lists `dispatch` sends the weekly issue to."""
        return [name for name, spec in self.lists.items() if spec.weekly]

    @property
    def public_lists(self) -> list[str]:
        """The lists readers may choose themselves (declared `public: true`)."""
        return [name for name, spec in self.lists.items() if spec.public]

    @property
    def outbox_dir(self) -> Path:
        return self.resolve(self.delivery.outbox.folder)

    @property
    def database_url(self) -> str:
        """The store's URL: $NEWSLETTER_DATABASE_URL, else config.yaml's database.url.

        It may hold a password: show it only through the store's masking helper."""
        return os.environ.get(DATABASE_URL_ENV, "").strip() or self.database.url

    @property
    def database_url_source(self) -> str:
        """Where database_url came from, for error messages."""
        if os.environ.get(DATABASE_URL_ENV, "").strip():
            return f"${DATABASE_URL_ENV}"
        return "config.yaml database.url"


def find_config(explicit: Path | None) -> Path | None:
    """The config file to use: explicit, then $NEWSLETTER_CONFIG, then ./config.yaml."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.exists() else None


def load_config(path: Path | None = None) -> Config:
    """Load and validate config.yaml; with no file at all, the embedded defaults."""
    found = find_config(path)
    if found is None:
        return Config(base_dir=Path.cwd())
    raw = _read_yaml(found)
    try:
        return Config.model_validate({**raw, "base_dir": found.resolve().parent})
    except ValidationError as err:
        problems = "\n".join(f"  {found}: {p}" for p in describe_errors(err))
        raise ConfigError(
            f"{found}: invalid configuration\n{problems}",
            hint="see docs/configuration.md for every key and its meaning",
        ) from err


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file ({err})") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    if "base_dir" in data:
        raise ConfigError(f"{path}: base_dir: unknown key (it is always config.yaml's folder)")
    return data
