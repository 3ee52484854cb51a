"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, keeping what it accepts."""

from __future__ import annotations

import email
import socket
from email.message import EmailMessage
from email.policy import default as default_policy


class Mailbox:
    """An SMTP handler that keeps what it accepts and can be told to refuse."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.transient_failures = 0  # the next N messages get "451 try again later"
        self.refused: set[str] = set()  # recipients refused for good (550)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.transient_failures > 0:
            self.transient_failures -= 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
