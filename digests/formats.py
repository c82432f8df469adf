"""The output formats, registered once: what the CLI's ``--format`` offers and what the
board's ``?format=`` accepts come from here, with each format's media type and suffix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DIGEST_FORMATS", "REPORT_FORMATS", "Formats", "OutputFormat"]


@dataclass(frozen=True)
class OutputFormat:
    name: str  # what the CLI calls it
    media_type: str
    suffix: str
    aliases: tuple[str, ...] = ()  # other names accepted for it (``md``)

    @property
    def binary(self) -> bool:
        return not self.media_type.startswith("text/")


TEXT = OutputFormat("text", "text/plain", ".txt")
MARKDOWN = OutputFormat("markdown", "text/markdown", ".md", aliases=("md",))
HTML = OutputFormat("html", "text/html", ".html")
SLACK = OutputFormat("slack", "application/json", ".json")  # the digest's Block Kit
DOCX = OutputFormat(
    "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
)


class Formats:
    """The formats one kind of output comes in, in the order the CLI lists them."""

    def __init__(self, *formats: OutputFormat) -> None:
        self._formats = formats

    def __iter__(self) -> Iterator[OutputFormat]:
        return iter(self._formats)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self._formats]

    @property
    def choices(self) -> list[str]:
        """Every name and alias, for ``click.Choice``."""
        return [n for f in self._formats for n in (f.name, *f.aliases)]

    def find(self, text: str) -> OutputFormat | None:
        """The format called ``text`` (its name or an alias), or ``None``."""
        wanted = text.strip().lower()
        return next((f for f in self._formats if wanted in (f.name, *f.aliases)), None)

    def canonical(self, text: str) -> str:
        """The name of the format called ``text`` (``md`` → ``markdown``)."""
        found = self.find(text)
        if found is None:
            raise ValueError(f"{text!r} is not one of {self.spoken()}")
        return found.name

    def spoken(self) -> str:
        """``markdown (md), html, text or docx``: the choices, for an error message."""
        words = [f"{f.name} ({', '.join(f.aliases)})" if f.aliases else f.name for f in self]
        return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


DIGEST_FORMATS = Formats(TEXT, MARKDOWN, SLACK, HTML)
REPORT_FORMATS = Formats(MARKDOWN, HTML, TEXT, DOCX)
