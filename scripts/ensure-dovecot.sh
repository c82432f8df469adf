#!/usr/bin/env bash
# The mailbox tests run a real IMAP server: Debian's Dovecot, started by the tests themselves
# on 127.0.0.1 with a configuration of their own (no system service). Install it when it is
# missing and we may; otherwise say so, and the IMAP tests skip themselves.
set -u
[ -x /usr/sbin/dovecot ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's dovecot-imapd for the mailbox tests..." >&2
  apt-get update -qq >/dev/null 2>&1
  # policy-rc.d 101: the package must not start (or try to start) a system service.
  made=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null 2>&1
  [ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
fi
[ -x /usr/sbin/dovecot ] || echo "no /usr/sbin/dovecot: the IMAP tests will be skipped" >&2
exit 0
