"""Settings: the only place that reads the environment (and ``.env``).

A wrong value fails at start with a message that names the variable. Secrets never appear
in ``repr()`` and so never reach a log line.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.config_base import ConfigError, _bool, _int, _opt
from bot.config_mailbox import MailboxSettings, SmtpTls, _mailbox, _smtp_tls
from handlers.mail.parse import parse_category_rules
from store import CORRESPONDENCE_CATEGORIES, Office

__all__ = [
    "ConfigError",
    "DigestSchedule",
    "MailboxSettings",
    "Settings",
    "SmtpTls",
    "load_settings",
]


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_CATEGORY_RULES: tuple[tuple[str, str], ...] = (
    ("parliament.uk", "mp"),
    ("*.police.uk", "partner"),
    ("*.gov.uk", "partner"),
    ("*.nhs.uk", "partner"),
)


@dataclass(frozen=True)
class DigestSchedule:
    day: str  # mon..sun
    time: dt.time

    @classmethod
    def parse(cls, text: str, *, variable: str = "DIGEST_SCHEDULE") -> DigestSchedule:
        m = re.fullmatch(r"\s*([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*", text)
        if not m or m.group(1).lower() not in _DAYS:
            raise ConfigError(f"{variable}={text!r}: expected a day and a time, e.g. 'mon 09:00'")
        hour, minute = int(m.group(2)), int(m.group(3))
        if hour > 23 or minute > 59:
            raise ConfigError(f"{variable}={text!r}: {hour}:{minute:02d} is not a time of day")
        return cls(m.group(1).lower(), dt.time(hour, minute))

    def __str__(self) -> str:
        return f"{self.day} {self.time:%H:%M}"


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("data/deliverabot.db")
    http_host: str = "127.0.0.1"
    port: int = 3000
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_domain: str = "localhost"
    allowed_senders: tuple[str, ...] = ()
    # authserv-ids of relays whose Authentication-Results prove who sent an update by mail
    trusted_relays: tuple[str, ...] = ()
    # ... believed only on connections from these SMTP peers (relay proof is off without)
    trusted_peers: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    digest_channel: str | None = None
    digest_schedule: DigestSchedule = DigestSchedule("mon", dt.time(9, 0))
    digest_emails: tuple[str, ...] = ()
    smtp_relay: str | None = None
    tz_name: str = "Europe/London"
    outbox_dir: Path = Path("data/outbox")
    fy_start_month: int = 4
    max_message_bytes: int = 10 * 1024 * 1024
    max_plan_bytes: int = 5 * 1024 * 1024  # largest plan file or spreadsheet imported
    smtp_max_sessions: int = 50  # open SMTP sessions at once; one more hears 421 at connect
    mail_parse_workers: int = 0  # processes that parse mail; 0: one per core
    log_level: str = "INFO"
    mail_retention_days: int = 30
    keep_raw_mail: bool = False
    store_subjects: bool = True
    category_rules: tuple[tuple[str, str], ...] = DEFAULT_CATEGORY_RULES
    answer_target_days: int = 20
    answer_targets: tuple[tuple[str, int], ...] = ()
    bank_holidays: str = "ENG"
    correspondence_hash_key: str | None = field(default=None, repr=False)
    board_token: str | None = field(default=None, repr=False)  # the board is off without it
    stale_weeks: int = 4
    reminder_schedule: DigestSchedule = DigestSchedule("fri", dt.time(10, 0))
    digest_grace_days: int = 2
    # Believe X-Forwarded-Proto/-For from a reverse proxy in front of the HTTP port.
    trust_proxy: bool = False
    backup_dir: Path | None = None  # None: backups/ beside the database
    backup_keep: int = 14  # nightly backups kept; 0 turns the nightly backup off
    mailbox: MailboxSettings | None = None  # the office's own mailbox (off without MAILBOX_URL)
    smtp_tls: SmtpTls | None = None  # STARTTLS on the SMTP port

    @property
    def backups(self) -> Path:
        return self.backup_dir or Path(self.db_path).parent / "backups"

    acting_as: str | None = None  # DELIVERABOT_AS: who `update` and `history import` act as
    board_url: str | None = None  # the board's public address, for links in the digest
    panel_dates: tuple[dt.date, ...] = ()  # panel meetings: the digest counts down to the next
    accessibility_contact: str | None = None  # who to tell about an accessibility problem

    @functools.cached_property
    def office(self) -> Office:
        """The office's calendar, habits and clock, built once from these settings and
        handed to everything that needs any of them (``BotProcess`` gives its own clock)."""
        return Office(
            tz=zoneinfo.ZoneInfo(self.tz_name),
            fy_start_month=self.fy_start_month,
            bank_holidays=self.bank_holidays,
            stale_weeks=self.stale_weeks,
            answer_target_days=self.answer_target_days,
            answer_targets=self.answer_targets,
        )

    @property
    def tz(self) -> dt.tzinfo:
        return self.office.tz

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def describe(self) -> dict[str, str]:
        """A log-safe summary: secrets show only whether they are set."""
        return {
            "db": str(self.db_path),
            "http": f"{self.http_host}:{self.port}",
            "smtp": f"{self.smtp_host}:{self.smtp_port}",
            "mail_domain": self.mail_domain,
            "slack": (
                "socket mode" if self.socket_mode else "http" if self.slack_enabled else "off"
            ),
            "slack_bot_token": "set" if self.slack_bot_token else "unset",
            "digest": f"{self.digest_schedule} {self.tz_name}",
            "outbox": str(self.outbox_dir),
            "board": "on" if self.board_token else "off",
            "backups": f"{self.backups} (keep {self.backup_keep})",
            "mailbox": self.mailbox.describe() if self.mailbox else "off",
            "smtp_tls": "starttls" if self.smtp_tls else "off",
        }


def _pairs(env: Mapping[str, str], name: str) -> list[tuple[str, str]]:
    pairs = []
    for item in re.split(r"[,;\s]+", env.get(name) or ""):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{name}: {item!r} should look like key=value")
        pairs.append((key.strip().lower(), value.strip().lower()))
    return pairs


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name) or ""
    return tuple(p.strip().lower() for p in re.split(r"[,\s;]+", raw) if p.strip())


def _networks(
    env: Mapping[str, str], name: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in _list(env, name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP address or CIDR range, e.g. 192.0.2.25 or "
                "10.1.0.0/16"
            ) from None
    return tuple(networks)


def _slack(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None, str]:
    """The Slack credentials, which must come in working sets, and the Web API base URL."""
    api_url = _opt(env, "SLACK_API_URL") or "https://slack.com/api/"
    if not re.match(r"https?://", api_url):
        raise ConfigError(f"SLACK_API_URL={api_url!r}: must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"
    token = _opt(env, "SLACK_BOT_TOKEN")
    secret = _opt(env, "SLACK_SIGNING_SECRET")
    app_token = _opt(env, "SLACK_APP_TOKEN")
    if (secret or app_token) and not token:
        raise ConfigError(
            "SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set"
        )
    if token and not (secret or app_token):
        raise ConfigError(
            "SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN for HTTP mode "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN: an app-level token starts with xapp-")
    return token, secret, app_token, api_url


def _categories(
    env: Mapping[str, str],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, int], ...]]:
    """``CATEGORY_RULES`` (parsed by the mail side's own parser) and ``ANSWER_TARGETS``."""
    rules = DEFAULT_CATEGORY_RULES
    if (env.get("CATEGORY_RULES") or "").strip():
        try:
            rules = tuple(parse_category_rules(env["CATEGORY_RULES"]))
        except ValueError as exc:
            raise ConfigError(f"CATEGORY_RULES: {exc}") from None
    targets = []
    for category, days in _pairs(env, "ANSWER_TARGETS"):
        if category not in CORRESPONDENCE_CATEGORIES or not days.isdigit():
            raise ConfigError(f"ANSWER_TARGETS: {category}={days}: write category=working-days")
        targets.append((category, int(days)))
    return rules, tuple(targets)


def _tz_name(env: Mapping[str, str]) -> str:
    tz_name = _opt(env, "DELIVERABOT_TZ") or "Europe/London"
    try:
        zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"DELIVERABOT_TZ={tz_name!r}: unknown time zone, e.g. Europe/London"
        ) from None
    return tz_name


def _relay(env: Mapping[str, str]) -> str | None:
    relay = _opt(env, "SMTP_RELAY")
    if relay is not None and not re.fullmatch(r"[^\s:]+:\d{1,5}", relay):
        raise ConfigError(f"SMTP_RELAY={relay!r}: expected host:port, e.g. smtp.example.org:587")
    return relay


def _acting_as(env: Mapping[str, str]) -> str | None:
    acting_as = _opt(env, "DELIVERABOT_AS")
    if acting_as is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", acting_as):
        raise ConfigError(f"DELIVERABOT_AS={acting_as!r}: give the email of a person in the plan")
    return acting_as


def _check_addresses(env: Mapping[str, str]) -> None:
    for name in ("ALLOWED_SENDERS", "DIGEST_EMAILS"):
        for item in _list(env, name):
            if "@" not in item:
                raise ConfigError(f"{name}: {item!r} is not an address or @domain")


def _log_level(env: Mapping[str, str]) -> str:
    level = (_opt(env, "LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
    return level


def _board_token(env: Mapping[str, str]) -> str | None:
    token = _opt(env, "BOARD_TOKEN")
    if token is not None and len(token) < 16:
        raise ConfigError("BOARD_TOKEN: use at least 16 characters, e.g. `openssl rand -hex 16`")
    return token


def _board_url(env: Mapping[str, str]) -> str | None:
    url = _opt(env, "BOARD_URL")
    if url is None:
        return None
    if not re.fullmatch(r"https?://[^\s/|<>\"'()]+(/[^\s|<>\"'()?#]*)?", url):
        raise ConfigError(
            f"BOARD_URL={url!r}: give the board's address, e.g. https://deliverabot.example.org/board"
        )
    return url.rstrip("/")


def _panel_dates(env: Mapping[str, str]) -> tuple[dt.date, ...]:
    days = []
    for item in _list(env, "PANEL_DATES"):
        try:
            days.append(dt.date.fromisoformat(item))
        except ValueError:
            raise ConfigError(
                f"PANEL_DATES: {item!r} is not a date; write YYYY-MM-DD, separated by commas"
            ) from None
    return tuple(sorted(set(days)))


def _contact(env: Mapping[str, str]) -> str | None:
    contact = _opt(env, "ACCESSIBILITY_CONTACT")
    if contact is not None and not re.fullmatch(r"[^\s@<>\"']+@[^\s@<>\"']+|https?://\S+", contact):
        raise ConfigError(
            f"ACCESSIBILITY_CONTACT={contact!r}: give an email address or a web address"
        )
    return contact


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = ".env"
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) over ``env_file``."""
    env: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    tz_name = _tz_name(env)
    relay, acting_as = _relay(env), _acting_as(env)

    _check_addresses(env)
    level = _log_level(env)
    token, secret, app_token, api_url = _slack(env)
    rules, targets = _categories(env)
    nation = (_opt(env, "BANK_HOLIDAYS") or "ENG").upper()
    if nation not in ("ENG", "SCT", "WLS", "NIR"):
        raise ConfigError(f"BANK_HOLIDAYS={nation!r}: use ENG, SCT, WLS or NIR")
    fy_start_month = _int(env, "FY_START_MONTH", 4, 1, 12)

    return Settings(
        db_path=Path(_opt(env, "DELIVERABOT_DB") or "data/deliverabot.db"),
        http_host=_opt(env, "HTTP_HOST") or "127.0.0.1",
        port=_int(env, "PORT", 3000, 0, 65535),
        smtp_host=_opt(env, "SMTP_HOST") or "127.0.0.1",
        smtp_port=_int(env, "SMTP_PORT", 8025, 0, 65535),
        mail_domain=(_opt(env, "MAIL_DOMAIN") or "localhost").lower(),
        allowed_senders=_list(env, "ALLOWED_SENDERS"),
        trusted_relays=_list(env, "MAIL_TRUSTED_RELAYS"),
        trusted_peers=_networks(env, "SMTP_TRUSTED_PEERS"),
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        digest_channel=_opt(env, "DIGEST_CHANNEL"),
        digest_schedule=DigestSchedule.parse(_opt(env, "DIGEST_SCHEDULE") or "mon 09:00"),
        digest_emails=_list(env, "DIGEST_EMAILS"),
        smtp_relay=relay,
        tz_name=tz_name,
        outbox_dir=Path(_opt(env, "OUTBOX_DIR") or "data/outbox"),
        fy_start_month=fy_start_month,
        max_message_bytes=_int(env, "MAX_MESSAGE_BYTES", 10 * 1024 * 1024, 1024, 1024**3),
        max_plan_bytes=_int(env, "MAX_PLAN_BYTES", 5 * 1024 * 1024, 1024, 1024**3),
        smtp_max_sessions=_int(env, "SMTP_MAX_SESSIONS", 50, 1, 10_000),
        mail_parse_workers=_int(env, "MAIL_PARSE_WORKERS", 0, 0, 64),
        log_level=level,
        mail_retention_days=_int(env, "MAIL_RETENTION_DAYS", 30, 0, 3650),
        keep_raw_mail=_bool(env, "KEEP_RAW_MAIL", False),
        store_subjects=_bool(env, "STORE_SUBJECTS", True),
        category_rules=rules,
        answer_target_days=_int(env, "ANSWER_TARGET_DAYS", 20, 1, 365),
        answer_targets=targets,
        bank_holidays=nation,
        correspondence_hash_key=_opt(env, "CORRESPONDENCE_HASH_KEY"),
        board_token=_board_token(env),
        stale_weeks=_int(env, "STALE_WEEKS", 4, 1, 52),
        reminder_schedule=DigestSchedule.parse(
            _opt(env, "REMINDER_SCHEDULE") or "fri 10:00", variable="REMINDER_SCHEDULE"
        ),
        digest_grace_days=_int(env, "DIGEST_GRACE_DAYS", 2, 0, 60),
        trust_proxy=_bool(env, "TRUST_PROXY", False),
        backup_dir=Path(raw_backup_dir) if (raw_backup_dir := _opt(env, "BACKUP_DIR")) else None,
        backup_keep=_int(env, "BACKUP_KEEP", 14, 0, 3650),
        acting_as=acting_as,
        board_url=_board_url(env),
        panel_dates=_panel_dates(env),
        accessibility_contact=_contact(env),
        mailbox=_mailbox(env, Office(tz=zoneinfo.ZoneInfo(tz_name), fy_start_month=fy_start_month)),
        smtp_tls=_smtp_tls(env),
    )
