"""The LTI 1.1 migration claim: a platform moving from 1.1 tells us the person's old user_id.

1EdTech's "LTI 1.1 to 1.3 migration" (https://www.imsglobal.org/spec/lti/v1p3/migr) signs the
claim with the 1.1 shared secret: ``oauth_consumer_key_sign`` is the base64 HMAC-SHA256 of
``oauth_consumer_key & deployment_id & iss & client_id & exp & nonce`` (joined by "&", the
client id being the token's ``aud``). Only a claim that verifies against the key and secret
configured for the registration (``lti-tool platform set --lti1p1-key --lti1p1-secret``) is
believed; anything else is logged and ignored, never fatal: the 1.3 launch stands on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import typing as t

from ..models import Registration
from .constants import Claim

log = logging.getLogger(__name__)


def base_string(claims: t.Mapping[str, t.Any], consumer_key: str) -> str:
    """The text the platform signed, as the migration guide defines it."""
    aud = claims.get("aud")
    client_id = aud[0] if isinstance(aud, list) and len(aud) == 1 else aud
    if isinstance(aud, list) and len(aud) > 1:
        client_id = claims.get("azp")  # several audiences: azp names the client
    parts = (consumer_key, claims.get(Claim.DEPLOYMENT_ID.value), claims.get("iss"), client_id,
             claims.get("exp"), claims.get("nonce"))
    return "&".join("" if part is None else str(part) for part in parts)


def sign(claims: t.Mapping[str, t.Any], consumer_key: str, secret: str) -> str:
    """The ``oauth_consumer_key_sign`` for these claims (what a platform computes)."""
    digest = hmac.new(secret.encode(), base_string(claims, consumer_key).encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verified_user_id(registration: Registration, claims: t.Mapping[str, t.Any]) -> str | None:
    """The LTI 1.1 user_id the claim vouches for, or None (absent, unconfigured or forged)."""
    claim = claims.get(Claim.LTI1P1.value)
    if not isinstance(claim, dict):
        return None
    user_id = claim.get("user_id")
    where = f"registration {registration.id}, sub {str(claims.get('sub'))[:64]!r}"
    if not isinstance(user_id, str) or not user_id:
        return None
    if not registration.lti1p1_key or not registration.lti1p1_secret:
        log.info("lti1p1 claim ignored (%s): no LTI 1.1 key and secret configured", where)
        return None
    key, signature = claim.get("oauth_consumer_key"), claim.get("oauth_consumer_key_sign")
    if key != registration.lti1p1_key:
        log.warning("lti1p1 claim ignored (%s): oauth_consumer_key %r is not the configured "
                    "LTI 1.1 key", where, str(key)[:64])
        return None
    expected = sign(claims, registration.lti1p1_key, registration.lti1p1_secret)
    if not isinstance(signature, str) or not hmac.compare_digest(expected, signature):
        log.warning("lti1p1 claim ignored (%s): oauth_consumer_key_sign does not verify with "
                    "the configured LTI 1.1 secret", where)
        return None
    return user_id
