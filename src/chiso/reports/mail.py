"""E-mail with attachments through the SMTP server of the settings (the same settings as the
reminder digests: ``smtp_host``, ``smtp_port``, ``smtp_from``, ``smtp_user``,
``smtp_password``, ``smtp_starttls``)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Sequence

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _


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
    msg = EmailMessage()
    msg["From"] = settings.get("smtp_from")
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    for name, data, media_type in attachments:
        maintype, _sep, subtype = media_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    with smtplib.SMTP(settings.get("smtp_host"), int(settings.get("smtp_port")), timeout=60) as smtp:
        if settings.get("smtp_starttls").strip().lower() in ("1", "true", "yes", "on"):
            smtp.starttls()
        user = settings.get("smtp_user")
        if user:
            smtp.login(user, settings.get("smtp_password"))
        smtp.send_message(msg, to_addrs=recipients)
