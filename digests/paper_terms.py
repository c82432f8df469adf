"""The plan's own terms in the paper: its glossary, its people, its deliverables' titles,
and quarters in the papers' form. Pure.

- :func:`expand_abbreviations` expands the glossary's abbreviations (``w/: with``) and
  the office's usual misspellings (``inital: initial``).
- :func:`replace_refs` turns references to other deliverables ("(CP-7)") into titles.
- :func:`drop_names` drops a person's first name with its preposition ("w/ Alex") unless
  the glossary says what the paper calls them.
- :func:`year_quarters` gives a quarter without a year its year ("Q3" in July 2022 is
  "Q3, 2022/23").
- :class:`AcronymSpeller` spells out each acronym at its first use in the paper.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from store import FinancialYearQuarter

__all__ = [
    "AcronymSpeller",
    "Glossary",
    "Words",
    "drop_names",
    "expand_abbreviations",
    "is_acronym",
    "replace_refs",
    "year_quarters",
]

# -- the glossary -------------------------------------------------------------------


def is_acronym(term: str) -> bool:
    """An acronym has two or more capitals ("ECRC", "MoJ", "CJ&CS"); anything else in the
    glossary is an abbreviation or a usual misspelling ("w/", "cllrs", "inital")."""
    return sum(c.isupper() for c in term) >= 2


def _term_pattern(term: str, *, plural: bool = False) -> str:
    body = re.escape(term)
    before = r"(?<![\w&/-])" if term[0].isalnum() else ""
    tail = r"(?P<s>s)?" if plural else ""
    after = (r"(?![\w&])" if plural else r"(?![\w&/-])") if term[-1].isalnum() else ""
    return before + body + tail + after


@dataclass(frozen=True)
class Glossary:
    """The plan's ``glossary:``: abbreviations to expand and acronyms to spell out."""

    terms: Mapping[str, str] = field(default_factory=dict)

    @property
    def abbreviations(self) -> dict[str, str]:
        return {t: e for t, e in self.terms.items() if not is_acronym(t)}

    @property
    def acronyms(self) -> dict[str, str]:
        return {t: e for t, e in self.terms.items() if is_acronym(t)}


@dataclass(frozen=True)
class Words:
    """Everything the paper's wording may draw on besides the notes themselves."""

    glossary: Glossary = field(default_factory=Glossary)
    people: tuple[str, ...] = ()  # full names from the plan's people list
    titles: Mapping[str, str] = field(default_factory=dict)  # REF -> title
    start_month: int = 4

    def plain(self, text: str) -> str:
        """``text`` with every acronym spelled out, for comparing what two sentences say."""
        for term, expansion in self.glossary.acronyms.items():
            text = re.sub(_term_pattern(term), expansion, text)
        return text


# -- quarters without a year ----------------------------------------------------------

_QUARTER_RE = re.compile(
    r"\b[Qq](?P<a>[1-4])(?:\s*/\s*[Qq]?(?P<b>[1-4]))?\b"
    r"(?P<year>\s*,?\s*(?:(?P<y4>\d{4})(?:\s*[/-]\s*\d{2,4})?|(?P<y2>\d{2})\s*[/-]\s*(?P<y2e>\d{2})\b))?"
)
_FORWARD_RE = re.compile(
    r"\b(?:will|to\s+be|plan(?:ned|s)?|schedul\w*|due|expect\w*|slip\w*|push\w*|mov(?:e|ed|ing)"
    r"|delay\w*|defer\w*|postpon\w*|revisit\w*|next|aim\w*|target\w*|until|by|from|start\w*"
    r"|launch(?:es|ing)?\s+in|now)\b",
    re.I,
)


def _year_label(year: int, start_month: int) -> str:
    return FinancialYearQuarter(year, 1, start_month).year_label


def year_quarters(sentence: str, *, on: dt.date | None, start_month: int = 4) -> str:
    """Quarters in the papers' form: "q3" is "Q3"; "Q4 22/23" is "Q4, 2022/23"; a quarter
    without a year is the next such quarter on or after the note's quarter ("Q3" in July
    2022 is "Q3, 2022/23"). A quarter already past in this financial year keeps no year
    unless the sentence looks forward ("revisit in Q1"): "In Q1 probation shared…" stays."""

    def fix(m: re.Match[str]) -> str:
        whole, year = m.group(0), m["year"] or ""
        typed = whole[: len(whole) - len(year)].replace("q", "Q")
        if m["y2"] is not None:
            if int(m["y2e"]) == (int(m["y2"]) + 1) % 100:
                return f"{typed}, {_year_label(2000 + int(m['y2']), start_month)}"
            return typed + year
        if year or on is None:
            return typed + year
        now = FinancialYearQuarter.of_date(on, start_month=start_month)
        if int(m["b"] or m["a"]) >= now.quarter:
            return f"{typed}, {_year_label(now.year, start_month)}"
        if _FORWARD_RE.search(sentence):
            return f"{typed}, {_year_label(now.year + 1, start_month)}"
        return typed

    return _QUARTER_RE.sub(fix, sentence)


# -- glossary, references and people --------------------------------------------------


def _match_case(found: str, expansion: str) -> str:
    if found[:1].isupper() and expansion[:1].islower():
        return expansion[:1].upper() + expansion[1:]
    return expansion


def expand_abbreviations(sentence: str, glossary: Glossary) -> tuple[str, list[str]]:
    """The glossary's abbreviations and misspellings expanded, longest term first; a term
    in lower case matches in any case ("Biz", "biz")."""
    used: list[str] = []
    for term, expansion in sorted(glossary.abbreviations.items(), key=lambda kv: -len(kv[0])):
        flags = re.I if term == term.lower() else 0
        pattern = re.compile(_term_pattern(term), flags)

        def sub(m: re.Match[str], expansion: str = expansion, flags: int = flags) -> str:
            return _match_case(m.group(0), expansion) if flags else expansion

        sentence, n = pattern.subn(sub, sentence)
        if n:
            used.append(f"{term} → {expansion}")
    return re.sub(r"\s{2,}", " ", sentence), used


_REF_RE = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,5})\b")


def replace_refs(sentence: str, titles: Mapping[str, str]) -> tuple[str, list[str]]:
    """References to other deliverables ("(CP-7)", "see cp-7") become their titles."""
    used: list[str] = []

    def sub(m: re.Match[str]) -> str:
        ref = f"{m.group(1).upper()}-{m.group(2)}"
        title = titles.get(ref)
        if title is None:
            return m.group(0)
        used.append(ref)
        return title.strip().rstrip(".;,")

    return _REF_RE.sub(sub, sentence), used


_PREPOSITION = r"(?i:with|w/|w|to|from|by|for|via|and|&|cc)"


def drop_names(sentence: str, people: Iterable[str], glossary: Glossary) -> tuple[str, list[str]]:
    """A person of the plan named in a note ("w/ Alex", "with Alex Morgan") is dropped with
    the preposition before them, unless the glossary says what the paper calls them (then
    :func:`expand_abbreviations` has already replaced the name). Returns the sentence and
    the names still in it (for the coordinator); a name dropped is given as "-Alex"."""
    left: list[str] = []
    for full in sorted(set(people), key=len, reverse=True):
        parts = full.split()
        if not parts or parts[0] in glossary.terms or full in glossary.terms:
            continue
        name = re.escape(parts[0]) + (
            r"(?:\s+" + re.escape(" ".join(parts[1:])) + ")?" if len(parts) > 1 else ""
        )
        sentence, n = re.subn(rf"\s*(?<![\w/]){_PREPOSITION}\s*{name}\b(?!')", "", sentence)
        if n:
            left.append(f"-{parts[0]}")  # dropped, with its preposition
        if re.search(rf"\b{name}\b", sentence):
            left.append(parts[0])
    return sentence, left


# -- acronyms at their first use --------------------------------------------------------


@dataclass
class AcronymSpeller:
    """Spells out each of the glossary's acronyms at its first use in the paper, in the
    order the paper is read: "Eastern Cyber Resilience Centre (ECRC)", then "ECRC"."""

    glossary: Glossary
    spelled: set[str] = field(default_factory=set)

    def apply(self, text: str) -> str:
        for term, expansion in sorted(self.glossary.acronyms.items(), key=lambda kv: -len(kv[0])):
            if term in self.spelled:
                continue
            match = re.search(_term_pattern(term, plural=True), text)
            if match is None:
                continue
            self.spelled.add(term)
            text = self._spell(text, match, term, expansion)
        return text

    @staticmethod
    def _spell(text: str, match: re.Match[str], term: str, expansion: str) -> str:
        plural = match["s"] or ""
        before = text[: match.start()]
        long = expansion + (plural if plural and not expansion.endswith("s") else "")
        rest = text[match.end() :]
        if re.match(
            r"['’]s\b", rest
        ):  # "the PCC's fund": "the Police and Crime Commissioner's (PCC's)"
            return f"{before}{long}{rest[:2]} ({term}{plural}{rest[:2]}){rest[2:]}"
        opened = before.endswith("(") and text[match.end() : match.end() + 1] == ")"
        if opened:
            words_before = before[:-1].rstrip().lower()
            if words_before.endswith(expansion.lower()) or words_before.endswith(long.lower()):
                return text  # already "Eastern Cyber Resilience Centre (ECRC)"
            return f"{before}{long}, {term}{plural}{text[match.end() :]}"
        return f"{before}{long} ({term}{plural}){text[match.end() :]}"
