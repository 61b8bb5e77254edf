"""Evidence files (tài liệu kiểm chứng): checked, stored by checksum, only ever read back.

Rules (docs/assessments.md):

- at most :data:`MAX_BYTES` (20 MB) per file; an empty file is refused;
- only the types of :data:`ALLOWED`: PDF, images (PNG, JPEG, WebP), office documents
  (Word, Excel, PowerPoint, OpenDocument) and plain text / CSV. Archives (zip, rar, 7z),
  executables, scripts and HTML are refused: an archive hides what it holds from the
  appraisers and may be a decompression bomb; HTML and scripts could run in a browser;
- the content must match the name's type (a PDF starts ``%PDF-``, a .docx is a zip
  container, ...), so a renamed executable is refused;
- the original name is kept for display and download only; a name with path parts
  (``/``, ``\\``, ``..``), control characters or more than 255 characters is refused;
- the content is written once under ``evidence/<sha256>`` of the store's records folder (:mod:`chiso.store.service`), without an
  extension and without execute permission, and its checksum is checked again on read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from chiso.errors import ChisoError
from chiso.i18n import _

#: Largest evidence file accepted, in bytes (20 MB): enough for a scanned decision of a few
#: dozen pages; larger material belongs in the document system, cited by number.
MAX_BYTES = 20 * 1024 * 1024

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt
_ZIP = b"PK\x03\x04"  # .docx/.xlsx/.pptx/.odt/... are zip containers

#: Extension → (media type, signatures the content must start with; empty: text).
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".webp": ("image/webp", (b"RIFF",)),
    ".doc": ("application/msword", (_OLE,)),
    ".xls": ("application/vnd.ms-excel", (_OLE,)),
    ".ppt": ("application/vnd.ms-powerpoint", (_OLE,)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (_ZIP,)),
    ".odt": ("application/vnd.oasis.opendocument.text", (_ZIP,)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (_ZIP,)),
    ".odp": ("application/vnd.oasis.opendocument.presentation", (_ZIP,)),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
}


@dataclass(frozen=True)
class Stored:
    name: str
    size: int
    media_type: str
    sha256: str


def store_dir(where) -> Path:
    """The evidence folder of the store of ``where`` (an engine or a session)."""
    from chiso.store.service import evidence_dir

    return evidence_dir(where)


def blob_path(sha256: str, *, where) -> Path:
    return store_dir(where) / sha256


def check_name(name: str) -> str:
    """The original name, or a refusal: no path parts, no control characters."""
    if not name or name.strip() != name or len(name) > 255:
        raise ChisoError(_("Evidence file name {name!r} is refused: empty, too long or with spaces at an end.").format(
            name=name))
    if "/" in name or "\\" in name or name in (".", "..") or (len(name) > 1 and name[1] == ":"):
        raise ChisoError(_("Evidence file name {name!r} is refused: it contains path parts.").format(name=name))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise ChisoError(_("Evidence file name {name!r} is refused: it contains control characters.").format(name=name))
    return unicodedata.normalize("NFC", name)


def media_type(name: str, head: bytes) -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext not in ALLOWED:
        raise ChisoError(_("Evidence file {name} is refused: type {ext} is not allowed (allowed: {allowed}).").format(
            name=name, ext=ext or _("(none)"), allowed=", ".join(sorted(ALLOWED))))
    mtype, signatures = ALLOWED[ext]
    if signatures and not any(head.startswith(s) for s in signatures):
        raise ChisoError(_("Evidence file {name} is refused: its content is not a {ext} file.").format(name=name, ext=ext))
    if not signatures and b"\x00" in head:
        raise ChisoError(_("Evidence file {name} is refused: its content is not a {ext} file.").format(name=name, ext=ext))
    return mtype


def store(path: Path, name: str | None = None, *, where) -> Stored:
    """Check ``path`` and copy it into the evidence store; the stored content is the one hashed."""
    name = check_name(name if name is not None else path.name)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None
    if size > MAX_BYTES:
        raise ChisoError(_("Evidence file {name} is refused: {size} bytes, more than the limit of {limit} bytes (20 MB).").format(
            name=name, size=size, limit=MAX_BYTES))
    if size == 0:
        raise ChisoError(_("Evidence file {name} is refused: it is empty.").format(name=name))
    folder = store_dir(where)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as out:
            head = src.read(4096)
            mtype = media_type(name, head)
            chunk = head
            while chunk:
                written += len(chunk)
                if written > MAX_BYTES:  # the file grew while it was read
                    raise ChisoError(_("Evidence file {name} is refused: {size} bytes, more than the limit of {limit} bytes (20 MB).").format(
                        name=name, size=written, limit=MAX_BYTES))
                digest.update(chunk)
                out.write(chunk)
                chunk = src.read(1 << 20)
        sha = digest.hexdigest()
        target = folder / sha
        os.chmod(tmp, 0o444)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return Stored(name=name, size=written, media_type=mtype, sha256=sha)


def read(sha256: str, *, where) -> bytes:
    """The stored content, refused if it no longer matches its checksum."""
    path = blob_path(sha256, where=where)
    try:
        data = path.read_bytes()
    except OSError:
        raise ChisoError(_("Evidence file {sha} is missing from the store.").format(sha=sha256)) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ChisoError(_("Evidence file {sha} is damaged: its checksum no longer matches.").format(sha=sha256))
    return data
