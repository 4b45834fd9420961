"""The channel drivers (services/channels.py) against real local servers started here: a tiny SMTP
server (socketserver; aiosmtpd is not a dependency) and an HTTP gateway (http.server). Then the same
through the outbox: retry on 5xx / 4xx SMTP replies / timeouts, dead on a refusal."""
from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from eopen.extensions import db
from eopen.models import OutboxMessage, User
from eopen.services import notify, outbox
from eopen.services.channels import (DeliveryError, LogChannel, Message, SmtpChannel, WebhookChannel,
                                     channel_for)

T0 = datetime(2026, 3, 2, 8, 0, 0)


# --- a tiny SMTP server ----------------------------------------------------------------------------------


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.mails: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: list[str] = []  # e.g. ["451 4.3.0 try later"]: used up one per RCPT, then 250
        self.auth_seen: list[str] = []

    @property
    def port(self) -> int:
        return self.server_address[1]


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        server: SmtpServer = self.server
        self.reply("220 localhost test ESMTP")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-localhost\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 1000000\r\n")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH":
                server.auth_seen.append(command)
                self.reply("235 2.7.0 ok")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                if server.rcpt_replies:
                    self.reply(server.rcpt_replies.pop(0))
                else:
                    recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                server.mails.append((sender, recipients, b"".join(lines)))
                self.reply("250 2.0.0 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_smtp_driver_sends_a_real_mail(smtp_server):
    channel = SmtpChannel("127.0.0.1", smtp_server.port, sender="E-Open Bekasi <noreply@eopen.test>", user="eopen",
                          password="rahasia", timeout=5)
    body = "Halo Sari,\n\nPermohonan Anda \u201cditerima\u201d.\n.\nBaris yang diawali titik tetap utuh.\n"
    channel.send(Message(id=42, channel="email", address="sari@contoh.id", subject="E-Open: Permohonan diterima",
                         body=body))
    assert len(smtp_server.mails) == 1
    sender, recipients, raw = smtp_server.mails[0]
    assert (sender, recipients) == ("noreply@eopen.test", ["sari@contoh.id"])
    assert smtp_server.auth_seen and smtp_server.auth_seen[0].startswith("AUTH PLAIN")
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "E-Open: Permohonan diterima" and mail["To"] == "sari@contoh.id"
    assert mail["Message-ID"] == "<outbox-42@eopen.test>"  # the same on a retry
    assert mail.get_content().replace("\r\n", "\n") == body


def test_smtp_driver_errors(smtp_server):
    channel = SmtpChannel("127.0.0.1", smtp_server.port, sender="noreply@eopen.test", timeout=5)
    message = Message(id=1, channel="email", address="sari@contoh.id", subject="S", body="B")
    smtp_server.rcpt_replies = ["451 4.3.0 try again later"]
    with pytest.raises(DeliveryError) as error:
        channel.send(message)
    assert not error.value.permanent
    smtp_server.rcpt_replies = ["550 5.1.1 no such user"]
    with pytest.raises(DeliveryError) as error:
        channel.send(message)
    assert error.value.permanent
    with pytest.raises(DeliveryError) as error:
        channel.send(Message(id=2, channel="email", address="bukan-alamat", subject="S", body="B"))
    assert error.value.permanent
    assert smtp_server.mails == []


def test_smtp_driver_without_server_is_a_retry():
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        port = probe.server_address[1]  # closed again below: nothing listens there
    channel = SmtpChannel("127.0.0.1", port, sender="noreply@eopen.test", timeout=2)
    with pytest.raises(DeliveryError) as error:
        channel.send(Message(id=1, channel="email", address="a@b.id", subject="S", body="B"))
    assert not error.value.permanent


def test_email_through_the_outbox_and_smtp(app, make_resident, smtp_server):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_FROM="E-Open <noreply@eopen.test>")
    resident = make_resident(name="Sari Dewi")
    with app.app_context():
        user = db.session.get(User, resident)
        user.email = "sari@contoh.id"
        notify.notify(user, "halo_reply", params={"subject": "Kapan KTP saya jadi?", "by": "Petugas Kecamatan"},
                      now=T0)
        db.session.commit()
        assert isinstance(channel_for("email"), SmtpChannel)
        smtp_server.rcpt_replies = ["421 4.7.0 busy"]
        assert outbox.send_due(now=T0).retried == 1 and smtp_server.mails == []
        assert outbox.send_due(now=T0 + timedelta(minutes=1)).sent == 1
        message = db.session.scalar(select(OutboxMessage))
        assert (message.status, message.attempts) == ("sent", 2)
    assert len(smtp_server.mails) == 1
    mail = email.message_from_bytes(smtp_server.mails[0][2], policy=email.policy.default)
    assert mail["Subject"] == "E-Open: Balasan Halo Pamor"
    assert "Petugas Kecamatan membalas pesan Anda \u201cKapan KTP saya jadi?\u201d." in mail.get_content()


# --- a tiny HTTP gateway -------------------------------------------------------------------------------------


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.received: list[tuple[dict, dict]] = []  # (headers, json body)
        self.answers: list[int] = []  # status codes to answer, one per request; then 200
        self.delay = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/kirim"


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        server: Gateway = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.received.append((dict(self.headers), body))
        status = server.answers.pop(0) if server.answers else 200
        if server.delay:
            time.sleep(server.delay)
        payload = json.dumps({"ok": status < 300}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_webhook_driver_posts_json_with_the_token(gateway):
    channel = WebhookChannel("sms", gateway.url, token="s3cret", timeout=5)
    channel.send(Message(id=7, channel="sms", address="+6281234567801", subject=None, body="E-Open X: halo"))
    headers, body = gateway.received[0]
    assert body == {"to": "+6281234567801", "text": "E-Open X: halo", "channel": "sms"}
    assert headers["Authorization"] == "Bearer s3cret" and headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == "eopen-outbox-7"
    WebhookChannel("whatsapp", gateway.url).send(Message(id=8, channel="whatsapp", address="+62812", subject=None,
                                                         body="x"))
    headers, body = gateway.received[1]
    assert body["channel"] == "whatsapp" and "Authorization" not in headers


@pytest.mark.parametrize("status,permanent", [(500, False), (503, False), (429, False), (400, True), (404, True),
                                              (401, True)])
def test_webhook_driver_answers(gateway, status, permanent):
    gateway.answers = [status]
    with pytest.raises(DeliveryError) as error:
        WebhookChannel("sms", gateway.url, timeout=5).send(Message(id=1, channel="sms", address="+62812", subject=None,
                                                                   body="x"))
    assert error.value.permanent is permanent and str(status) in str(error.value)


def test_webhook_driver_timeout_is_a_retry(gateway):
    gateway.delay = 1.0
    with pytest.raises(DeliveryError) as error:
        WebhookChannel("sms", gateway.url, timeout=0.2).send(Message(id=1, channel="sms", address="+62812",
                                                                     subject=None, body="x"))
    assert not error.value.permanent


@pytest.fixture
def sms_user(app, make_resident):
    resident = make_resident(name="Sari Dewi", phone="+6281299990001")
    with app.app_context():
        notify.set_preferences(db.session.get(User, resident), {"sms": True})
        db.session.commit()
    return resident


def test_sms_through_the_outbox_retries_on_500_then_delivers(app, sms_user, gateway):
    app.config.update(SMS_WEBHOOK_URL=gateway.url, SMS_WEBHOOK_TOKEN="t0ken")
    gateway.answers = [500, 502]
    with app.app_context():
        notify.notify(db.session.get(User, sms_user), "halo_reply", params={"subject": "Tanya", "by": "Petugas"},
                      now=T0)
        db.session.commit()
        assert outbox.send_due(now=T0).retried == 1
        assert outbox.send_due(now=T0 + timedelta(minutes=1)).retried == 1
        assert outbox.send_due(now=T0 + timedelta(minutes=3)).sent == 1
        assert outbox.send_due(now=T0 + timedelta(hours=1)).total == 0
        message = db.session.scalar(select(OutboxMessage))
        assert (message.channel, message.status, message.attempts) == ("sms", "sent", 3)
    assert len(gateway.received) == 3
    bodies = {json.dumps(body) for _headers, body in gateway.received}
    assert len(bodies) == 1  # the same message every time
    body = gateway.received[-1][1]
    assert body["to"] == "+6281299990001" and body["channel"] == "sms" and len(body["text"]) <= 160


def test_sms_through_the_outbox_dead_on_400(app, sms_user, gateway):
    app.config.update(SMS_WEBHOOK_URL=gateway.url)
    gateway.answers = [400]
    with app.app_context():
        notify.notify(db.session.get(User, sms_user), "halo_reply", params={"subject": "Tanya", "by": "Petugas"},
                      now=T0)
        db.session.commit()
        assert outbox.send_due(now=T0).dead == 1
        assert outbox.send_due(now=T0 + timedelta(days=1)).total == 0
        message = db.session.scalar(select(OutboxMessage))
        assert (message.status, message.attempts) == ("dead", 1) and "HTTP 400" in message.last_error
    assert len(gateway.received) == 1


# --- the default: a log file -----------------------------------------------------------------------------------


def test_unconfigured_channels_write_to_the_log_file(app, tmp_path):
    app.instance_path = str(tmp_path)
    with app.app_context():
        for name in ("email", "sms", "whatsapp"):
            channel = channel_for(name)
            assert isinstance(channel, LogChannel) and channel.path == str(tmp_path / "outbox.log")
            channel.send(Message(id=1, channel=name, address="x", subject=None, body=f"teks {name} \u2013 ok"))
    lines = [json.loads(line) for line in (tmp_path / "outbox.log").read_text(encoding="utf-8").splitlines()]
    assert [(line["channel"], line["text"]) for line in lines] == [
        ("email", "teks email \u2013 ok"), ("sms", "teks sms \u2013 ok"), ("whatsapp", "teks whatsapp \u2013 ok")]
