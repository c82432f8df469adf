"""The `paper:` block of the plan file, or a small YAML of its own for `report --paper`:
the office's wording for the heading block and sections 1–4 and 6–7 of the panel paper.

Checked like the rest of the plan file, every error with its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.bounded import load_yaml, read_text
from handlers.plan import PlanInvalid, _Checker, _Map
from store.paper import PAPER_PARAGRAPH_FIELDS, PAPER_TEXT_FIELDS, PaperWording

__all__ = ["MAX_PAPER_PARAGRAPHS", "load_paper", "parse_paper_block"]

MAX_LINE_CHARS = 300  # a heading-block line, as a deliverable's title
MAX_PARAGRAPH_CHARS = 3000  # a paragraph, as a note
MAX_PAPER_PARAGRAPHS = 50  # per section
_KEYS = {*PAPER_TEXT_FIELDS, *PAPER_PARAGRAPH_FIELDS, "date"}


def _paragraphs(checker: _Checker, m: _Map, key: str, where: str) -> tuple[str, ...] | None:
    value = m.get(key)
    line = checker.line_of(m, key)
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
        checker.error(line, f"{where}.{key}", "must be a paragraph of text or a list of them")
        return None
    paragraphs = tuple(" ".join(p.split()) for p in items if p.strip())
    if len(paragraphs) > MAX_PAPER_PARAGRAPHS:
        checker.error(line, f"{where}.{key}", f"more than {MAX_PAPER_PARAGRAPHS} paragraphs")
    for p in paragraphs:
        if len(p) > MAX_PARAGRAPH_CHARS:
            checker.error(
                line, f"{where}.{key}", f"a paragraph of {len(p)} characters; the limit is 3,000"
            )
    return paragraphs


def parse_paper_block(
    checker: _Checker, value: Any, *, line: int = 0, where: str = "paper"
) -> PaperWording | None:
    """The block as :class:`PaperWording`; errors go to ``checker``. ``None`` when absent."""
    if value is None:
        return None
    if not isinstance(value, _Map):
        checker.error(line, where, "must be a mapping of the paper's wording (panel, purpose, ...)")
        return None
    checker.unknown_keys(value, _KEYS, where)
    fields: dict[str, Any] = {}
    for key in PAPER_TEXT_FIELDS:
        text = checker.text(value, key, where, required=False)
        if text is not None and len(text) > MAX_LINE_CHARS:
            checker.error(
                checker.line_of(value, key), f"{where}.{key}", "longer than 300 characters"
            )
        fields[key] = text
    for key in PAPER_PARAGRAPH_FIELDS:
        fields[key] = _paragraphs(checker, value, key, where)
    day = checker.date(value, "date", where)
    return PaperWording(date=day, **fields)


def load_paper(path: Path) -> PaperWording:
    """A YAML file of the paper's wording: the fields at the top, or under `paper:`."""
    checker = _Checker(str(path))
    # Bounded like the plan file: size, no aliases, no duplicate keys (one clear line each).
    doc = load_yaml(read_text(path), filename=str(path))
    if isinstance(doc, _Map) and set(doc) == {"paper"}:
        doc = doc["paper"]
    if doc is None:
        doc = _Map()
        doc.key_lines = {}
    wording = parse_paper_block(checker, doc, line=1)
    if checker.errors:
        raise PlanInvalid(checker.errors)
    assert wording is not None
    return wording
