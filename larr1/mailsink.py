"""A loopback SMTP server that keeps every message in a Maildir.

Development and tests send real SMTP to it; /dev/mail/ lists what it caught.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import mailbox
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)

RECEIVED_HEADER = "X-Larr1-Received"


class _MaildirHandler:
    def __init__(self, directory: Path):
        self.box = mailbox.Maildir(directory, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        message["X-Larr1-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        # The Date header has whole seconds only, so this header keeps the order of messages sent within one second.
        message[RECEIVED_HEADER] = datetime.now(UTC).isoformat()
        with self.lock:
            self.box.add(message.as_bytes())
        logger.info("Captured message", extra={"recipients": len(envelope.rcpt_tos)})
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class MailSink:
    """Start and stop the SMTP sink from Python (tests and the run command)."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 1025):
        self.directory = Path(directory)
        if port == 0:
            port = _free_port(host)
        self.controller = Controller(_MaildirHandler(self.directory), hostname=host, port=port)

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class CapturedMessage:
    key: str
    subject: str
    sender: str
    recipients: str
    date: datetime | None
    received: datetime | None
    message: email.message.EmailMessage

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def captured_messages(directory: Path) -> list[CapturedMessage]:
    """Return every message in the sink, newest first."""
    if not Path(directory, "cur").exists():
        return []
    box = mailbox.Maildir(directory, factory=None, create=False)
    messages = []
    for key in box.iterkeys():
        with box.get_file(key) as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        try:
            sent = parsedate_to_datetime(parsed["Date"]) if parsed["Date"] else None
        except (TypeError, ValueError):
            sent = None
        if sent is not None and sent.tzinfo is None:
            # A "-0000" zone (Django's default Date header) means UTC with no local offset known.
            sent = sent.replace(tzinfo=UTC)
        try:
            received = datetime.fromisoformat(str(parsed[RECEIVED_HEADER])) if parsed[RECEIVED_HEADER] else None
        except ValueError:
            received = None
        messages.append(
            CapturedMessage(
                key=key,
                subject=str(parsed["Subject"] or "").strip(),
                sender=str(parsed["From"] or ""),
                recipients=str(parsed["X-Larr1-Envelope-To"] or parsed["To"] or ""),
                date=sent,
                received=received or sent,
                message=parsed,
            )
        )
    messages.sort(key=lambda m: (m.received is not None, m.received), reverse=True)
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description="Capture mail sent to a loopback SMTP port.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    sink = MailSink(args.directory, port=args.port).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    logger.info("Mail sink listening on 127.0.0.1:%s", sink.port)
    stopped.wait()
    sink.stop()


if __name__ == "__main__":
    main()
