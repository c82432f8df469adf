"""A message as parsed from bytes that parses each header once (the standard library's
``email`` package, with its default policy, builds a header object on every read)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

__all__ = ["ParsedMessage", "parse_message"]

_MISSING = object()


class ParsedMessage(EmailMessage):
    """A message as parsed from bytes, that parses each header once: ``header()`` and
    ``get_content_type()`` keep what they found (the email package builds a header object
    on every read). Any change to the headers forgets it."""

    _memo: dict[str, object]

    def __init__(self, policy: email.policy.Policy | None = None) -> None:
        self._memo = {}
        super().__init__(policy=policy)

    # Whatever replaces the header list (set_boundary, make_mixed, clear, ...) forgets.
    @property
    def _headers(self) -> list[tuple[str, Any]]:
        return self._header_list

    @_headers.setter
    def _headers(self, value: list[tuple[str, Any]]) -> None:
        self._memo.clear()
        self._header_list = value

    def get(self, name: str, failobj: Any = None) -> Any:
        key = "\1" + name.lower()
        try:
            found = self._memo[key]
        except KeyError:
            found = self._memo[key] = super().get(name, _MISSING)
        return failobj if found is _MISSING else found

    def get_content_type(self) -> str:
        found = self._memo.get("\0content-type")
        if found is None:
            found = self._memo["\0content-type"] = super().get_content_type()
        return str(found)

    def __setitem__(self, name: str, val: object) -> None:
        self._memo.clear()
        super().__setitem__(name, val)

    def __delitem__(self, name: str) -> None:
        self._memo.clear()
        super().__delitem__(name)

    def replace_header(self, _name: str, _value: object) -> None:
        self._memo.clear()
        super().replace_header(_name, _value)

    def add_header(self, _name: str, _value: str, **_params: object) -> None:
        self._memo.clear()
        super().add_header(_name, _value, **_params)  # type: ignore[arg-type]

    def set_raw(self, name: str, value: object) -> None:
        self._memo.clear()
        super().set_raw(name, value)

    def set_default_type(self, ctype: str) -> None:
        self._memo.clear()
        super().set_default_type(ctype)


_POLICY = email.policy.default.clone(message_factory=ParsedMessage)


def parse_message(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg
