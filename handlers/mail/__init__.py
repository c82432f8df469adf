"""Everything mail: the room of the mail channel.

- ``smtp``: aiosmtpd's protocol and a thin handler (checks at RCPT, bytes to the worker);
- ``inbound``: the transport-neutral worker, ``submit(raw, envelope)``, then parsing from
  the stored copy; ``intake``: its group commit and parse queue; ``analysis``: what
  parsing finds, as pure data; ``pool``: the processes that parse;
- ``process``: routing a stored message and counting, answering or quarantining it;
  ``parse``: MIME (pure); ``updates``: updates by mail; ``trust``: who sent it, proven;
  ``policy``: what the mail side needs from the settings, and the auto-reply;
- ``outgoing``: mail out, through the relay or to the outbox; ``digest``: the digest email.

Nothing outside this package imports ``aiosmtpd`` or ``aiosmtplib``
(``tests/test_layout.py``).
"""

from handlers.mail.digest import digest_email
from handlers.mail.inbound import Envelope, InboundWorker, SendMail
from handlers.mail.intake import GroupCommit
from handlers.mail.notifier import MailNotifier
from handlers.mail.outgoing import Mailer
from handlers.mail.parse import parse_category_rules
from handlers.mail.policy import MailPolicy, ProcessResult
from handlers.mail.pool import ParsePool
from handlers.mail.process import (
    LOCAL_PARTS,
    REVIEW_STATES,
    accept_message,
    classify_address,
    process_inbound,
)
from handlers.mail.smtp import DeliverabotSMTP, MailHandler

__all__ = [
    "LOCAL_PARTS",
    "REVIEW_STATES",
    "DeliverabotSMTP",
    "Envelope",
    "GroupCommit",
    "InboundWorker",
    "MailHandler",
    "MailNotifier",
    "MailPolicy",
    "Mailer",
    "ParsePool",
    "ProcessResult",
    "SendMail",
    "accept_message",
    "classify_address",
    "digest_email",
    "parse_category_rules",
    "process_inbound",
]
