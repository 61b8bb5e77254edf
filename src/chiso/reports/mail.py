"""E-mail with attachments through the SMTP server of the settings (the same settings as the
reminder digests: ``smtp_host``, ``smtp_port``, ``smtp_from``, ``smtp_user``,
``smtp_password``, ``smtp_starttls``)."""

from __future__ import annotations

from typing import Sequence

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.notify import send


def send_with_attachments(*, to: Sequence[str], subject: str, body: str,
                          attachments: Sequence[tuple[str, bytes, str]]) -> None:
    """One message to every address of ``to`` with ``attachments`` as (file name, content,
    media type). Raises :class:`ChisoError` when no SMTP server is set, and the SMTP or network
    error on any failure to send."""
    if not settings.get("smtp_host").strip():
        raise ChisoError(_("No SMTP server is set (setting smtp_host): reports cannot be e-mailed."))
    recipients = [a.strip() for a in to if a and a.strip()]
    if not recipients:
        raise ChisoError(_("No recipient to send the report to."))
    send.send_email(to=recipients, subject=subject, body=body, attachments=attachments)
