"""Input from outside is counted: the first of each reason at once, then one line a minute."""

from __future__ import annotations

import logging

import pytest

from handlers.outside import ReasonLog


def test_one_line_per_reason_per_minute_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    counter = ReasonLog(logging.getLogger("t"), "refused", clock=lambda: now[0])
    with caplog.at_level(logging.INFO):
        for _ in range(1000):
            counter.note("no signature", detail="x" * 500)
            counter.note("bad signature")
            now[0] += 0.05  # 20 a second each, for 50 s
        assert len(caplog.records) == 2  # the first of each reason
        assert len(caplog.records[0].getMessage()) < 250  # the detail is shortened
        now[0] += 15
        counter.note("no signature")
        assert caplog.records[-1].getMessage() == "refused: no signature; 1000 since the last line"
        counter.flush()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[-1] == "refused: bad signature; 999 since the last line"
    assert counter.total == 2001
