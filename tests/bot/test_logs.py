from __future__ import annotations

import logging

from bot.logs import RedactingFilter, redact


def test_tokens_are_redacted() -> None:
    assert "xoxb" not in redact("posting with xoxb-1234-abcd failed")
    assert "xapp-" not in redact("socket xapp-1-A0-123")
    assert redact("SLACK_SIGNING_SECRET=abc123") == "SLACK_SIGNING_SECRET=[redacted]"
    line = "RCPT TO:<update+CF-3+0123456789abcdef0123@localhost>"
    assert redact(line) == "RCPT TO:<update+CF-3+[redacted]@localhost>"


def test_filter_rewrites_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("xoxb-9-9",), None)
    RedactingFilter().filter(record)
    assert "xoxb" not in record.getMessage()
