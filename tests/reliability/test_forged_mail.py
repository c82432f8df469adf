"""A forged `Authentication-Results` at the SMTP port of a real `serve`, from a peer that is
not the office's relay: nothing is recorded and nothing is answered. The same header through
the relay (a peer in SMTP_TRUSTED_PEERS) records the update, so the peer really is kept
from the SMTP session to the parse of the stored copy."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

from reliability_harness import Served

RELAY = "127.0.0.2"  # Linux answers on the whole of 127/8: a second peer on one machine
AR = "Authentication-Results:"
FORGED = [
    f"{AR} mx.opcc.example; dmarc=pass header.from=example.org",
    f"{AR} MX.OPCC.EXAMPLE; dmarc=PASS header.from=example.org",
    "authentication-results: mx.opcc.example;\r\n\tdmarc=pass\r\n header.from=example.org",
    f"{AR} =?utf-8?q?mx.opcc.example=3B_dmarc=3Dpass_header.from=3Dexample.org?=",
    f"{AR} mx.opcc.example; dmarc=fail; dkim=pass header.d=example.org",
    f"{AR} mx.opcc.example; dmarc=pass header.from=example.org\r\n"
    f"{AR} mx.opcc.example; dmarc=fail header.from=example.org",
    f"{AR} mx.opcc.example; dkim=pass header.d=example.org",
    f"{AR} mx.opcc.example 1; dmarc=pass (p=reject) header.from=EXAMPLE.ORG",
]


def _message(header: str, i: int) -> bytes:
    return (
        f"{header}\r\nFrom: Alex Morgan <alex.morgan@example.org>\r\nTo: updates@localhost\r\n"
        f"Subject: CF-10 done\r\nMessage-ID: <forged-{i}@attacker.example>\r\n\r\n"
        "Completed, says nobody in particular.\r\n"
    ).encode()


def _send(port: int, raw: bytes, peer: str) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(peer, 0)) as client:
        client.ehlo("rel")
        client.mail("alex.morgan@example.org")
        assert client.rcpt("updates@localhost")[0] == 250
        return client.data(raw)[0]


def _settled(served: Served, n: int) -> list[tuple[str, str | None]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = served.query("SELECT state, peer FROM inbound ORDER BY id")
        if len(rows) == n and all(state != "pending" for state, _ in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"inbound not processed: {rows}")


def test_a_forged_relay_header_from_an_untrusted_peer_records_nothing(served: Served) -> None:
    served.env.update(MAIL_TRUSTED_RELAYS="mx.opcc.example", SMTP_TRUSTED_PEERS=RELAY)
    outbox = Path(served.env["OUTBOX_DIR"])
    served.start()
    before = served.query("SELECT COUNT(*) FROM updates")[0][0]
    codes = [_send(served.smtp, _message(h, i), "127.0.0.1") for i, h in enumerate(FORGED)]
    rows = _settled(served, len(FORGED))
    recorded = served.query("SELECT COUNT(*) FROM updates")[0][0] - before
    replies = list(outbox.glob("*.eml")) if outbox.exists() else []
    print(f"\nforged headers from an untrusted peer: {len(FORGED)} sent, {recorded} recorded")
    assert codes == [250] * len(FORGED)
    assert rows == [("update_refused", "127.0.0.1")] * len(FORGED)
    assert recorded == 0 and replies == []
    assert served.query("SELECT status FROM deliverables WHERE ref = 'CF-10'") == [("ongoing",)]

    # The office's relay, saying the same thing: believed.
    assert _send(served.smtp, _message(FORGED[0], 99), RELAY) == 250
    assert _settled(served, len(FORGED) + 1)[-1] == ("update", RELAY)
    assert served.query("SELECT COUNT(*) FROM updates")[0][0] == before + 1
    assert len(list(outbox.glob("*.eml"))) == 1  # the one proven sender is answered
    assert served.stop()[0] == 0
