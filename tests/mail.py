"""A real SMTP server for tests (aiosmtpd on a free loopback port) and its inbox."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes
from email import policy as email_policy
from typing import Iterator

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the server received: (recipients, message) pairs, parsed with ``policy``."""

    def __init__(self, policy=email_policy.compat32) -> None:
        self.policy = policy
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=self.policy)
        with self.lock:
            self.messages.append((tuple(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, addr: str) -> list:
        return [m for rcpt, m in self.messages if addr in rcpt]

    def clear(self) -> None:
        self.messages.clear()


@contextmanager
def smtp_server(monkeypatch, policy=email_policy.compat32) -> Iterator[Inbox]:
    """Start a server and point chiso's SMTP settings at it."""
    inbox = Inbox(policy)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CHISO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHISO_SMTP_PORT", str(port))
    monkeypatch.setenv("CHISO_SMTP_FROM", "chiso@tinh.test")
    try:
        yield inbox
    finally:
        controller.stop()
