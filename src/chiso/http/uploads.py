"""Uploaded files: copied to a private temporary place under a fixed name, within a size
limit, and the client's file name made safe to keep for display."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fastapi import UploadFile

from chiso.errors import ChisoError
from chiso.i18n import _


def clean_filename(name: str | None, default: str = "upload") -> str:
    """A client's file name made safe to keep for display: its last path part only, without
    control or format characters, NFC, at most 200 characters; never ``.`` or ``..``."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").split("/")[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))
    text = text.strip().lstrip(".").strip()
    if len(text) > 200:
        stem, ext = os.path.splitext(text)
        text = stem[: 200 - len(ext[:20])] + ext[:20]
    return text or default


@contextmanager
def saved_upload(upload: UploadFile, *, limit: int) -> Iterator[Path]:
    """The uploaded file copied into a private temporary folder (under a fixed name: the
    client's name never becomes a path), refused above ``limit`` bytes; removed after."""
    with tempfile.TemporaryDirectory(prefix="chiso-upload-") as tmp:
        path = Path(tmp) / "upload"
        written = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ChisoError(_("The file is larger than the limit of {mb} MB.").format(mb=limit // (1024 * 1024)))
                out.write(chunk)
        yield path
