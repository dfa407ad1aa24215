"""The tool's own RSA keys: files in the keys folder, a manifest, rotation and the public JWKS.

The folder may be a read-only mount (a Kubernetes Secret): reading never writes, chmods or
creates anything, and a change there is picked up on the next use, without a restart.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MANIFEST = "keyring.json"
MIN_KEY_BITS = 2048
_MANIFEST_FIELDS = ("kid", "status", "created_at", "retired_at")
log = logging.getLogger(__name__)
# Parsed private keys by file identity: parsing a PEM costs more than a stat, and a Secret
# update replaces the file (new inode or mtime), which invalidates the entry.
_parsed: dict[tuple[str, int, int, int], rsa.RSAPrivateKey | str] = {}
_parsed_lock = threading.Lock()


class KeyringError(Exception):
    """The keys folder is missing, unreadable, read-only for a change, or inconsistent."""


@dataclass
class ToolKey:
    """One key pair; `current` signs, `previous` is still published, `retired` is not.

    `problem` says why a current or previous key's file cannot be used (never saved).
    """

    kid: str
    status: str
    created_at: str
    retired_at: str | None = None
    problem: str | None = field(default=None, compare=False)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only the owner can read: created 0600 beside it, then moved into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _reason(exc: OSError) -> str:
    """Words for an OSError, with the fix for the usual one in containers."""
    if exc.errno == errno.EACCES:
        return (f"permission denied for uid {os.getuid()}: mount the Secret so this user can "
                "read it (fsGroup 10001 with defaultMode 0440, see docs/operations.md)")
    return exc.strerror or str(exc)


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """Parse an RSA private key file, or raise KeyringError saying what is wrong with it."""
    try:
        info = path.stat()
        ident = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
    except OSError as exc:
        raise KeyringError(f"cannot read {path}: {_reason(exc)}") from exc
    with _parsed_lock:
        cached = _parsed.get(ident)
    if cached is None:
        cached = _parse(path)
        with _parsed_lock:
            if len(_parsed) > 64:
                _parsed.clear()
            _parsed[ident] = cached
    if isinstance(cached, str):
        raise KeyringError(cached)
    return cached


def _parse(path: Path) -> rsa.RSAPrivateKey | str:
    """The key in `path`, or a sentence saying why it is unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {_reason(exc)}"
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return (f"{path} is not a usable PEM private key ({exc.__class__.__name__}); restore "
                "it from your backup or Secret, or rotate to a new key")
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
        return f"{path} is not an RSA key of at least {MIN_KEY_BITS} bits"
    return key


class Keyring:
    """The keys folder: `<kid>.pem` private keys and `keyring.json` listing their status."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- reading ---------------------------------------------------------------------------
    def keys(self) -> list[ToolKey]:
        """Every key the manifest knows, oldest first; unusable published keys carry a problem."""
        path = self.directory / MANIFEST
        try:
            raw = path.read_text()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyringError(f"cannot read {path}: {_reason(exc)}") from exc
        try:
            data = json.loads(raw)
            keys = [ToolKey(**{name: entry.get(name) for name in _MANIFEST_FIELDS
                               if name in entry}) for entry in data["keys"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"{path} is not a valid key manifest: {exc}") from exc
        for key in keys:
            if key.status in ("current", "previous"):
                try:
                    _load_private_key(self._pem_path(key.kid))
                except KeyringError as error:
                    key.problem = str(error)
        return keys

    def current(self) -> ToolKey:
        """The key that signs new messages; a KeyringError if there is none or it is broken."""
        for key in self.keys():
            if key.status == "current":
                if key.problem:
                    raise KeyringError(f"the signing key {key.kid} cannot be used: "
                                       f"{key.problem}")
                return key
        raise KeyringError(
            f"no signing key in {self.directory}; run `lti-tool keys generate` first"
        )

    def signing_key(self) -> tuple[ToolKey, rsa.RSAPrivateKey]:
        """The current key with its parsed private half."""
        key = self.current()
        return key, _load_private_key(self._pem_path(key.kid))

    def private_key_pem(self, kid: str) -> bytes:
        """The PEM of one private key."""
        path = self._pem_path(kid)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KeyringError(f"cannot read private key {path}: {_reason(exc)}") from exc

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS to publish: every usable current or previous key (broken ones are logged)."""
        keys, published = [], self.keys()
        if not any(k.status == "current" for k in published):
            raise KeyringError(
                f"no signing key in {self.directory}; run `lti-tool keys generate` first")
        for key in published:
            if key.status not in ("current", "previous"):
                continue
            if key.problem:
                log.error("key %s left out of the JWKS: %s", key.kid, key.problem)
                continue
            private = _load_private_key(self._pem_path(key.kid))
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            jwk.update({"kid": key.kid, "alg": "RS256", "use": "sig"})
            keys.append(jwk)
        if not keys:
            raise KeyringError(f"no usable key in {self.directory}: "
                               + "; ".join(k.problem for k in published if k.problem))
        return {"keys": keys}

    def sign(self, payload: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """Sign a JWT with the current key, naming it by `kid`."""
        key, private = self.signing_key()
        return jwt.encode(payload, private, algorithm="RS256",
                          headers={"kid": key.kid, **(headers or {})})

    @property
    def writable(self) -> bool:
        """Whether keys can be changed here (false for a mounted Secret)."""
        target = self.directory
        while not target.exists() and target != target.parent:
            target = target.parent  # a folder not made yet: can its nearest parent be written?
        return os.access(target, os.W_OK)

    # -- changing --------------------------------------------------------------------------
    def generate(self) -> ToolKey:
        """Create the first key; refuses when one exists (use rotate)."""
        if any(k.status == "current" for k in self.keys()):
            raise KeyringError(
                f"{self.directory} already has a signing key; use `lti-tool keys rotate`"
            )
        return self._add_key(demote_current=False)

    def rotate(self) -> ToolKey:
        """Make a new current key; the old one stays published as `previous`."""
        return self._add_key(demote_current=True)

    def retire(self, kid: str) -> ToolKey:
        """Stop publishing a previous key and delete its private half."""
        keys = self.keys()
        for key in keys:
            if key.kid == kid:
                if key.status == "current":
                    raise KeyringError(
                        f"{kid} is the signing key; rotate first, then retire it"
                    )
                self._require_writable()
                key.status = "retired"
                key.retired_at = _now()
                self._save(keys)
                self._pem_path(kid).unlink(missing_ok=True)
                return key
        raise KeyringError(f"no key {kid!r} in {self.directory}")

    def _require_writable(self) -> None:
        """Refuse a change before touching anything when the folder is read-only."""
        if not self.writable:
            raise KeyringError(
                f"{self.directory} is read-only (a mounted Secret?), so keys cannot be changed "
                "here. Rotate in a writable copy and update the Secret: see 'Key rotation' in "
                "docs/operations.md")

    def _add_key(self, demote_current: bool) -> ToolKey:
        """Generate a 2048-bit RSA key, store it 0600 and record it as current."""
        keys = self.keys()
        self._require_writable()
        if not self.directory.exists():
            try:
                self.directory.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise KeyringError(f"cannot create {self.directory}: {_reason(exc)}") from exc
        if demote_current:
            for key in keys:
                if key.status == "current":
                    key.status = "previous"
        private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
        kid = datetime.now(timezone.utc).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            _write_private(self._pem_path(kid), pem)
            new = ToolKey(kid=kid, status="current", created_at=_now())
            keys.append(new)
            self._save(keys)
        except OSError as exc:
            raise KeyringError(f"cannot write to {self.directory}: {_reason(exc)}") from exc
        return new

    def _save(self, keys: list[ToolKey]) -> None:
        """Replace the manifest atomically so a reader never sees half a file."""
        entries = [{name: getattr(k, name) for name in _MANIFEST_FIELDS} for k in keys]
        _write_private(self.directory / MANIFEST, json.dumps({"keys": entries}, indent=2).encode())

    def _pem_path(self, kid: str) -> Path:
        """Where a key's private half lives (kids come from our manifest, never from users)."""
        if "/" in kid or kid.startswith("."):
            raise KeyringError(f"key id {kid!r} is not a plain file name")
        return self.directory / f"{kid}.pem"


def _now() -> str:
    """An ISO timestamp in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
