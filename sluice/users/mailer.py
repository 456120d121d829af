"""Outgoing email for the dashboard (password resets, invitations), behind one small interface.

The default prints the message on the process's standard output (development: `sluice dev` shows
the link in its terminal); an operator plugs in SMTP or a provider by setting `app.state.mailer`
to anything with the `Mailer` shape. Messages carry secrets (links), so they are never logged.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, message: Message) -> None: ...


class ConsoleMailer:
    """Writes each message to stdout; for development and the dev stack."""

    async def send(self, message: Message) -> None:
        sys.stdout.write(f"\n--- email to {message.to}: {message.subject}\n{message.body}\n---\n")
        sys.stdout.flush()


@dataclass
class MemoryMailer:
    """Keeps messages in a list; for tests and embedding."""

    outbox: list[Message] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.outbox.append(message)
