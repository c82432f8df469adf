"""A stand-in for Microsoft's sign-in service and for the token introspection Dovecot's
``oauth2`` passdb asks, both on 127.0.0.1.

The authority (HTTPS, a test certificate) answers OpenID discovery and the
client-credentials grant as Entra ID does; the introspection endpoint (HTTP, for Dovecot)
says whether a token is active. Tokens can be expired or revoked from the test.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509

TENANT = "opcc-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "client-secret-value"
SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class TokenStub:
    def __init__(self, cert: Path, key: Path, user: str) -> None:
        self.user = user
        self.issued: list[str] = []  # every access token handed out, in order
        self.active: set[str] = set()
        self.revoked = False  # the app's permission removed: every token, new ones too
        self.grants: list[dict[str, str]] = []  # what each token request carried
        self.certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        stub = self

        class Authority(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                base = f"https://127.0.0.1:{stub.authority_port}/{TENANT}"
                if self.path.startswith(f"/{TENANT}/v2.0/.well-known/openid-configuration"):
                    self._json(
                        200,
                        {
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "issuer": f"{base}/v2.0",
                        },
                    )
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/introspect":
                    token = form.get("token", "")
                    active = token in stub.active and not stub.revoked
                    self._json(
                        200,
                        {"active": active, "username": stub.user} if active else {"active": False},
                    )
                    return
                if not self.path.startswith(f"/{TENANT}/oauth2/v2.0/token"):
                    self._json(404, {"error": "not_found"})
                    return
                stub.grants.append(form)
                ok = (
                    form.get("grant_type") == "client_credentials"
                    and form.get("client_id") == CLIENT_ID
                )
                ok = ok and form.get("scope", "").split()[:1] in ([SCOPE], [GRAPH_SCOPE])
                ok = ok and stub._client_proven(form)
                if not ok:
                    self._json(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
                        },
                    )
                    return
                token = "eyJ0eXAiOiJKV1QifQ." + secrets.token_urlsafe(24) + ".sig"
                stub.issued.append(token)
                stub.active.add(token)
                self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self._https = ThreadingHTTPServer(("127.0.0.1", 0), Authority)
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Authority)
        self.authority_port = self._https.server_address[1]
        self.introspection_url = f"http://127.0.0.1:{self._http.server_address[1]}/introspect"
        self.authority = f"https://127.0.0.1:{self.authority_port}"
        for server in (self._https, self._http):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def _client_proven(self, form: dict[str, str]) -> bool:
        if "client_secret" in form:
            return form["client_secret"] == CLIENT_SECRET
        assertion = form.get("client_assertion")
        if not assertion:
            return False
        try:
            claims = jwt.decode(
                assertion,
                self.certificate.public_key(),
                algorithms=["RS256", "PS256"],
                audience=f"{self.authority}/{TENANT}/oauth2/v2.0/token",
            )
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == CLIENT_ID and claims.get("sub") == CLIENT_ID

    def expire(self, token: str) -> None:
        """The server no longer takes this token (it expired, whatever msal thinks)."""
        self.active.discard(token)

    def close(self) -> None:
        for server in (self._https, self._http):
            server.shutdown()
            server.server_close()
