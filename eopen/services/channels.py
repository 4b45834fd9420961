"""Channels for notifications besides the in-app bell: one small interface, three drivers.

A channel has a ``name`` and ``send(message)``. ``send`` returns when the message was handed over and
raises ``DeliveryError`` otherwise: ``permanent=True`` when trying again cannot help (an address the
server refuses, a 4xx answer from a gateway), else the outbox tries again later. Any other exception
counts as temporary.

- ``SmtpChannel``: e-mail over SMTP (smtplib), optional STARTTLS and login (settings SMTP_*).
- ``WebhookChannel``: SMS or WhatsApp through an HTTP gateway: POST JSON ``{"to", "text", "channel"}``
  with an optional bearer token and an ``Idempotency-Key`` header (the outbox delivers at least once;
  a gateway may use the key to drop a repeat). 2xx: sent; 429, 5xx, timeouts, no connection: retry;
  any other 4xx: permanent.
- ``LogChannel``: appends one JSON line per message to instance/outbox.log. Every channel whose settings
  are empty uses it, so a fresh install sends nothing anywhere and loses nothing.

``channel_for(name)`` picks the driver from the app's configuration; ``NOTIFY_CHANNELS`` (a dict of
channel name → object with ``send``) overrides it, e.g. in tests.
"""
from __future__ import annotations

import json
import os
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol

from flask import current_app

from ..models import utcnow

CHANNELS = ("email", "sms", "whatsapp")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    """What a driver needs of an outbox row (a plain copy: drivers never touch the database)."""
    id: int
    channel: str
    address: str
    subject: str | None
    body: str


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class LogChannel:
    """Writes each message as one JSON line to a file (the default when a channel is not configured)."""
    _lock = threading.Lock()

    def __init__(self, path: str, name: str = "log"):
        self.path = path
        self.name = name

    def send(self, message: Message) -> None:
        line = json.dumps({"at": utcnow().isoformat(timespec="seconds") + "Z", "id": message.id,
                           "channel": message.channel, "to": message.address, "subject": message.subject,
                           "text": message.body}, ensure_ascii=False)
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as error:
            raise DeliveryError(f"cannot write {self.path}: {error}") from error


class SmtpChannel:
    name = "email"

    def __init__(self, host: str, port: int = 25, *, user: str = "", password: str = "", sender: str,
                 starttls: bool = False, timeout: float = 15):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.sender, self.starttls, self.timeout = sender, starttls, timeout
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "eopen.local"

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        # The same id on every attempt: a mail client shows a repeat (at-least-once) as one message.
        mail["Message-ID"] = f"<outbox-{message.id}@{self.domain}>"
        mail.set_content(message.body)
        return mail

    def send(self, message: Message) -> None:
        if "@" not in message.address:
            raise DeliveryError(f"not an e-mail address: {message.address!r}", permanent=True)
        mail = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            raise DeliveryError(f"recipient refused: {error.recipients}",
                                permanent=bool(codes) and all(500 <= code < 600 for code in codes)) from error
        except smtplib.SMTPDataError as error:
            raise DeliveryError(f"message refused: {error.smtp_code} {error.smtp_error!r}",
                                permanent=500 <= error.smtp_code < 600) from error
        except (smtplib.SMTPException, OSError) as error:  # no server, timeouts, 4xx, login: try again later
            raise DeliveryError(f"{type(error).__name__}: {error}") from error


class WebhookChannel:
    def __init__(self, name: str, url: str, *, token: str = "", timeout: float = 15):
        self.name, self.url, self.token, self.timeout = name, url, token, timeout

    def send(self, message: Message) -> None:
        payload = json.dumps({"to": message.address, "text": message.body, "channel": self.name}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"eopen-outbox-{message.id}",
                   "User-Agent": "E-Open Bekasi"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as error:
            status = error.code
            detail = error.read(200).decode("utf-8", "replace")
            error.close()
            permanent = 400 <= status < 500 and status not in (408, 429)
            raise DeliveryError(f"HTTP {status} {detail}".strip(), permanent=permanent) from error
        except (urllib.error.URLError, OSError) as error:  # refused, timeouts, DNS
            raise DeliveryError(f"{type(error).__name__}: {error}") from error
        if not 200 <= status < 300:  # e.g. a redirect urllib does not follow for POST
            raise DeliveryError(f"HTTP {status}")


def log_path() -> str:
    return current_app.config.get("OUTBOX_LOG") or os.path.join(current_app.instance_path, "outbox.log")


def channel_for(name: str) -> Channel:
    """The driver for channel ``name`` as configured (unknown names and empty settings: the log file)."""
    config = current_app.config
    override = (config.get("NOTIFY_CHANNELS") or {}).get(name)
    if override is not None:
        return override
    timeout = config.get("NOTIFY_TIMEOUT", 15)
    if name == "email" and config.get("SMTP_HOST"):
        return SmtpChannel(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), user=config.get("SMTP_USER", ""),
                           password=config.get("SMTP_PASSWORD", ""), sender=config["SMTP_FROM"],
                           starttls=bool(config.get("SMTP_STARTTLS")), timeout=timeout)
    if name in ("sms", "whatsapp") and config.get(f"{name.upper()}_WEBHOOK_URL"):
        return WebhookChannel(name, config[f"{name.upper()}_WEBHOOK_URL"],
                              token=config.get(f"{name.upper()}_WEBHOOK_TOKEN", ""), timeout=timeout)
    return LogChannel(log_path(), name)
