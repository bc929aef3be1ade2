"""Outgoing SMS and e-mail through a pluggable sender.

The embedded default is :class:`OutboxFileSender`: each message is appended as one JSON
line to ``<dir>/<channel>-outbox.jsonl`` for an operator (or a gateway script) to pick
up; its status is ``outbox``, never ``sent``. :class:`SmtpSender` and
:class:`HttpSmsSender` really hand messages over and report what the other side said.
"""

from __future__ import annotations

import json
import smtplib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Message:
    channel: str  # "sms" or "email"
    to: str
    body: str
    subject: str = ""
    ref: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: str  # "outbox" (written for pick-up), "sent" (accepted by the gateway/server) or "failed"
    detail: str = ""


class Sender(Protocol):
    def send(self, message: Message, *, now: datetime) -> Outcome: ...


class OutboxFileSender:
    """Writes messages to a local JSON-lines file; nothing leaves the machine."""

    _lock = threading.Lock()

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, channel: str) -> Path:
        return self.directory / f"{channel}-outbox.jsonl"

    def send(self, message: Message, *, now: datetime) -> Outcome:
        record = {
            "queued_at": now.isoformat(),
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "ref": message.ref,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path(message.channel).open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return Outcome("outbox", str(self.path(message.channel)))


class SmtpSender:
    def __init__(
        self, host: str, port: int, sender: str, username: str = "", password: str = "", tls: bool = True
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.tls = username, password, tls

    def send(self, message: Message, *, now: datetime) -> Outcome:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
                if self.tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome("failed", f"smtp: {exc}"[:500])
        return Outcome("sent", f"smtp {self.host}")


class HttpSmsSender:
    """Posts ``{"to", "body", "ref"}`` as JSON to an SMS gateway with a bearer token."""

    def __init__(self, url: str, token: str = "", client: httpx.Client | None = None) -> None:
        self.url, self.token = url, token
        self.client = client or httpx.Client(timeout=20)

    def send(self, message: Message, *, now: datetime) -> Outcome:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.client.post(
                self.url, json={"to": message.to, "body": message.body, "ref": message.ref}, headers=headers
            )
        except httpx.HTTPError as exc:
            return Outcome("failed", f"gateway: {exc}"[:500])
        if response.is_success:
            return Outcome("sent", response.text[:500])
        return Outcome("failed", f"gateway answered {response.status_code}: {response.text[:400]}")


@dataclass(frozen=True)
class Senders:
    """The sender per channel ("sms", "email")."""

    by_channel: dict[str, Sender]

    def for_channel(self, channel: str) -> Sender:
        return self.by_channel[channel]

    @classmethod
    def outbox(cls, directory: Path) -> Senders:
        sender = OutboxFileSender(directory)
        return cls({"sms": sender, "email": sender})
