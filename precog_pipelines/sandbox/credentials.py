"""An API key pair for talking to a local sandbox with no Kalshi account.

``precog sandbox`` (and ``precog dev``) create it once under ``$PRECOG_HOME/sandbox/`` and
reuse it: the private key as an unencrypted PKCS#8 PEM (mode 0600), the key id beside it.
The sandbox only ever sees the public half.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from precog_pipelines.lib.kalshi.auth import load_private_key


@dataclass(frozen=True)
class SandboxCredentials:
    key_id: str
    private_key_path: Path
    public_key: rsa.RSAPublicKey

    def environment(self) -> dict[str, str]:
        return {"KALSHI_API_KEY_ID": self.key_id, "KALSHI_PRIVATE_KEY_PATH": str(self.private_key_path)}


def write_private_key(path: Path, key: rsa.RSAPrivateKey, *, pkcs1: bool = False) -> Path:
    """Write ``key`` as an unencrypted PEM readable only by its owner."""
    private_format = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    pem = key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return path


def ensure_sandbox_credentials(directory: Path) -> SandboxCredentials:
    """The key pair in ``directory``, created on first use."""
    key_path = directory / "sandbox-private-key.pem"
    id_path = directory / "sandbox-key-id"
    if not key_path.exists() or not id_path.exists():
        write_private_key(key_path, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        id_path.write_text(f"sandbox-{uuid.uuid4()}\n")
    private_key = load_private_key(key_path)
    return SandboxCredentials(id_path.read_text().strip(), key_path, private_key.public_key())
