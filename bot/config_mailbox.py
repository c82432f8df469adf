"""Settings of the office's own mailbox (``MAILBOX_*``) and of STARTTLS on the SMTP port,
parsed from the mapping :func:`bot.config.load_settings` reads."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config_base import ConfigError, _bool, _file, _int, _opt
from store import CORRESPONDENCE_CATEGORIES, Office

OUTLOOK_SCOPE = "https://outlook.office365.com/.default"

__all__ = ["MailboxSettings", "SmtpTls"]


@dataclass(frozen=True)
class MailboxSettings:
    """The office's own mailbox, read over IMAP (``MAILBOX_*``)."""

    host: str
    port: int
    tls: str  # imaps | starttls | plain (this machine only)
    user: str
    folders: tuple[tuple[str, str], ...]  # (folder, local part: correspondence[+cat] | updates)
    since: dt.date
    auth: str = "password"  # password | xoauth2
    password: str | None = field(default=None, repr=False)
    tenant: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_cert: Path | None = None
    authority: str = "https://login.microsoftonline.com"
    scope: str = "https://outlook.office365.com/.default"
    after: str = "move"  # move | seen
    processed_folder: str = "Processed"
    stale_minutes: int = 30
    poll_seconds: int = 60
    ca_file: Path | None = None
    api: str = "imap"  # imap | graph (then host is Graph's base URL)

    def describe(self) -> str:
        folders = ", ".join(f for f, _ in self.folders)
        where = self.host if self.api == "graph" else f"{self.host}:{self.port}"
        return f"{self.user} at {where} ({self.api}, {self.auth}; {folders})"


def _fy_start(env: Mapping[str, str], office: Office) -> dt.date:
    """``MAILBOX_SINCE``, by default the first day of the current financial year."""
    raw = _opt(env, "MAILBOX_SINCE")
    if raw is not None:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ConfigError(f"MAILBOX_SINCE={raw!r}: write a day as YYYY-MM-DD") from None
    return office.year_start(office.today())


def _mailbox_folders(env: Mapping[str, str], default: str) -> tuple[tuple[str, str], ...]:
    """``MAILBOX_FOLDERS``: ``Inbox, Complaints=correspondence+complaint, Bot=updates``."""
    raw = env.get("MAILBOX_FOLDERS") or default
    folders = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        folder, _, role = (x.strip() for x in item.partition("="))
        role = (role or "correspondence").lower()
        base, _, category = role.partition("+")
        if (
            not folder
            or base not in ("correspondence", "updates")
            or (
                category and (base != "correspondence" or category not in CORRESPONDENCE_CATEGORIES)
            )
        ):
            raise ConfigError(
                f"MAILBOX_FOLDERS: {item!r} should be FOLDER, FOLDER=correspondence+CATEGORY "
                "or FOLDER=updates"
            )
        folders.append((folder, role))
    return tuple(folders)


def _mailbox_auth(env: Mapping[str, str], graph: bool) -> dict[str, object]:
    auth = (_opt(env, "MAILBOX_AUTH") or ("xoauth2" if graph else "password")).lower()
    if auth == "password" and graph:
        raise ConfigError("MAILBOX_AUTH=password: Microsoft Graph needs MAILBOX_AUTH=xoauth2")
    if auth == "password":
        if not _opt(env, "MAILBOX_PASSWORD"):
            raise ConfigError("MAILBOX_PASSWORD: required with MAILBOX_AUTH=password")
        return {"auth": auth, "password": _opt(env, "MAILBOX_PASSWORD")}
    if auth != "xoauth2":
        raise ConfigError(f"MAILBOX_AUTH={auth!r}: use password or xoauth2")
    for name in ("MAILBOX_TENANT", "MAILBOX_CLIENT_ID"):
        if not _opt(env, name):
            raise ConfigError(f"{name}: required with MAILBOX_AUTH=xoauth2")
    secret, cert = _opt(env, "MAILBOX_CLIENT_SECRET"), _file(env, "MAILBOX_CLIENT_CERT")
    if not (secret or cert):
        raise ConfigError(
            "MAILBOX_CLIENT_SECRET or MAILBOX_CLIENT_CERT: one is required with "
            "MAILBOX_AUTH=xoauth2"
        )
    authority = _opt(env, "MAILBOX_AUTHORITY") or "https://login.microsoftonline.com"
    if not authority.startswith("https://"):
        raise ConfigError(f"MAILBOX_AUTHORITY={authority!r}: must start with https://")
    return {
        "auth": auth,
        "tenant": _opt(env, "MAILBOX_TENANT"),
        "client_id": _opt(env, "MAILBOX_CLIENT_ID"),
        "client_secret": secret,
        "client_cert": cert,
        "authority": authority.rstrip("/"),
        "scope": _opt(env, "MAILBOX_SCOPE")
        or ("https://graph.microsoft.com/.default" if graph else OUTLOOK_SCOPE),
    }


def _mailbox(env: Mapping[str, str], office: Office) -> MailboxSettings | None:
    """``MAILBOX_URL`` (e.g. ``imaps://bot@opcc.example.org@outlook.office365.com/Inbox``)
    and the rest of ``MAILBOX_*``; ``None`` without a URL."""
    raw = _opt(env, "MAILBOX_URL")
    if raw is None:
        return None
    url = urllib.parse.urlsplit(raw)
    example = "e.g. imaps://bot@opcc.example.org@outlook.office365.com/Inbox"
    if url.scheme not in ("imaps", "imap", "graph") or not url.hostname or not url.username:
        raise ConfigError(
            f"MAILBOX_URL: expected imaps://USER@HOST/FOLDER or graph://USER/FOLDER, {example}"
        )
    if url.password is not None:
        raise ConfigError("MAILBOX_URL: put the password in MAILBOX_PASSWORD, not in the URL")
    try:
        port = url.port or (993 if url.scheme == "imaps" else 143)
    except ValueError:
        raise ConfigError(f"MAILBOX_URL: the port is not a number, {example}") from None
    after = (_opt(env, "MAILBOX_AFTER") or "move").lower()
    if after not in ("move", "seen"):
        raise ConfigError(f"MAILBOX_AFTER={after!r}: use move (to the Processed folder) or seen")
    graph = url.scheme == "graph"
    user = urllib.parse.unquote(url.username)
    host = url.hostname
    if graph:  # graph://correspondence@opcc.example.org/Inbox: the host is the user's domain
        user, host = f"{user}@{url.hostname}", _graph_url(env)
    return MailboxSettings(
        host=host,
        port=443 if graph else port,
        tls="https" if graph else "imaps" if url.scheme == "imaps" else "starttls",
        user=user,
        folders=_mailbox_folders(env, urllib.parse.unquote(url.path.strip("/")) or "INBOX"),
        since=_fy_start(env, office),
        after=after,
        processed_folder=_opt(env, "MAILBOX_PROCESSED_FOLDER") or "Processed",
        stale_minutes=_int(env, "MAILBOX_STALE_MINUTES", 30, 1, 7 * 24 * 60),
        poll_seconds=_int(env, "MAILBOX_POLL_SECONDS", 60, 1, 3600),
        ca_file=_file(env, "MAILBOX_CA_FILE"),
        api="graph" if graph else "imap",
        **_mailbox_auth(env, graph),  # type: ignore[arg-type]
    )


def _graph_url(env: Mapping[str, str]) -> str:
    """``MAILBOX_GRAPH_URL``: Graph's address (a national cloud's, or a test's on 127.0.0.1)."""
    url = (_opt(env, "MAILBOX_GRAPH_URL") or "https://graph.microsoft.com").rstrip("/")
    host = urllib.parse.urlsplit(url).hostname or ""
    if not (url.startswith("https://") or host in ("127.0.0.1", "localhost")):
        raise ConfigError(f"MAILBOX_GRAPH_URL={url!r}: must start with https://")
    return url


@dataclass(frozen=True)
class SmtpTls:
    """STARTTLS on the SMTP port (``SMTP_TLS_CERT``, ``SMTP_TLS_KEY``, ``SMTP_REQUIRE_TLS``)."""

    cert: Path
    key: Path
    required: bool = False  # refuse MAIL before STARTTLS


def _smtp_tls(env: Mapping[str, str]) -> SmtpTls | None:
    cert, key = _file(env, "SMTP_TLS_CERT"), _file(env, "SMTP_TLS_KEY")
    if bool(cert) != bool(key):
        raise ConfigError("SMTP_TLS_CERT and SMTP_TLS_KEY: set both, or neither")
    require = _bool(env, "SMTP_REQUIRE_TLS", False)
    if cert is None or key is None:
        if require:
            raise ConfigError("SMTP_REQUIRE_TLS: needs SMTP_TLS_CERT and SMTP_TLS_KEY")
        return None
    return SmtpTls(cert, key, require)
