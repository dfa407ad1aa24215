"""Configuration read from LTI_TOOL_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PREFIX = "LTI_TOOL_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    """Return the LTI_TOOL_-prefixed environment variable `name`."""
    return os.environ.get(PREFIX + name, default)


def _flag(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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


class Config:
    """Settings for one running tool; every value can be overridden by the environment."""

    def __init__(self) -> None:
        self.INSTANCE_DIR = Path(_env("INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
        self.SQLALCHEMY_DATABASE_URL = _env(
            "DATABASE_URL", f"sqlite:///{self.INSTANCE_DIR / 'lti_tool.sqlite3'}"
        )
        self.BASE_URL = (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/")
        self.KEYS_DIR = Path(_env("KEYS_DIR", str(PROJECT_ROOT / "keys")))
        self.CONTENT_DIR = Path(_env("CONTENT_DIR", str(PROJECT_ROOT / "content_packages")))
        self.CONTENT_STORE = Path(_env("CONTENT_STORE", str(self.INSTANCE_DIR / "content")))
        self.SECRET_KEY = _env("SECRET_KEY")  # None: generated into INSTANCE_DIR by create_app
        # The built-in sandbox platform signs launches; never on in production by default.
        self.SANDBOX_ENABLED = _flag("SANDBOX", default=False)
        # Seconds of clock difference tolerated between platform and tool on exp/iat.
        self.JWT_LEEWAY = int(_env("JWT_LEEWAY", "60") or 60)
        # An id_token issued longer ago than this is refused even if its exp is far off.
        self.JWT_MAX_AGE = int(_env("JWT_MAX_AGE", "3600") or 3600)
        # How long a login's state and nonce wait for the matching launch.
        self.LOGIN_STATE_TTL = int(_env("LOGIN_STATE_TTL", "600") or 600)
        # How long a platform's key set is trusted before it is fetched again.
        self.PLATFORM_JWKS_TTL = int(_env("PLATFORM_JWKS_TTL", "3600") or 3600)
        # Proxy hops whose X-Forwarded-Proto/Host are honoured (0 when serving directly).
        self.TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "1") or 0)
        self.HTTP_TIMEOUT = float(_env("HTTP_TIMEOUT", "10") or 10)
        # Right after a submit, try to send the grade before the page answers (short timeouts;
        # what fails stays queued for `lti-tool grades work`).
        self.GRADES_DELIVER_INLINE = _flag("GRADES_DELIVER_INLINE", default=True)
        # Admin console sessions end after this many seconds idle, and after the maximum.
        self.ADMIN_SESSION_IDLE = int(_env("ADMIN_SESSION_IDLE", "1800") or 1800)
        self.ADMIN_SESSION_MAX = int(_env("ADMIN_SESSION_MAX", "43200") or 43200)
        self.WTF_CSRF_TIME_LIMIT = None
        self.TESTING = False


class TestConfig(Config):
    """Settings for the test suite: a throwaway instance folder and database."""

    def __init__(self, **overrides: object) -> None:
        super().__init__()
        self.TESTING = True
        self.SANDBOX_ENABLED = True
        # Tests reach no network but loopback: those that deliver inline switch it on.
        self.GRADES_DELIVER_INLINE = False
        self.SECRET_KEY = "test-secret-key"
        self.WTF_CSRF_ENABLED = True
        for key, value in overrides.items():
            setattr(self, key, value)
