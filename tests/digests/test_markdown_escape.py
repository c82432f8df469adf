"""Markdown escapes only what Markdown would read as markup (issue 16, item 7)."""

from __future__ import annotations

import pytest

from digests.render import escape_markdown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("~180 letters, approx ~200", "~180 letters, approx ~200"),
        ("Fraud & Cyber Crime", "Fraud & Cyber Crime"),
        ("score > 5 and < 9", "score > 5 and < 9"),
        ("5 * 3 = 15", "5 * 3 = 15"),
        ("snake_case stays", "snake_case stays"),
        ("Q3/Q4, 2022/23 (see above)", "Q3/Q4, 2022/23 (see above)"),
        ("C:\\temp", "C:\\temp"),
    ],
)
def test_plain_text_is_left_as_typed(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold* and _em_", r"\*bold\* and \_em\_"),
        ("~~struck~~", r"~\~struck\~\~"),
        ("[x](http://evil)", r"\[x](http://evil)"),
        ("<script>alert(1)</script>", r"\<script>alert(1)\</script>"),
        ("`code`", r"\`code\`"),
        ("a | b", r"a \| b"),
        ("&copy; 2022", r"\&copy; 2022"),
        ("# Heading", r"\# Heading"),
        ("- item", r"\- item"),
        ("> quote", r"\> quote"),
        ("1. first", r"1\. first"),
        ("ends in \\", "ends in \\\\"),
        ("line one\n- fake", r"line one - fake"),
    ],
)
def test_markup_is_escaped(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected
