"""What a panel paper's lines must not do, as checks that count the lines that do.

Used by the six-month done-when test and by anyone measuring a draft: each function takes
the report's lines (or the whole paper's text in reading order) and returns the offending
lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ACRONYM = re.compile(r"[A-Z].*[A-Z]|[A-Z]{2}")
_STATUS_ONLY = re.compile(
    r"^(?:still\s+|now\s+|activities\s+)*(?:on-?going|in progress|complete[d]?|done|on hold"
    r"|not started|bau|embedded into (?:business as usual|bau))\.?$",
    re.I,
)
_WORDINGS = {
    "activities not started.": "not started",
    "activities ongoing.": "ongoing",
    "on hold.": "on hold",
    "activities completed.": "completed",
    "embedded into business as usual.": "bau",
}
_KINDS = (
    ("not started", "not started"),
    ("hold", "on hold"),
    ("bau", "bau"),
    ("business as usual", "bau"),
    ("complete", "completed"),
    ("done", "completed"),
    ("going", "ongoing"),
    ("progress", "ongoing"),
)


def _kind(sentence: str) -> str | None:
    if _STATUS_ONLY.match(sentence) is None:
        return None
    low = sentence.lower()
    return next((kind for word, kind in _KINDS if word in low), None)


SIGN_OFF = re.compile(r"\b(?:thanks|thank you|regards|cheers|sent from my)\b|(?:^|\s)-- ", re.I)
REFERENCE = re.compile(r"\b[A-Z]{2,4}-\d{1,4}\b")


def sentences(line: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(line.strip()) if s]


def lower_case_starts(lines: Iterable[str]) -> list[str]:
    return [
        line
        for line in lines
        if any(re.match(r"[a-z]", s) and not re.match(r"[a-z]+[A-Z]", s) for s in sentences(line))
    ]


def without_full_stop(lines: Iterable[str]) -> list[str]:
    return [line for line in lines if not line.rstrip().endswith(".")]


def is_acronym(term: str) -> bool:
    return _ACRONYM.search(term) is not None and sum(c.isupper() for c in term) >= 2


def _term(term: str) -> re.Pattern[str]:
    before = r"(?<![\w&/-])" if term[0].isalnum() else ""
    after = r"(?![\w&/-])" if term[-1].isalnum() else ""
    flags = re.I if term == term.lower() else 0
    return re.compile(before + re.escape(term) + after, flags)


def abbreviations_left(lines: Iterable[str], glossary: Mapping[str, str]) -> list[str]:
    terms = [_term(t) for t in glossary if not is_acronym(t)]
    return [line for line in lines if any(t.search(line) for t in terms)]


def acronyms_not_spelled_out(paper: list[str], glossary: Mapping[str, str]) -> list[str]:
    """The lines (in reading order) holding an acronym's first use in the paper when that
    first use is not written "Expansion (ACRONYM)"."""
    bad: list[str] = []
    for term, expansion in glossary.items():
        if not is_acronym(term):
            continue
        pattern = re.compile(r"(?<![\w&/-])" + re.escape(term) + r"s?(?![\w&])")
        for line in paper:
            m = pattern.search(line)
            if m is None:
                continue
            spelled = re.escape(expansion.lower()) + r"s?(?:'s)?\s*(?:\(|,\s*)$"
            if re.search(spelled, line[: m.start()].lower()) is None:
                bad.append(line)
            break
    return list(dict.fromkeys(bad))


def _key(sentence: str, glossary: Mapping[str, str]) -> str:
    for term, expansion in glossary.items():
        if is_acronym(term):
            sentence = re.sub(r"(?<![\w&])" + re.escape(term) + r"(?![\w&])", expansion, sentence)
    return re.sub(r"[^a-z0-9£]+", "", sentence.lower())


def repeats(lines: Iterable[str], glossary: Mapping[str, str] | None = None) -> list[str]:
    """Lines that say something twice: a sentence twice, a status said twice ("Activities
    ongoing. ongoing."), or "Dependencies identified." beside another word of dependencies."""
    glossary = glossary or {}
    bad = []
    for line in lines:
        said = sentences(line)
        keys = [_key(s, glossary) for s in said]
        twice = len(set(keys)) < len(keys)
        wordings = {_WORDINGS[s.lower()] for s in said if s.lower() in _WORDINGS}
        echoes = [_kind(s) for s in said if s.lower() not in _WORDINGS]
        status = any(kind in wordings for kind in echoes if kind)
        deps = [s for s in said if "dependenc" in s.lower() or "deps" in s.lower()]
        if twice or status or (len(deps) > 1 and any("identified" in s.lower() for s in deps)):
            bad.append(line)
    return bad


def sign_offs(lines: Iterable[str]) -> list[str]:
    return [line for line in lines if SIGN_OFF.search(line)]


def references(lines: Iterable[str]) -> list[str]:
    return [line for line in lines if REFERENCE.search(line)]
