"""Retention periods and the raw-claims window, read from LTI_TOOL_RETENTION_* variables.

Read here rather than in config.py so that the policy is one object the CLI, the worker and
the console share, and so it can be read without an app (a cron job, a test).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

PREFIX = "LTI_TOOL_"


class SettingError(ValueError):
    """A retention setting that is not a whole number of days or seconds."""


def _whole(name: str, default: int, environ: Mapping[str, str]) -> int:
    """A non-negative integer setting; a clear error instead of a silent default."""
    raw = environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SettingError(f"{PREFIX}{name} must be 0 (keep) or more, not {value}")
    return value


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of data is kept; 0 means kept until someone removes it."""

    # Launch records (which link, when, roles, the few claims pages need).
    launches: int = 90
    # Refused logins and launches, kept so an administrator can see why launches fail.
    failures: int = 90
    # Attempts (answers, reflections, marks, comments), counted from their last change; the
    # default follows the common HEI schedule of six years after the assessment.
    attempts: int = 6 * 365
    # The class list fetched from the VLE (a cache: the VLE is the source).
    roster: int = 30
    # The sandbox platform's gradebook and deep-linked activities (demonstrations only).
    sandbox: int = 7
    # Grade deliveries that reached the VLE (or were superseded); pending ones are never purged.
    deliveries: int = 365
    # The audit log itself.
    audit: int = 6 * 365

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "RetentionPolicy":
        """The policy from LTI_TOOL_RETENTION_<KIND>_DAYS, defaults for what is unset."""
        environ = os.environ if environ is None else environ
        defaults = cls()
        return cls(**{f.name: _whole(f"RETENTION_{f.name.upper()}_DAYS",
                                     getattr(defaults, f.name), environ)
                      for f in fields(cls)})

    def items(self) -> list[tuple[str, int]]:
        """(kind, days) in a fixed order, for printing."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def keep_raw_claims_seconds(environ: Mapping[str, str] | None = None) -> int:
    """How long a launch's full id_token claims are kept for debugging (0: not at all)."""
    environ = os.environ if environ is None else environ
    return _whole("KEEP_RAW_CLAIMS_SECONDS", 0, environ)


def research_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The key research pseudonyms are made with (LTI_TOOL_RESEARCH_KEY), if one is set.

    Without it the app's SECRET_KEY is used: pseudonyms then change if that key changes.
    """
    environ = os.environ if environ is None else environ
    return (environ.get(PREFIX + "RESEARCH_KEY") or "").strip() or None
