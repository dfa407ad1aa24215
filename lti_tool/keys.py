"""The tool's own RSA keys: files in the keys folder, a manifest, rotation and the public JWKS."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MANIFEST = "keyring.json"


class KeyringError(Exception):
    """The keys folder is missing, unreadable or inconsistent."""


@dataclass
class ToolKey:
    """One key pair; `current` signs, `previous` is still published, `retired` is not."""

    kid: str
    status: str
    created_at: str
    retired_at: str | None = None


def _write_private(path: Path, data: bytes) -> None:
    """Write a file that only the owner can read, created that way (no window at 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


class Keyring:
    """The keys folder: `<kid>.pem` private keys and `keyring.json` listing their status."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- reading ---------------------------------------------------------------------------
    def keys(self) -> list[ToolKey]:
        """Every key the manifest knows, oldest first."""
        path = self.directory / MANIFEST
        if not path.exists():
            return []
        try:
            data = json.loads(path.read_text())
            return [ToolKey(**entry) for entry in data["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"{path} is not a valid key manifest: {exc}") from exc

    def current(self) -> ToolKey:
        """The key that signs new messages."""
        for key in self.keys():
            if key.status == "current":
                return key
        raise KeyringError(
            f"no signing key in {self.directory}; run `lti-tool keys generate` first"
        )

    def private_key_pem(self, kid: str) -> bytes:
        """The PEM of one private key."""
        path = self.directory / f"{kid}.pem"
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KeyringError(f"cannot read private key {path}: {exc.strerror}") from exc

    def public_jwks(self) -> dict:
        """The JWKS to publish: every key that is current or previous."""
        self.current()  # an empty key set would only hide the missing setup step
        keys = []
        for key in self.keys():
            if key.status in ("current", "previous"):
                private = serialization.load_pem_private_key(
                    self.private_key_pem(key.kid), password=None
                )
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
                jwk.update({"kid": key.kid, "alg": "RS256", "use": "sig"})
                keys.append(jwk)
        return {"keys": keys}

    def sign(self, payload: dict, headers: dict | None = None) -> str:
        """Sign a JWT with the current key, naming it by `kid`."""
        key = self.current()
        return jwt.encode(
            payload,
            self.private_key_pem(key.kid),
            algorithm="RS256",
            headers={"kid": key.kid, **(headers or {})},
        )

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
                key.status = "retired"
                key.retired_at = _now()
                self._save(keys)
                (self.directory / f"{kid}.pem").unlink(missing_ok=True)
                return key
        raise KeyringError(f"no key {kid!r} in {self.directory}")

    def _add_key(self, demote_current: bool) -> ToolKey:
        """Generate a 2048-bit RSA key, store it 0600 and record it as current."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        keys = self.keys()
        if demote_current:
            for key in keys:
                if key.status == "current":
                    key.status = "previous"
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = datetime.now(timezone.utc).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(self.directory / f"{kid}.pem", pem)
        new = ToolKey(kid=kid, status="current", created_at=_now())
        keys.append(new)
        self._save(keys)
        return new

    def _save(self, keys: list[ToolKey]) -> None:
        """Replace the manifest atomically so a reader never sees half a file."""
        tmp = self.directory / (MANIFEST + ".tmp")
        _write_private(tmp, json.dumps({"keys": [asdict(k) for k in keys]}, indent=2).encode())
        os.replace(tmp, self.directory / MANIFEST)


def _now() -> str:
    """An ISO timestamp in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
