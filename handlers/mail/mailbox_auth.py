"""Signing in to the office's mailbox: a password, or Microsoft 365's client-credentials flow
(``msal``) and the XOAUTH2 SASL mechanism. Blocking: called on the mailbox's own thread.

A token is asked of ``msal`` before every login, and ``msal`` hands back its cached token
until shortly before it expires, then a new one; a token the server refuses is dropped and
replaced once. Tokens and passwords are never logged or put in an error.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_SCOPE",
    "Login",
    "MsalTokens",
    "PasswordLogin",
    "SignInError",
    "TokenSource",
    "XOAuth2Login",
    "server_text",
]

log = logging.getLogger(__name__)

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://outlook.office365.com/.default"


class SignInError(Exception):
    """The mailbox or the sign-in service refused us: retrying will not help until a person
    changes something (a password, a secret, a permission). The text is safe to log."""


def server_text(exc: BaseException) -> str:
    """What the server said, as one short line (imaplib wraps it in ``b'...'``)."""
    text = str(exc)
    text = re.sub(r"""\bb(['"])(.*?)\1""", r"\2", text)
    return re.sub(r"\s+", " ", text).strip()[:300] or type(exc).__name__


class Login(Protocol):
    user: str

    def login(self, client: IMAPClient) -> None: ...


class TokenSource(Protocol):
    def token(self, *, fresh: bool = False) -> str: ...


@dataclass
class PasswordLogin:
    user: str
    password: str = field(repr=False)

    def login(self, client: IMAPClient) -> None:
        try:
            client.login(self.user, self.password)
        except LoginError as exc:
            raise SignInError(
                f"the mailbox refused the password for {self.user}: {server_text(exc)}"
            ) from None


@dataclass
class XOAuth2Login:
    """XOAUTH2 with a token from ``tokens``; a refused token is replaced once."""

    user: str
    tokens: TokenSource

    def login(self, client: IMAPClient) -> None:
        try:
            client.oauth2_login(self.user, self.tokens.token())
            return
        except LoginError as exc:
            log.info(
                "mailbox: the token for %s was refused (%s); signing in again",
                self.user,
                server_text(exc),
            )
        try:
            client.oauth2_login(self.user, self.tokens.token(fresh=True))
        except LoginError as exc:
            raise SignInError(
                f"the mailbox refused a new token for {self.user} (XOAUTH2): "
                f"{server_text(exc)}; check the app's IMAP.AccessAsApp permission and the "
                "mailbox permission (Add-MailboxPermission)"
            ) from None


def _http_client(ca_file: Path | None, timeout: float) -> Any:
    """``None`` (msal's own session), or one that trusts ``ca_file``. requests lets a
    ``REQUESTS_CA_BUNDLE`` in the environment win over a session's ``verify``, which would
    quietly drop ``MAILBOX_CA_FILE``; here the file wins (proxies still come from the
    environment)."""
    if ca_file is None:
        return None
    import functools

    import requests

    class Session(requests.Session):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
            merged = super().merge_environment_settings(*args, **kwargs)
            merged["verify"] = str(ca_file)
            return merged

    session = Session()
    session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
    return session


class MsalTokens:
    """Tokens for the app itself (client credentials: no user present), from ``msal``."""

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        secret: str | None = None,
        cert_file: Path | None = None,
        authority: str = DEFAULT_AUTHORITY,
        scope: str = DEFAULT_SCOPE,
        ca_file: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not (secret or cert_file):
            raise ValueError("a client secret or a certificate is needed")
        self.tenant, self.client_id, self.scope = tenant, client_id, scope
        self.authority = f"{authority.rstrip('/')}/{tenant}"
        self._secret, self._cert_file = secret, cert_file
        self._ca_file, self._timeout = ca_file, timeout
        self._app: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MsalTokens(authority={self.authority!r}, client_id={self.client_id!r})"

    def _credential(self) -> Any:
        if self._secret:
            return self._secret
        assert self._cert_file is not None
        pem = self._cert_file.read_text()
        key = re.search(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", pem, re.S
        )
        cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
        if key is None or cert is None:
            raise SignInError(
                f"{self._cert_file}: needs the private key and the certificate, both in PEM"
            )
        # msal works out the certificate's SHA-256 thumbprint from it (x5t#S256).
        return {"private_key": key.group(0), "public_certificate": cert.group(0)}

    def _client(self) -> Any:
        if self._app is None:
            import msal

            # An authority other than Microsoft's (a test stub, an office's own proxy) is
            # not in Microsoft's list of hosts: do not ask Microsoft about it.
            known = self.authority.startswith(DEFAULT_AUTHORITY + "/")
            self._app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential(),
                authority=self.authority,
                instance_discovery=None if known else False,
                validate_authority=known,
                http_client=_http_client(self._ca_file, self._timeout),
                timeout=self._timeout,
                token_cache=msal.TokenCache(),
            )
        return self._app

    def token(self, *, fresh: bool = False) -> str:
        """An access token for ``scope``; ``fresh`` drops the cached one first."""
        with self._lock:
            try:
                app = self._client()
                if fresh:
                    app.remove_tokens_for_client()
                result = app.acquire_token_for_client(scopes=[self.scope])
            except ValueError as exc:  # msal: an authority it cannot use
                raise SignInError(f"Microsoft sign-in at {self.authority}: {exc}") from None
        if isinstance(result, dict) and result.get("access_token"):
            return str(result["access_token"])
        result = result if isinstance(result, dict) else {}
        description = str(result.get("error_description") or "").splitlines()
        raise SignInError(
            f"Microsoft sign-in refused client {self.client_id} at {self.authority}: "
            f"{result.get('error') or 'no token'}"
            + (f": {description[0][:200]}" if description else "")
        )
