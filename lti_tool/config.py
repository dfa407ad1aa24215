"""Configuration read from LTI_TOOL_* environment variables, checked when it is read."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "LTI_TOOL_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A session secret shorter than this is guessable offline from one signed cookie.
MIN_SECRET_KEY_LENGTH = 32
T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """One or more settings are missing or malformed; the message names each variable."""


def _env(name: str, default: str | None = None) -> str | None:
    """Return the LTI_TOOL_-prefixed environment variable `name`."""
    return os.environ.get(PREFIX + name, default)


def _flag(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable (anything else is a ConfigError)."""
    value = _env(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(f"{PREFIX}{name}={value!r}: expected 1/0, true/false, yes/no or on/off")


def instance_secret_key(instance_dir: Path) -> str:
    """A key generated once into the instance folder, for when none is configured."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with 0600 from the start so the key is never world-readable.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class OidcSettings:
    """Console sign-in through the university's OpenID Connect provider (lti_tool.admin.oidc)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    # Shown on the button: "Sign in with <name>".
    name: str = "your university account"
    # Email domains whose addresses may sign in this way; empty: any domain.
    email_domains: tuple[str, ...] = ()
    # (claim, value) the id_token must carry, e.g. ("groups", "lti-tool-admins").
    required_claim: tuple[str, str] | None = None
    # Password form off: the console is entered through the university only.
    only: bool = False
    # The provider's own MFA stands in for the tool's TOTP code.
    skip_totp: bool = False


def _loopback(host: str | None) -> bool:
    """Whether a host is this machine (plain http is allowed to it, for trials and tests)."""
    return host in ("localhost", "127.0.0.1", "::1")


class _Reader:
    """Reads typed values, collecting every problem so one start-up names them all."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _typed(self, name: str, default: T, parse: Callable[[str], T], what: str) -> T:
        raw = _env(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except (ValueError, ConfigError):
            self.problems.append(f"{PREFIX}{name}={raw!r}: expected {what}")
            return default

    def integer(self, name: str, default: int, minimum: int = 0,
                maximum: int | None = None) -> int:
        """A whole number within bounds."""
        def parse(text: str) -> int:
            value = int(text)
            if value < minimum or (maximum is not None and value > maximum):
                raise ValueError(text)
            return value
        bounds = f"{minimum} or more" if maximum is None else f"{minimum} to {maximum}"
        return self._typed(name, default, parse, f"a whole number, {bounds}")

    def number(self, name: str, default: float, minimum: float = 0.0) -> float:
        """A decimal number of at least `minimum`."""
        def parse(text: str) -> float:
            value = float(text)
            if not value >= minimum or value == float("inf"):
                raise ValueError(text)
            return value
        return self._typed(name, default, parse, f"a number of at least {minimum:g}")

    def flag(self, name: str, default: bool) -> bool:
        """A yes/no value."""
        try:
            return _flag(name, default)
        except ConfigError as error:
            self.problems.append(str(error))
            return default

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of a few words."""
        def parse(text: str) -> str:
            if text.lower() not in choices:
                raise ValueError(text)
            return text.lower()
        return self._typed(name, default, parse, "one of " + ", ".join(choices))

    def zone(self, name: str, default: str) -> str:
        """An IANA time zone name, e.g. Europe/London."""
        def parse(text: str) -> str:
            try:
                ZoneInfo(text)
            # A folder of the zone database ("Europe") is an OSError, not "not found".
            except (ZoneInfoNotFoundError, ValueError, OSError) as error:
                raise ValueError(text) from error
            return text
        return self._typed(name, default, parse, "a time zone name such as Europe/London")

    def url(self, name: str, default: str) -> str:
        """An absolute http(s) URL without a trailing slash."""
        def parse(text: str) -> str:
            parts = urlsplit(text)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ValueError(text)
            return text.rstrip("/")
        return self._typed(name, default, parse, "an absolute http(s) URL, e.g. "
                                                 "https://tool.example.ac.uk")

    def secret(self, name: str) -> str | None:
        """A secret from NAME, or from the file NAME_FILE names (a mounted Secret); the value
        is never repeated in a problem."""
        raw, path = _env(name), _env(name + "_FILE")
        if raw and path:
            self.problems.append(f"{PREFIX}{name} and {PREFIX}{name}_FILE are both set: "
                                 "keep one")
            return None
        if not path:
            return (raw or "").strip() or None
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            self.problems.append(f"{PREFIX}{name}_FILE={path!r}: cannot be read ({why})")
            return None
        if not value:
            self.problems.append(f"{PREFIX}{name}_FILE={path!r}: the file is empty")
        return value or None

    def oidc(self) -> OidcSettings | None:
        """The OIDC_* settings together: none set, or enough to sign in with."""
        issuer = (_env("OIDC_ISSUER") or "").strip()
        client_id = (_env("OIDC_CLIENT_ID") or "").strip()
        secret = self.secret("OIDC_CLIENT_SECRET")
        only, skip_totp = self.flag("OIDC_ONLY", False), self.flag("OIDC_SKIP_TOTP", False)
        if not issuer:
            if client_id or secret or only:
                self.problems.append(f"{PREFIX}OIDC_ISSUER is not set, but other "
                                     f"{PREFIX}OIDC_* settings are: set it to the provider's "
                                     "issuer, e.g. https://login.example.ac.uk")
            return None
        parts = urlsplit(issuer)
        if parts.scheme != "https" and not (parts.scheme == "http"
                                             and _loopback(parts.hostname)):
            self.problems.append(f"{PREFIX}OIDC_ISSUER={issuer!r}: expected an https:// "
                                 "address (the provider's issuer, as its discovery "
                                 "document names it)")
        elif not parts.netloc or parts.query or parts.fragment:
            self.problems.append(f"{PREFIX}OIDC_ISSUER={issuer!r}: expected an address "
                                 "without ?query or #fragment")
        if not client_id:
            self.problems.append(f"{PREFIX}OIDC_CLIENT_ID is not set: the client id the "
                                 "provider gave the tool")
        if not secret:
            self.problems.append(f"{PREFIX}OIDC_CLIENT_SECRET (or {PREFIX}OIDC_CLIENT_"
                                 "SECRET_FILE) is not set: the client secret the provider "
                                 "gave the tool")
        domains = tuple(sorted({d.strip().lower().lstrip("@") for d in
                                (_env("OIDC_EMAIL_DOMAINS") or "").replace(",", " ").split()}))
        for domain in domains:
            if "." not in domain or "@" in domain or not domain.isprintable():
                self.problems.append(f"{PREFIX}OIDC_EMAIL_DOMAINS: {domain!r} is not a "
                                     "domain, e.g. uni.example.ac.uk")
        required = None
        claim = (_env("OIDC_REQUIRED_CLAIM") or "").strip()
        if claim:
            key, sep, value = claim.partition("=")
            if not sep or not key.strip() or not value.strip():
                self.problems.append(f"{PREFIX}OIDC_REQUIRED_CLAIM={claim!r}: expected "
                                     "CLAIM=VALUE, e.g. groups=lti-tool-admins")
            else:
                required = (key.strip(), value.strip())
        name = (_env("OIDC_NAME") or "").strip() or OidcSettings.name
        return OidcSettings(issuer=issuer, client_id=client_id, client_secret=secret or "",
                            name=name[:100], email_domains=domains, required_claim=required,
                            only=only, skip_totp=skip_totp)

    def database_url(self, name: str, default: str) -> str:
        """A SQLAlchemy database URL (postgresql+psycopg://... or sqlite:///...)."""
        def parse(text: str) -> str:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                backend = make_url(text).get_backend_name()
            except ArgumentError as exc:
                raise ValueError(text) from exc
            if backend not in ("postgresql", "sqlite"):
                raise ValueError(text)
            return text
        return self._typed(name, default, parse, "postgresql+psycopg://USER:PASSWORD@HOST/DB "
                                                 "or sqlite:///PATH")


class Config:
    """Settings for one running tool; every value can be overridden by the environment.

    Reading them checks them: a bad value raises ConfigError naming the variable and value.
    """

    def __init__(self) -> None:
        read = _Reader()
        self.INSTANCE_DIR = Path(_env("INSTANCE_DIR") or str(PROJECT_ROOT / "instance"))
        self.SQLALCHEMY_DATABASE_URL = read.database_url(
            "DATABASE_URL", f"sqlite:///{self.INSTANCE_DIR / 'lti_tool.sqlite3'}")
        self.BASE_URL = read.url("BASE_URL", "http://127.0.0.1:5000")
        self.KEYS_DIR = Path(_env("KEYS_DIR") or str(PROJECT_ROOT / "keys"))
        self.CONTENT_DIR = Path(_env("CONTENT_DIR") or str(PROJECT_ROOT / "content_packages"))
        self.CONTENT_STORE = Path(_env("CONTENT_STORE") or str(self.INSTANCE_DIR / "content"))
        self.SECRET_KEY = _env("SECRET_KEY") or None  # None: see require_stable_secret
        # The built-in sandbox platform signs launches; never on in production by default.
        self.SANDBOX_ENABLED = read.flag("SANDBOX", False)
        # Seconds of clock difference tolerated between platform and tool on exp/iat.
        self.JWT_LEEWAY = read.integer("JWT_LEEWAY", 60, maximum=3600)
        # An id_token issued longer ago than this is refused even if its exp is far off.
        self.JWT_MAX_AGE = read.integer("JWT_MAX_AGE", 3600, minimum=1)
        # How long a login's state and nonce wait for the matching launch.
        self.LOGIN_STATE_TTL = read.integer("LOGIN_STATE_TTL", 600, minimum=1)
        # How long a platform's key set is trusted before it is fetched again.
        self.PLATFORM_JWKS_TTL = read.integer("PLATFORM_JWKS_TTL", 3600)
        # Proxy hops whose X-Forwarded-Proto/Host are honoured (0 when serving directly).
        self.TRUSTED_PROXIES = read.integer("TRUSTED_PROXIES", 1, maximum=10)
        self.HTTP_TIMEOUT = read.number("HTTP_TIMEOUT", 10.0, minimum=0.1)
        # Extra origins that may frame the tool (space-separated), beyond the registered
        # platforms' own: a VLE served from a host other than its issuer's.
        self.FRAME_ANCESTORS = _env("FRAME_ANCESTORS") or ""
        # Right after a submit, try to send the grade before the page answers (short timeouts;
        # what fails stays queued for `lti-tool grades work`).
        self.GRADES_DELIVER_INLINE = read.flag("GRADES_DELIVER_INLINE", True)
        # Admin console sessions end after this many seconds idle, and after the maximum.
        self.ADMIN_SESSION_IDLE = read.integer("ADMIN_SESSION_IDLE", 1800, minimum=60)
        self.ADMIN_SESSION_MAX = read.integer("ADMIN_SESSION_MAX", 43200, minimum=60)
        # Optional console sign-in through the university's OpenID Connect provider.
        self.OIDC = read.oidc()
        # json for log collectors; text reads better in a terminal (the demo's default).
        self.LOG_FORMAT = read.choice("LOG_FORMAT", "text" if self.SANDBOX_ENABLED else "json",
                                      ("json", "text"))
        self.LOG_LEVEL = read.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error"))
        # The zone the pages and grade labels give times in (stored times stay UTC).
        self.TIME_ZONE = read.zone("TIME_ZONE", "Europe/London")
        # When set, /metrics asks for `Authorization: Bearer <token>`.
        self.METRICS_TOKEN = _env("METRICS_TOKEN") or None
        self.WTF_CSRF_TIME_LIMIT = None
        self.TESTING = False
        if read.problems:
            raise ConfigError("; ".join(read.problems))

    def require_stable_secret(self) -> None:
        """Refuse a missing or short session secret outside the sandbox and the tests.

        Each process would otherwise sign sessions with a key of its own, so a person signed
        in through one replica is signed out by the next.
        """
        if self.SANDBOX_ENABLED or self.TESTING:
            return
        if not self.SECRET_KEY:
            raise ConfigError(
                f"{PREFIX}SECRET_KEY is not set: every process needs the same session secret. "
                "Set it to a random value of 64 hex digits, e.g. from "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'` "
                f"(or set {PREFIX}SANDBOX=1 for a local demo)")
        if len(self.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"{PREFIX}SECRET_KEY is {len(self.SECRET_KEY)} characters long: use at least "
                f"{MIN_SECRET_KEY_LENGTH}, e.g. 64 hex digits from "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'`")


class TestConfig(Config):
    """Settings for the test suite: a throwaway instance folder and database."""

    __test__ = False  # a settings class, not a pytest test class

    def __init__(self, **overrides: object) -> None:
        super().__init__()
        self.TESTING = True
        self.SANDBOX_ENABLED = True
        # Tests reach no network but loopback: those that deliver inline switch it on.
        self.GRADES_DELIVER_INLINE = False
        self.SECRET_KEY = "test-secret-key"
        self.TIME_ZONE = "Europe/London"  # whatever the developer's shell says
        self.WTF_CSRF_ENABLED = True
        self.LOG_FORMAT = "text"
        for key, value in overrides.items():
            setattr(self, key, value)
