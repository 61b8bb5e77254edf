"""Tokens of the feeds, sealed before they are stored.

The database never holds a feed's token in clear: it is encrypted with a key that lives
outside the database, the setting ``feed_key`` or else a key file ``feeds.key`` (mode 600)
in the store's records folder, made on first use. A copy of the database alone does not
reveal the tokens.

No cryptography package is a dependency of chiso, so the cipher is built from the standard
library: HMAC-SHA256 as a pseudo-random function in counter mode gives the key stream, and
an HMAC-SHA256 tag over the nonce and the ciphertext (encrypt-then-MAC) refuses a sealed
value that was altered or sealed under another key. Separate keys for the two are derived
from the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _

PREFIX = "v1:"
NONCE = 16
TAG = 32


def _keys(secret: bytes) -> tuple[bytes, bytes]:
    root = hashlib.sha256(secret).digest()
    return (hmac.new(root, b"chiso feed token: encrypt", hashlib.sha256).digest(),
            hmac.new(root, b"chiso feed token: authenticate", hashlib.sha256).digest())


def _stream(key: bytes, nonce: bytes, n: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
    return bytes(out[:n])


def seal(token: str, secret: bytes) -> str:
    """``token`` encrypted and authenticated under ``secret``, as text for a column."""
    enc, mac = _keys(secret)
    nonce = secrets.token_bytes(NONCE)
    plain = token.encode("utf-8")
    cipher = bytes(a ^ b for a, b in zip(plain, _stream(enc, nonce, len(plain))))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()
    return PREFIX + base64.urlsafe_b64encode(nonce + cipher + tag).decode("ascii")


def unseal(sealed: str, secret: bytes) -> str:
    """The token back; :class:`ChisoError` when the key is not the one it was sealed with."""
    enc, mac = _keys(secret)
    try:
        if not sealed.startswith(PREFIX):
            raise ValueError(sealed[:3])
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX):].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ChisoError(_("The stored token of this source cannot be read; add it again.")) from None
    nonce, cipher, tag = raw[:NONCE], raw[NONCE:-TAG], raw[-TAG:]
    if len(raw) < NONCE + TAG or not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()):
        raise ChisoError(_("The stored token of this source was sealed with another key (setting feed_key or "
                           "the key file); add it again."))
    return bytes(a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)))).decode("utf-8")


def key(folder: Path) -> bytes:
    """The sealing key: the setting ``feed_key`` when set, else the key file in ``folder``
    (the records folder), created with mode 600 on first use."""
    configured = settings.get("feed_key")
    if configured:
        return configured.encode("utf-8")
    path = folder / "feeds.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".feeds.key.{os.getpid()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)  # the first process to make the key wins; the others read it
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
    return path.read_bytes().strip()
