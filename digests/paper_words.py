"""The papers' own words: how a note typed by busy staff reads in the panel paper. Pure.

The stored note stays exactly as typed (it is the audit trail); these functions only change
how it is *rendered*. Nothing is invented: every word they return comes from the note, from
the plan's glossary or people list, from a deliverable's title, or is the year of a quarter
the note names without one.

- :func:`strip_signoff` drops a mail greeting and sign-off ("Thanks, Priya", "Regards",
  "Sent from my iPhone", a ``-- `` signature).
- :func:`split_sentences` cuts a note into sentences (a typed line break ends one).
- :func:`clean_sentence` expands the glossary's abbreviations (``w/: with``), replaces
  references to other deliverables ("(CP-7)") by their titles, drops a person's first name
  with its preposition ("w/ Alex") unless the glossary says what to call them, gives a
  quarter without a year its year ("Q3" in July 2022 is "Q3, 2022/23"), and puts the
  sentence in sentence case with a full stop (also after a closing ")").
- :class:`AcronymSpeller` spells out each of the glossary's acronyms at its first use in
  the paper: "Eastern Cyber Resilience Centre (ECRC)", then "ECRC".
- :func:`is_no_change` tells a note that only says nothing changed ("no change, see
  tactical plan", "as above, BCB").
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from digests.paper_terms import (
    AcronymSpeller,
    Glossary,
    Words,
    drop_names,
    expand_abbreviations,
    replace_refs,
    year_quarters,
)
from store import Status

__all__ = [
    "AcronymSpeller",
    "Cleaned",
    "Glossary",
    "Words",
    "clean_note",
    "clean_sentence",
    "ends_sentence",
    "is_no_change",
    "is_status_echo",
    "mentions_dependencies",
    "same_sentence",
    "says_nothing",
    "sentence_case",
    "split_sentences",
    "status_echoed",
    "strip_signoff",
    "without_repeats",
    "word_count",
]


# -- greeting and sign-off ------------------------------------------------------------

_CLOSING = (
    r"(?i:(?:many\s+|kind\s+|best\s+|warm\s+|with\s+)?"
    r"(?:thanks|thank\s+you|thx|cheers|regards|wishes))"
)
_NAMEISH = r"(?:(?i:all|everyone|team|folks)|[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})"
_CLOSING_RE = re.compile(rf"^\s*{_CLOSING}\s*[,.!]*\s*(?:{_NAMEISH})?\s*[.!]*\s*$")
# "… still waiting. Thanks Priya" typed on one line: a capitalised closing at the very end.
_TRAILING_RE = re.compile(
    rf"(?<=[\w.)!])[\s,;–-]+(?:Many\s+|Kind\s+|Best\s+)?(?:Thanks|Thank\s+you|Thx|Cheers|Regards)"
    rf"\b[,!.]*\s*(?:{_NAMEISH})?[.!]*\s*$"
)
_SENT_FROM_RE = re.compile(
    r"\b(?:sent\s+from\s+my\s+\w+|sent\s+from\s+(?:outlook|mail|yahoo)\b|get\s+outlook\s+for)",
    re.I,
)
_GREETING_RE = re.compile(
    rf"^\s*(?i:hi|hello|hey|dear|morning|good\s+morning|afternoon)\b(?:\s+{_NAMEISH})?\s*[,!:-]+\s*"
)


def strip_signoff(note: str) -> tuple[str, list[str]]:
    """The note without a mail greeting or sign-off, and what was dropped (for --explain).

    A ``-- `` signature line and "Sent from my iPhone" cut everything after them; a closing
    ("Thanks, Priya", "Regards", "Kind regards\\nPriya Shah") is dropped at the end.
    """
    dropped: list[str] = []
    lines = note.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ", "—"):
            dropped.append("signature")
            lines = lines[:i]
            break
    text = "\n".join(lines)
    sent = _SENT_FROM_RE.search(text)
    if sent:
        dropped.append(repr(text[sent.start() :].strip()))
        text = text[: sent.start()]
    lines = text.split("\n")
    # A closing on its own line, perhaps followed by a name and a job title.
    for i in range(len(lines) - 1, max(-1, len(lines) - 5), -1):
        if _CLOSING_RE.match(lines[i]) and all(len(li.split()) <= 6 for li in lines[i + 1 :]):
            dropped.append(repr(" ".join(li.strip() for li in lines[i:] if li.strip())))
            lines = lines[:i]
            break
    text = "\n".join(lines).strip()
    trailing = _TRAILING_RE.search(text)
    if trailing:
        dropped.append(repr(trailing.group(0).strip(" ,;–-")))
        text = text[: trailing.start()]
    greeting = _GREETING_RE.match(text)
    if greeting and greeting.end() < len(text):
        dropped.append(f"greeting {greeting.group(0).strip()!r}")
        text = text[greeting.end() :]
    return text, dropped


# -- sentences ------------------------------------------------------------------------

_ABBREVIATIONS = {
    "e.g",
    "eg",
    "i.e",
    "ie",
    "etc",
    "approx",
    "vs",
    "no",
    "nos",
    "cf",
    "incl",
    "cllr",
    "dr",
    "mr",
    "mrs",
    "ms",
    "st",
    "w/c",
    "wc",
    "est",
    "inc",
    "ref",
}
_SPLIT_RE = re.compile(r"(?:\.\.\.|…|[.!?])+[\"'”’)\]]*(?=\s+)")


def split_sentences(text: str) -> list[str]:
    """Sentences of a note, in order. A typed line break ends a sentence, as does ``. ! ?``,
    an ellipsis or a semicolon followed by a space; "e.g." and "approx." do not."""
    sentences: list[str] = []
    for line in re.split(r"[\r\n\v\f\u0085\u2028\u2029]+", text):
        start = 0
        for m in _SPLIT_RE.finditer(line):
            before = line[start : m.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if m.group(0) == "." and last in _ABBREVIATIONS:
                continue
            sentences.append(line[start : m.end()])
            start = m.end()
        sentences.append(line[start:])
    return [s.strip() for s in (_tidy(s) for s in sentences) if s.strip(" .;,-–")]


def _tidy(sentence: str) -> str:
    s = re.sub(r"\s+", " ", sentence).strip()
    s = re.sub(r"\s+([,.;:!?)])", r"\1", s)
    s = re.sub(r"\(\s+", "(", s)
    s = re.sub(r"(?:\.\.\.|…)$", ".", s)
    s = re.sub(r";$", ".", s)
    s = re.sub(r"([!?])\1+", r"\1", s)
    s = re.sub(r"\.{2,}$", ".", s)
    return s.strip(" ,-–—:").strip()


def ends_sentence(text: str) -> bool:
    return bool(text) and text.rstrip("\"'”’")[-1:] in (".", "!", "?")


def sentence_case(sentence: str) -> str:
    """A capital first letter, unless the first word is written in mixed case ("iPad") or the
    sentence starts with a figure ("£887,661 secured")."""
    match = re.match(r"[\s\"'“‘(\[]*[A-Za-z]", sentence)
    if match is None:
        return sentence
    match = re.search(r"[A-Za-z]", sentence)
    assert match is not None
    i = match.start()
    word = re.match(r"[\w'-]+", sentence[i:])
    first = word.group(0) if word else sentence[i]
    if first[1:] != first[1:].lower() and not first[1:].isupper():
        return sentence  # "iPad", "eBay": written that way on purpose
    return sentence[:i] + sentence[i].upper() + sentence[i + 1 :]


def _full_stop(sentence: str) -> str:
    """A full stop at the end, also after a closing ")"; a paper does not exclaim."""
    sentence = re.sub(r"!+([\"'”’)]*)$", r".\1", sentence)
    return sentence if ends_sentence(sentence) else sentence + "."


def same_sentence(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"[^a-z0-9£%]+", "", s.lower())

    return key(a) == key(b)


def word_count(text: str) -> int:
    return len(text.split())


# -- status echoes and no-change notes -------------------------------------------------

_STATUS_WORDS = "(?:" + "|".join(s.traits.echo for s in Status) + ")"
_ECHO_RE = re.compile(
    rf"^(?:status\s*:?\s*)?(?:(?:still|now|all|activities|activity|work)\s+)*(?:is\s+|are\s+)?"
    rf"{_STATUS_WORDS}(?:\s+(?:still|now|yet|as\s+before|as\s+planned))?[.!]*$",
    re.I,
)
_LEADING_STATUS_RE = re.compile(rf"^(?:status\s*:\s*)?{_STATUS_WORDS}\s*[-–—:,;]+\s*(?=\S)", re.I)
_NO_CHANGE_RE = re.compile(
    r"^\s*(?:no\s+change[s]?|n/?c|no\s+(?:further\s+)?updates?|nothing\s+(?:new|to\s+report|further)"
    r"|as\s+(?:above|before|previous(?:ly)?)|as\s+per\s+(?:last|previous)(?:\s+(?:week|update))?"
    r"|(?:same\s+)?as\s+last\s+week|no\s+progress(?:\s+this\s+week)?|nothing\s+this\s+week)\b",
    re.I,
)


# Which status an echo says: the words of exactly one of them.
_ECHO_STATUS = tuple((re.compile(s.traits.echo, re.I), s) for s in Status)


def status_echoed(sentence: str) -> Status | None:
    """The status a sentence only says ("ongoing", "still in progress", "Complete.",
    "Embedded into business as usual."), or None when it says more than a status."""
    if _ECHO_RE.match(sentence.strip()) is None:
        return None
    for pattern, status in _ECHO_STATUS:
        if pattern.search(sentence):
            return status
    return None


def is_status_echo(sentence: str, status: Status | None = None) -> bool:
    """Whether a sentence only says ``status`` (any status, if None): the status wording
    of record then says it already."""
    echoed = status_echoed(sentence)
    return echoed is not None and (status is None or echoed is status)


def is_no_change(note: str) -> bool:
    """A note that only says nothing changed: "no change, see tactical plan", "as above,
    BCB", "n/c". Such a note never goes into the paper."""
    text, _ = strip_signoff(note)
    return _NO_CHANGE_RE.match(text) is not None or not text.strip()


@functools.lru_cache(maxsize=4096)
def says_nothing(note: str) -> bool:
    """A note with nothing for the paper: no change, or only a status ("ongoing. ongoing.",
    "still on hold"), which the status wording says already."""
    text, _ = strip_signoff(note)
    if _NO_CHANGE_RE.match(text) is not None or not text.strip():
        return True
    return all(status_echoed(s) is not None or _CLOSING_RE.match(s) for s in split_sentences(text))


_DEPS_RE = re.compile(r"\bdependenc(?:y|ies)\b|\bdeps\b", re.I)
_DEPS_SAID_RE = re.compile(r"^(?:number\s+of\s+)?dependenc(?:y|ies)\s+identified\.?$", re.I)


def mentions_dependencies(text: str) -> bool:
    return _DEPS_RE.search(text) is not None


# -- one note ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    """A note as the paper gives it: its sentences, and what was done (for --explain)."""

    sentences: tuple[str, ...]
    changes: tuple[str, ...] = ()
    names_left: tuple[str, ...] = ()


def clean_sentence(
    sentence: str, words: Words, *, on: dt.date | None
) -> tuple[str, list[str], list[str]]:
    """One sentence in the papers' words: (sentence, what changed, names left in it)."""
    changes: list[str] = []
    s, used = expand_abbreviations(sentence, words.glossary)
    changes += used
    s, refs = replace_refs(s, words.titles)
    changes += [f"{r} → its title" for r in refs]
    s, named = drop_names(s, words.people, words.glossary)
    names = [n for n in named if not n.startswith("-")]
    changes += [
        f"dropped {n[1:]} with the preposition before the name" for n in named if n not in names
    ]
    s = _LEADING_STATUS_RE.sub("", s)
    s = year_quarters(s, on=on, start_month=words.start_month)
    s = _tidy(s)
    if not s:
        return "", changes, names
    return _full_stop(sentence_case(s)), changes, names


def clean_note(note: str, words: Words | None = None, *, on: dt.date | None = None) -> Cleaned:
    """A whole note in the papers' words: greeting and sign-off gone, one sentence at a
    time, sentences that only echo a status or say nothing dropped, no repeats."""
    words = words or Words()
    text, dropped = strip_signoff(note)
    changes = [d if d.startswith("greeting") else f"sign-off {d}" for d in dropped]
    sentences: list[str] = []
    names: list[str] = []
    for raw in split_sentences(text):
        if _CLOSING_RE.match(raw) or _SENT_FROM_RE.match(raw):
            changes.append(f"sign-off {raw!r}")
            continue
        s, what, left = clean_sentence(raw, words, on=on)
        changes += what
        names += left
        if s and not any(same_sentence(s, t) for t in sentences):
            sentences.append(s)
    return Cleaned(tuple(sentences), tuple(dict.fromkeys(changes)), tuple(dict.fromkeys(names)))


def without_repeats(
    sentences: Iterable[str], plain: Callable[[str], str] = lambda s: s
) -> list[str]:
    """Sentences in order, each said once; a bare "Dependencies identified." goes when
    another sentence already speaks of dependencies. ``plain`` spells acronyms out for the
    comparison, so "Embedded into BAU." repeats "Embedded into business as usual."."""
    out: list[str] = []
    for s in sentences:
        if not any(same_sentence(plain(s), plain(t)) for t in out):
            out.append(s)
    if any(mentions_dependencies(s) and not _DEPS_SAID_RE.match(s) for s in out):
        out = [s for s in out if not _DEPS_SAID_RE.match(s)]
    return out
