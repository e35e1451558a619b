"""Request signing (KALSHI_API.md section 2).

Message = ``timestamp_ms + METHOD + path``, where path is the URL path from the host root
(it includes ``/trade-api/v2``) without the query; RSA-PSS with SHA-256, MGF1-SHA-256 and a
salt as long as the digest; base64 with padding. The body is never signed.

The private key lives only inside :class:`KalshiSigner`, whose repr names the key id and
nothing else; errors about the key file name the path, never its contents.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from precog_pipelines.lib.kalshi.errors import KalshiConfigError

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
# An unencrypted 8192-bit RSA key in PEM is about 6.4 kB; anything far larger is not a key.
MAX_KEY_FILE_BYTES = 64 * 1024
# The key id travels in the KALSHI-ACCESS-KEY header: printable ASCII without spaces (Kalshi's are UUIDs).
_KEY_ID = re.compile(r"[!-~]{1,200}")


def key_id_problem(key_id: str) -> str | None:
    """Why ``key_id`` cannot be a Kalshi API key id (it could not even be sent as a header), or None."""
    if _KEY_ID.fullmatch(key_id):
        return None
    return "is not a Kalshi API key id (printable ASCII without spaces, e.g. a UUID from the account's API keys page)"


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in the PEM file at ``path`` (PKCS#1 or PKCS#8, unencrypted)."""
    where = f"Kalshi private key file {path} (KALSHI_PRIVATE_KEY_PATH)"
    try:
        # Looked at before it is opened: opening a FIFO blocks until a writer comes, and a device
        # such as /dev/zero never ends.
        mode, size = (info := os.stat(path)).st_mode, info.st_size
        if stat.S_ISDIR(mode):
            raise KalshiConfigError(f"{where} is a directory, not a PEM file")
        if not stat.S_ISREG(mode):
            raise KalshiConfigError(f"{where} is not a regular file")
        if size > MAX_KEY_FILE_BYTES:
            raise KalshiConfigError(f"{where} is too large for a PEM key ({size} bytes)")
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KalshiConfigError(f"{where} does not exist") from None
    except OSError as error:
        raise KalshiConfigError(f"{where} cannot be read: {error.strerror}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KalshiConfigError(f"{where} is too large for a PEM key (over {MAX_KEY_FILE_BYTES} bytes)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KalshiConfigError(f"{where} is encrypted; Kalshi keys are unencrypted PEM files") from None
    except (ValueError, UnsupportedAlgorithm):
        # The library's message can quote parts of the input; say nothing about the contents.
        raise KalshiConfigError(
            f"{where} is not a PEM RSA private key (expected '-----BEGIN RSA PRIVATE KEY-----' "
            "or '-----BEGIN PRIVATE KEY-----')"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KalshiConfigError(f"{where} holds a {type(key).__name__.lstrip('_')}, not an RSA key")
    return key


class KalshiSigner:
    """Signs requests for one API key."""

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        if not key_id:
            raise KalshiConfigError("KALSHI_API_KEY_ID is empty")
        if problem := key_id_problem(key_id):
            raise KalshiConfigError(f"KALSHI_API_KEY_ID {key_id[:200]!r} {problem}")
        self.key_id = key_id
        self._private_key = private_key

    @classmethod
    def from_file(cls, key_id: str | None, private_key_path: Path | None) -> KalshiSigner:
        if not key_id or private_key_path is None:
            missing = [
                name
                for name, value in (("KALSHI_API_KEY_ID", key_id), ("KALSHI_PRIVATE_KEY_PATH", private_key_path))
                if not value
            ]
            raise KalshiConfigError(
                f"this Kalshi call needs credentials; set {' and '.join(missing)} "
                "(an API key from the Kalshi account settings of the environment KALSHI_ENV names)"
            )
        return cls(key_id, load_private_key(private_key_path))

    def headers(self, method: str, url: str, *, now_ms: int | None = None) -> dict[str, str]:
        """The three ``KALSHI-ACCESS-*`` headers for one request to ``url`` (query ignored)."""
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        path = urlsplit(url).path
        message = (timestamp + method.upper() + path).encode()
        signature = self._private_key.sign(message, _PSS, hashes.SHA256())
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": timestamp,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id!r})"
