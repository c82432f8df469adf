"""A real IMAP server for the tests: Debian's Dovecot, started on 127.0.0.1 on a free port with
a configuration written here (passwd-file user, a Maildir in a temporary folder, and an
``oauth2`` passdb asking a token-introspection stub), never a system service."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
USER = "bot@opcc.example.org"
PASSWORD = "mailbox-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_reason() -> str | None:
    """Why the IMAP tests cannot run here, or ``None``."""
    if not DOVECOT.exists():
        return "Debian's dovecot-imapd is not installed (make test installs it as root)"
    return None


def _users() -> tuple[str, str, str]:
    """(internal user, login user, mail user): the current user, except that Dovecot will
    not run its login processes or mail as root, so root uses the package's own users."""
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() != 0:
        return me, me, me
    return "dovecot", "dovenull", "dovecot"


CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
mail_uid = {mail}
mail_gid = {mail_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={mail} gid={mail_group} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""

OAUTH2 = """\
introspection_mode = post
introspection_url = {introspection_url}
username_attribute = username
active_attribute = active
active_value = true
"""


class Dovecot:
    """One Dovecot master process; :meth:`stop` and :meth:`start` keep its mail."""

    def __init__(
        self, introspection_url: str = "http://127.0.0.1:9/introspect", extra: str = ""
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="deliverabot-dovecot-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        internal, login, mail = _users()
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (self.root / "oauth2.conf.ext").write_text(
            OAUTH2.format(introspection_url=introspection_url)
        )
        group = lambda user: grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name  # noqa: E731
        (self.root / "dovecot.conf").write_text(
            CONF.format(
                root=self.root,
                port=self.port,
                internal=internal,
                internal_group=group(internal),
                login=login,
                mail=mail,
                mail_group=group(mail),
            )
            + extra
        )
        self.root.chmod(0o755)
        if os.getuid() == 0:  # the mail user owns the Maildir
            for sub in ("mail", "home"):
                shutil.chown(self.root / sub, mail, group(mail))

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {err} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, folder: str = "INBOX") -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/{folder}"

    # -- as a person at the mailbox -------------------------------------------------
    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, messages: list[bytes], folder: str = "INBOX") -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw)

    def count(self, folder: str) -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    def message_ids(self, folder: str) -> list[str]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            found = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        return sorted(
            data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[-1].strip()
            for data in found.values()
        )

    def flags(self, folder: str) -> list[tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return [tuple(v) for v in client.get_flags(uids).values()] if uids else []

    def kick(self) -> None:
        """Disconnect every session of the user (the server says BYE)."""
        subprocess.run(
            ["doveadm", "-c", str(self.conf), "kick", USER], check=True, capture_output=True
        )
