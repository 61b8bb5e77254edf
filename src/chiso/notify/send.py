"""The two channels: e-mail through the SMTP server of the settings, and a JSON webhook."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Sequence

from chiso import settings


def smtp_configured() -> bool:
    return bool(settings.get("smtp_host").strip())


def webhook_configured() -> bool:
    return bool(settings.get("webhook_url").strip())


def send_email(*, to: str | Sequence[str], subject: str, body: str,
               attachments: Sequence[tuple[str, bytes, str]] = ()) -> None:
    """Send one plain-text message to one address or several, with ``attachments`` as
    (file name, content, media type); raises on any SMTP or network error."""
    recipients = [to] if isinstance(to, str) else [a for a in to if a]
    msg = EmailMessage()
    msg["From"] = settings.get("smtp_from")
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    for name, data, media_type in attachments:
        maintype, _sep, subtype = media_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    port = int(settings.get("smtp_port"))
    with smtplib.SMTP(settings.get("smtp_host"), port, timeout=60) as smtp:
        if settings.get("smtp_starttls").strip().lower() in ("1", "true", "yes", "on"):
            smtp.starttls()
        user = settings.get("smtp_user")
        if user:
            smtp.login(user, settings.get("smtp_password"))
        smtp.send_message(msg, to_addrs=recipients)


def post_webhook(payload: dict, url: str | None = None) -> None:
    """POST ``payload`` as JSON; raises unless the answer is 2xx."""
    req = urllib.request.Request(
        url or settings.get("webhook_url"), data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 (URL from the settings)
        if not 200 <= resp.status < 300:
            raise OSError(f"webhook answered HTTP {resp.status}")
