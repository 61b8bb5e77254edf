"""Tokens of the feeds, sealed before they are stored.

The database never holds a feed's token in clear: it is encrypted with a key that lives
outside the database, the setting ``feed_key`` or else a key file ``feeds.key`` (mode 600)
in the store's records folder, made on first use. A copy of the database alone does not
reveal the tokens.

The cipher is Fernet from the ``cryptography`` package (AES-128 in CBC mode with an
HMAC-SHA256 tag, encrypt-then-MAC): a sealed value altered, or sealed under another key, is
refused. The Fernet key is derived from the secret with SHA-256, so any secret text serves.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _

PREFIX = "f1:"


def _fernet(secret: bytes):
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"chiso feed token\0" + secret).digest()))


def seal(token: str, secret: bytes) -> str:
    """``token`` encrypted and authenticated under ``secret``, as text for a column."""
    return PREFIX + _fernet(secret).encrypt(token.encode("utf-8")).decode("ascii")


def unseal(sealed: str, secret: bytes) -> str:
    """The token back; :class:`ChisoError` when the key is not the one it was sealed with."""
    from cryptography.fernet import InvalidToken

    if not sealed.startswith(PREFIX):
        raise ChisoError(_("The stored token of this source cannot be read; add it again."))
    try:
        return _fernet(secret).decrypt(sealed[len(PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise ChisoError(_("The stored token of this source was sealed with another key (setting feed_key or "
                           "the key file); add it again.")) from None


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
