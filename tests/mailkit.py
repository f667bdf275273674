"""Real receivers for the `notify` tests: an SMTP server (aiosmtpd) and an HTTP webhook
(http.server), each on a loopback port of its own, in a thread, started and stopped by the test.

    with smtp_server() as server:       # server.messages: every accepted e-mail, parsed
        ...
    with webhook_server() as hook:      # hook.posts: every accepted JSON body; hook.url
        ...

Each can refuse: `server.refuse_next = 1` answers the next DATA with 451 (try again later);
`hook.answers = [500]` answers the next POST with HTTP 500 (and `[302]` with a redirect).
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_next: int = 0  # answer this many DATA commands with 451
    logins: list[str] = field(default_factory=list)
    tls_sessions: int = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True)
                if address in rcpts]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        if self.server.refuse_next > 0:
            self.server.refuse_next -= 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.server.messages.append(message)
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if session.ssl is not None:
            self.server.tls_sessions += 1
        return "250 OK"


@contextmanager
def smtp_server(tls: ssl.SSLContext | None = None,
                users: dict[str, str] | None = None) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1; with `tls`, it offers STARTTLS; with `users`, it takes AUTH
    (over TLS only, aiosmtpd's default)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer("127.0.0.1", free_port())

    def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and users is not None:
            user, password = data.login.decode(), data.password.decode()
            if users.get(user) == password:
                server.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    options: dict[str, Any] = {}
    if tls is not None:
        options["tls_context"] = tls
    if users is not None:
        options["authenticator"] = authenticate
    controller = Controller(_Handler(server), hostname=server.host, port=server.port,
                            **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 and localhost (openssl), and a server context holding it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command (apt-get install openssl)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@dataclass
class Webhook:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # the next answers, then 200


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/hooks/T000/B000/secret")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = hook.answers.pop(0) if hook.answers else 200
            if answer == 200:
                assert self.headers["Content-Type"].startswith("application/json")
                hook.posts.append(json.loads(body.decode("utf-8")))
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
