"""The faster ways of reading a message give what the slower ones gave: the fingerprint's
trimmed lines and the removal of personal codes, against the regular expressions they
replace, on random text."""

from __future__ import annotations

import random
import re

from handlers.mail.routing import _trimmed_lines
from handlers.mail.trust import CODE_REMOVED, forget_codes, forget_codes_in

_LINE_ENDS = re.compile(rb"[ \t]*\r?\n")  # what the fingerprint used
_CODE = re.compile(r"(?<=\+)[0-9a-fA-F]{20}(?=[+@])")  # what forget_codes used


def test_trimmed_lines_are_the_regex_s_up_to_the_strip() -> None:
    rng = random.Random(6)
    for _ in range(50_000):
        body = bytes(rng.choice(b" \t\r\nab\x0b") for _ in range(rng.randint(0, 14)))
        assert _trimmed_lines(body).strip() == _LINE_ENDS.sub(b"\n", body).strip(), body


def test_codes_are_forgotten_as_the_look_behind_forgot_them() -> None:
    rng = random.Random(7)
    code = "0123456789abcdefABCD"
    for _ in range(20_000):
        text = "".join(rng.choice(["+", "@", "a", "9", " ", code, code[:19]]) for _ in range(9))
        expected = _CODE.sub(CODE_REMOVED, text)
        assert forget_codes(text) == expected, text
        assert forget_codes_in(text.encode("latin-1")) == expected.encode("latin-1")
