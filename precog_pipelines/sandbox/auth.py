"""Server-side check of Kalshi's signed headers, done the way the exchange must do it.

RSA-PSS signatures are randomized, so the signature is VERIFIED with the registered public
key, never compared with one we computed. The message is rebuilt from what arrived:
``timestamp + METHOD + path`` (the URL path without the query), and the timestamp must be 13
digits within ``tolerance`` of the real clock (not the simulated one).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Defined here independently of the client, so a client-side padding mistake fails the test.
VERIFY_PADDING = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class AuthFailure(Exception):
    """Why a request's signature was refused (goes into the 401 body's ``details``)."""


def load_public_key(key: rsa.RSAPublicKey | bytes | str) -> rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        return key
    loaded = serialization.load_pem_public_key(key.encode() if isinstance(key, str) else key)
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValueError("the sandbox accepts RSA public keys only")
    return loaded


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    keys: Mapping[str, rsa.RSAPublicKey],
    now_ms: int,
    tolerance_ms: int,
) -> str:
    """The key id of a correctly signed request, or :class:`AuthFailure`."""
    key_id = headers.get("KALSHI-ACCESS-KEY")
    timestamp = headers.get("KALSHI-ACCESS-TIMESTAMP")
    signature = headers.get("KALSHI-ACCESS-SIGNATURE")
    if not key_id or not timestamp or not signature:
        raise AuthFailure("MISSING_API_KEY_HEADERS")
    if len(timestamp) != 13 or not timestamp.isdigit():
        raise AuthFailure("INVALID_TIMESTAMP: expected Unix milliseconds (13 digits)")
    if abs(now_ms - int(timestamp)) > tolerance_ms:
        raise AuthFailure("TIMESTAMP_OUT_OF_RANGE")
    public_key = keys.get(key_id)
    if public_key is None:
        raise AuthFailure("INCORRECT_API_KEY")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise AuthFailure("INCORRECT_API_KEY_SIGNATURE") from None
    message = (timestamp + method.upper() + path).encode()
    try:
        public_key.verify(raw_signature, message, VERIFY_PADDING, hashes.SHA256())
    except InvalidSignature:
        raise AuthFailure("INCORRECT_API_KEY_SIGNATURE") from None
    return key_id
