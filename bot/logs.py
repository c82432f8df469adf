"""Logging set-up with a filter that redacts anything that looks like a secret."""

from __future__ import annotations

import logging
import re
import sys

from aiohttp.http_exceptions import HttpProcessingError

from handlers.outside import ReasonLog

__all__ = ["MalformedHttpFilter", "RedactingFilter", "redact", "setup_logging"]

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),  # Slack bot/user tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"(?<=\+)[0-9a-fA-F]{20}(?=[+@])"),  # personal mail codes: updates+<code>@
    re.compile(r"(?i)(signing[_ ]secret|password|token|secret)(\s*[=:]\s*)(\S+)"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # OAuth (JWT) tokens
    re.compile(r"(?i)(bearer)(\s+)([A-Za-z0-9._~+/=-]{8,})"),  # ... and any bearer token
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


class MalformedHttpFilter(logging.Filter):
    """For the ``aiohttp.server`` logger: aiohttp logs a traceback for every malformed HTTP
    request (a bad request line, header or length), which anyone can send; count those in
    ``counter`` instead (one line a minute per kind). Our own errors keep their traceback."""

    def __init__(self, counter: ReasonLog) -> None:
        super().__init__()
        self.counter = counter

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            self.counter.note(f"malformed HTTP ({type(error).__name__})")
            return False
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that are chatty at INFO.
    # imapclient logs the whole IMAP conversation at DEBUG (sign-in and correspondence
    # included), msal its token requests: never, whatever LOG_LEVEL says.
    for name in ("apscheduler", "aiohttp.access", "mail.log", "imapclient", "msal"):
        logging.getLogger(name).setLevel(logging.WARNING)
