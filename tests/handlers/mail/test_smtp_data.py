"""DATA as the stream carries it: read up to each ``.<CRLF>``, not line by line, with the
same result as a reader that takes one line at a time (RFC 5321 4.5.2's transparency)."""

from __future__ import annotations

import asyncio
import io
import random
from typing import Any

import pytest

from handlers.mail.smtp import READ_LIMIT, DeliverabotSMTP


def _by_lines(stream: bytes) -> tuple[bytes, bytes]:
    """The data and what follows it, one CRLF-ended line at a time (the reference)."""
    out, at, line_start = bytearray(), 0, True
    while True:
        end = stream.find(b"\r\n", at)
        line = stream[at : end + 2]
        at = end + 2
        if line_start and line == b".\r\n":
            return bytes(out), stream[at:]
        out += line[1:] if line_start and line.startswith(b".") else line
        line_start = True


class _Session:
    """Just what ``_read_data`` uses of a session: a reader, a limit, a transport."""

    def __init__(self, reader: asyncio.StreamReader, limit: int | None) -> None:
        self._reader = reader
        self.data_size_limit = limit
        self.transport: Any = object()
        self.peer = None


async def _read(
    stream: bytes, *, chunk: int, limit: int | None = None
) -> tuple[bytes, bool, bytes]:
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    for k in range(0, len(stream), chunk):
        reader.feed_data(stream[k : k + chunk])
    reader.feed_eof()
    spool = io.BytesIO()
    kept = await DeliverabotSMTP._read_data(_Session(reader, limit), spool)  # type: ignore[arg-type]
    return spool.getvalue(), kept, await reader.read()


CASES = [
    b".\r\n",  # an empty message
    b"Subject: x\r\n\r\n.\r\n",
    b"Subject: x\r\n\r\nEnd of a sentence.\r\nAnd.\r\n.\r\n",
    b"..\r\n.\r\n",  # a line that is one dot
    b"...leading dots\r\n..\r\n. not the end\r\n.\r\n",
    b"bare\nline.\r\n.\n.\r\nstill data\r\n.\r\n",  # "\n.\r\n" does not end the data
    b"x.\r\n\r\n.\r\n",
    b"a\r\n.\r\nQUIT\r\n",  # the next command stays in the stream
]


@pytest.mark.parametrize("stream", CASES)
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 4096])
async def test_data_is_read_as_line_by_line_reading_reads_it(stream: bytes, chunk: int) -> None:
    data, kept, rest = await _read(stream, chunk=chunk)
    assert kept
    assert (data, rest) == _by_lines(stream)


async def test_long_lines_and_random_dots_across_the_read_limit() -> None:
    rng = random.Random(20)
    for _ in range(40):
        lines = []
        for _ in range(rng.randint(1, 40)):
            size = rng.choice([0, 1, 2, 5, 80, READ_LIMIT - 2, READ_LIMIT, READ_LIMIT + 3])
            body = bytes(rng.choice(b"ab.\n\r") for _ in range(min(size, 300)))
            body = (body * (size // max(1, len(body)) + 1))[:size].replace(b"\r\n", b"\n\n")
            lines.append(body.rstrip(b"\r") + b"\r\n")
        stream = b"".join(lines) + b".\r\nNOOP\r\n"
        expected = _by_lines(stream)
        data, kept, rest = await _read(stream, chunk=rng.choice([1000, 65536, 200_000]))
        assert kept and (data, rest) == expected


async def test_data_past_the_size_limit_is_read_to_the_end_and_not_kept() -> None:
    stream = b"x" * 5000 + b"\r\n" + b"y.\r\n" * 100 + b".\r\nQUIT\r\n"
    data, kept, rest = await _read(stream, chunk=512, limit=4000)
    assert not kept and rest == b"QUIT\r\n"
    data, kept, rest = await _read(stream, chunk=512, limit=len(stream) - 9)
    assert kept and data == _by_lines(stream)[0]
