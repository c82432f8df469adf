"""Pure functions that read email: noise, forwarded originals, categories, quoted text.

No I/O here: everything takes a parsed message or text and returns plain data, so each
rule is easy to test on its own. MIME parsing is the standard library's ``email`` package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from dateutil import parser as dateparser

from handlers.mail.message import ParsedMessage, parse_message
from store import CORRESPONDENCE_CATEGORIES

__all__ = [
    "Original",
    "category_for",
    "extract_original",
    "header",
    "keyed_hash",
    "message_id_of",
    "noise_reason",
    "normalise_subject",
    "parse_message",
    "sender_address",
    "strip_quoted",
    "strip_subject_prefixes",
    "text_body",
    "unreadable_reason",
]

CATEGORIES = CORRESPONDENCE_CATEGORIES  # one list, kept in the domain model
MAX_BODY_CHARS = 200_000


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID from the raw header block, lower-cased, without parsing the message
    (cheap enough to run before ``250``)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:65536]
    m = re.search(rb"(?im)^message-id:\s*(<[^<>\s]+>)", head)
    return m.group(1).decode("ascii", "replace").lower() if m else None


def header(msg: Message, name: str) -> str:
    """A header as text, however broken its encoding; '' when absent (read once per
    parsed message)."""
    memo = msg._memo if isinstance(msg, ParsedMessage) else None
    if memo is not None:
        found = memo.get(name.lower())
        if found is None:
            found = memo[name.lower()] = _header(msg, name)
        return str(found)
    return _header(msg, name)


_SPACE = re.compile(r"\s+")


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        value = None
        raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
        if raw:
            value = str(raw[0])
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip()


def sender_address(msg: Message, name: str = "From") -> str:
    """The bare address of a header, lower-cased; '' when there is none."""
    text = header(msg, name)
    try:
        pairs = getaddresses([text])
    except Exception:
        pairs = [parseaddr(text)]
    for _, addr in pairs:
        if "@" in addr:
            return addr.strip().lower()
    return ""


def domain_of(address: str) -> str | None:
    return address.rsplit("@", 1)[1].lower() if "@" in address else None


# Replacement characters and control characters other than tab, CR, LF and form feed.
_JUNK = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f]")


# Postfix's header_size_limit: a header field longer than this is not mail a person wrote,
# and decoding one costs time that grows with the square of its length (a 209 KB Subject of
# encoded words took 1.6 s). The raw values are measured, never decoded.
MAX_HEADER_CHARS = 102_400
MAX_HEADERS_CHARS = 1_048_576


def unreadable_reason(msg: Message) -> str | None:
    """Why a message cannot be correspondence: a header too long to read, no header any mail
    program writes, or a body that is binary rather than text. ``None`` for a readable one."""
    total = 0
    for name, value in msg.raw_items():
        size = len(name) + len(value)
        total += size
        if size > MAX_HEADER_CHARS:
            return (
                f"a {name[:40]} header of {size:,} characters (the limit is {MAX_HEADER_CHARS:,})"
            )
        if total > MAX_HEADERS_CHARS:
            return f"headers of over {MAX_HEADERS_CHARS:,} characters"
    if not any(header(msg, h) for h in ("From", "Subject", "Date", "Message-ID", "To")):
        return "no From, Subject, Date, Message-ID or To header: not a mail message"
    body = text_body(msg)
    if body:
        sample = body[:20000]
        junk = len(_JUNK.findall(sample))
        if junk > max(8, len(sample) // 20):
            return "the body is binary, not text"
    return None


# -- noise --------------------------------------------------------------------------

_BULK = {"bulk", "list", "junk", "auto_reply"}


def noise_reason(msg: Message, mail_from: str | None) -> str | None:
    """Why this message must not be counted or answered (auto-replies, bounces, lists)."""
    # None means "no envelope" (a backfilled export); "" is SMTP's null sender <>.
    if mail_from is not None and mail_from.strip("<> ") == "":
        return "bounce (null sender)"
    auto = header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = header(msg, "Precedence").lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    if header(msg, "X-Auto-Response-Suppress"):
        return "X-Auto-Response-Suppress"
    if header(msg, "List-Id"):
        return "mailing list (List-Id)"
    ctype = msg.get_content_type()
    if ctype == "multipart/report":
        report = str(msg.get_param("report-type") or "report")
        return f"{report} report"
    for part in msg.walk():
        if part.get_content_type() in (
            "message/delivery-status",
            "message/disposition-notification",
        ):
            return part.get_content_type()
    local = sender_address(msg).split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster", "mail-daemon"):
        return f"bounce ({local})"
    if header(msg, "Disposition-Notification-To") and "read" in header(msg, "Subject").lower():
        return "read receipt"
    return None


# -- bodies ---------------------------------------------------------------------------


class _HTMLText:
    @staticmethod
    def convert(markup: str) -> str:
        markup = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
        markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>|</h\d>", "\n", markup)
        text = re.sub(r"<[^>]+>", "", markup)
        return html.unescape(text)


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        return str(content)
    except Exception:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload.decode(charset, "replace")
            except LookupError:
                return payload.decode("utf-8", "replace")
        return str(part.get_payload() or "")


def text_body(msg: Message) -> str:
    """The readable text of a message: text/plain first, else text/html as text.

    Parts inside attached messages (message/rfc822) are not this message's body. Read
    once per parsed message.
    """
    memo = msg._memo if isinstance(msg, ParsedMessage) else None
    if memo is None:
        return _text_body(msg)
    found = memo.get("\0body")
    if found is None:
        found = memo["\0body"] = _text_body(msg)
    return str(found)


def _text_body(msg: Message) -> str:
    plain: list[str] = []
    htmls: list[str] = []

    def visit(part: Message) -> None:
        if part.get_content_maintype() == "multipart":
            sub = part.get_payload()
            if isinstance(sub, list):
                for p in sub:
                    if isinstance(p, Message):
                        visit(p)
            return
        if part.get_content_type() == "message/rfc822":
            return
        disposition = (part.get_content_disposition() or "").lower()
        if disposition == "attachment":
            return
        if part.get_content_type() == "text/plain":
            plain.append(_decoded(part))
        elif part.get_content_type() == "text/html":
            htmls.append(_HTMLText.convert(_decoded(part)))

    visit(msg)
    text = "\n".join(plain) if plain else "\n".join(htmls)
    return text.replace("\r\n", "\n")[:MAX_BODY_CHARS]


_QUOTE_HEADERS = [
    re.compile(r"^On .{3,200}wrote:\s*$", re.MULTILINE | re.DOTALL),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^_{10,}\s*$", re.MULTILINE),
    re.compile(r"^From: .+\n(?:Sent|Date): .+", re.MULTILINE),
]
_SIGNATURES = [
    re.compile(r"^-- ?$", re.MULTILINE),
    re.compile(r"^Sent from my \w+.*$", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^Get Outlook for \w+.*$", re.MULTILINE | re.IGNORECASE),
]


def strip_quoted(body: str) -> str:
    """The new text of a reply: no quoted history, no signature."""
    cut = len(body)
    for pattern in _QUOTE_HEADERS + _SIGNATURES:
        m = pattern.search(body)
        if m:
            cut = min(cut, m.start())
    text = body[:cut]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- forwarded originals ----------------------------------------------------------------


@dataclass(frozen=True)
class Original:
    """The piece of correspondence inside a forward."""

    sender: str  # address, lower-case ('' when the forward did not show one)
    date: dt.datetime | None
    subject: str
    body: str
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()


_MARKERS = [
    re.compile(r"^-{5,}\s*Forwarded message\s*-{5,}\s*$", re.MULTILINE | re.IGNORECASE),  # Gmail
    re.compile(r"^-{5,}\s*Original Message\s*-{5,}\s*$", re.MULTILINE | re.IGNORECASE),  # Outlook
    re.compile(r"^Begin forwarded message:\s*$", re.MULTILINE | re.IGNORECASE),  # Apple Mail
    re.compile(
        r"^-{5,}\s*Forwarded Message\s*-{5,}\s*$", re.MULTILINE | re.IGNORECASE
    ),  # Thunderbird
    re.compile(r"^_{10,}\s*\n(?=From: )", re.MULTILINE),  # Outlook without a marker line
]
_FIELD = re.compile(r"^\s*>?\s*(From|Sent|Date|To|Cc|Subject|Reply-To)\s*:\s*(.*)$", re.IGNORECASE)


def _parse_loose_date(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    if re.match(r"^(\w{3},\s*)?\d{1,2}\s+\w{3}\s+\d{4}\s+\d{1,2}:\d{2}", text):
        try:
            return parsedate_to_datetime(text)  # RFC 5322: "Mon, 5 Sep 2022 10:12:00 +0100"
        except (TypeError, ValueError, IndexError):
            pass
    cleaned = re.sub(r"\bat\b", " ", text)
    cleaned = re.sub(
        r"\b(BST|GMT|UTC)\b", lambda m: "+0100" if m.group(1) == "BST" else "+0000", cleaned
    )
    try:
        parsed: dt.datetime | None = dateparser.parse(cleaned, fuzzy=True, dayfirst=True)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed


def _inline_original(body: str) -> Original | None:
    first: re.Match[str] | None = None
    for pattern in _MARKERS:
        m = pattern.search(body)
        if m and (first is None or m.start() < first.start()):
            first = m
    if first is None:
        return None
    rest = body[first.end() :].lstrip("\n")
    fields: dict[str, str] = {}
    lines = rest.splitlines()
    i = 0
    while i < len(lines) and (not fields or lines[i].strip()):
        m = _FIELD.match(lines[i])
        if m:
            key = m.group(1).lower()
            value = m.group(2).strip()
            # Folded continuation lines (long subjects, many recipients).
            while (
                i + 1 < len(lines) and lines[i + 1].startswith((" ", "\t")) and lines[i + 1].strip()
            ):
                i += 1
                value += " " + lines[i].strip()
            fields.setdefault("date" if key == "sent" else key, value)
        elif fields or lines[i].strip():
            break
        i += 1
    if "from" not in fields:
        return None
    sender = sender_address(_header_message("From", fields["from"]))
    original_body = "\n".join(lines[i:]).strip()
    return Original(
        sender=sender,
        date=_parse_loose_date(fields.get("date", "")),
        subject=fields.get("subject", ""),
        body=original_body,
    )


def _header_message(name: str, value: str) -> Message:
    m = Message()
    m[name] = value.replace("mailto:", "")
    return m


def _attached_original(msg: Message) -> Original | None:
    for part in msg.walk():
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            continue
        date = None
        date_text = header(inner, "Date")
        if date_text:
            date = _parse_loose_date(date_text)
        refs = tuple(
            re.findall(
                r"<[^<>\s]+>", header(inner, "In-Reply-To") + " " + header(inner, "References")
            )
        )
        return Original(
            sender=sender_address(inner),
            date=date,
            subject=header(inner, "Subject"),
            body=text_body(inner),
            message_id=_message_id(header(inner, "Message-ID")),
            in_reply_to=refs,
        )
    return None


def _message_id(text: str) -> str | None:
    m = re.search(r"<[^<>\s]+>", text)
    return m.group(0).lower() if m else None


def extract_original(msg: Message) -> Original | None:
    """The original inside a forward: an attached message/rfc822, or an inline forward."""
    attached = _attached_original(msg)
    if attached is not None:
        return attached
    inline = _inline_original(text_body(msg))
    if inline is None:
        return None
    forwarded_id = _message_id(header(msg, "X-Forwarded-Message-Id"))
    if forwarded_id:
        inline = Original(inline.sender, inline.date, inline.subject, inline.body, forwarded_id)
    return inline


# -- keys, categories, privacy -----------------------------------------------------------

_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def strip_subject_prefixes(subject: str) -> str:
    """The subject without its Re:/Fwd:/AW:/WG:/TR: prefixes (however many, in any case)."""
    return _SUBJECT_PREFIX.sub("", subject or "").strip()


def normalise_subject(subject: str) -> str:
    """Without Re:/Fwd: prefixes or [category] tags, folded to lower case."""
    subject = strip_subject_prefixes(subject)
    subject = re.sub(r"\[[a-z]+\]", "", subject, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", subject).strip().lower()


def content_key(original: Original) -> str:
    """The dedup key when there is no Message-ID: a hash of who, when, what and the text."""
    day = original.date.date().isoformat() if original.date else ""
    body = re.sub(r"\s+", " ", strip_quoted(original.body)).strip().lower()[:2000]
    basis = "\x1f".join([original.sender, day, normalise_subject(original.subject), body])
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def keyed_hash(key: bytes, address: str) -> str:
    """HMAC of an address: repeat correspondents can be counted without keeping who they are."""
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def parse_category_rules(text: str) -> list[tuple[str, str]]:
    """``parliament.uk=mp, *.gov.uk=partner`` → ``[("parliament.uk", "mp"), ...]``."""
    rules = []
    for item in re.split(r"[,;\s]+", text or ""):
        if not item:
            continue
        pattern, sep, category = item.partition("=")
        if not sep or not pattern.strip() or category.strip().lower() not in CATEGORIES:
            raise ValueError(
                f"{item!r}: write domain=category, category one of {', '.join(CATEGORIES)}"
            )
        rules.append((pattern.strip().lower(), category.strip().lower()))
    return rules


def _domain_matches(pattern: str, domain: str) -> bool:
    if pattern.startswith("*."):
        return domain == pattern[2:] or domain.endswith(pattern[1:])
    return domain == pattern or domain.endswith("." + pattern)


def category_for(
    *,
    plus: str | None,
    subject: str,
    sender_domain: str | None,
    rules: list[tuple[str, str]],
) -> str:
    """Plus address, then a [tag] in the subject, then sender-domain rules, else public."""
    if plus and plus.lower() in CATEGORIES:
        return plus.lower()
    tags: list[str] = re.findall(r"\[([A-Za-z]+)\]", subject or "")
    for tag in tags:
        if tag.lower() in CATEGORIES:
            return tag.lower()
    if sender_domain:
        for pattern, category in rules:
            if _domain_matches(pattern, sender_domain):
                return category
    return "public"


def reference_ids(msg: Message) -> list[str]:
    text = header(msg, "In-Reply-To") + " " + header(msg, "References")
    return [m.lower() for m in re.findall(r"<[^<>\s]+>", text)]


def message_date(msg: Message) -> dt.datetime | None:
    return _parse_loose_date(header(msg, "Date"))
