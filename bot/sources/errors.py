"""What can go wrong reading a paper source, as small named exceptions carrying the culprit."""

from __future__ import annotations

SOURCE_LABELS = {"hf": "Hugging Face", "arxiv": "arXiv"}


class SourceError(Exception):
    """Base of every paper-source failure; callers catch this one at their boundary."""


class SourceFormatError(SourceError):
    """A file or response is not Hugging Face daily-papers JSON, arXiv Atom or arXiv RSS."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class SourceUnavailable(SourceError):
    """A source could not be fetched, after every retry; the message is one line for humans."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(self.message)

    @property
    def label(self) -> str:
        """The source's human name ('Hugging Face', 'arXiv')."""
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def message(self) -> str:
        """One line that says what failed; the caller says what it does instead (a digest goes
        on with the stored papers, `papers-bot fetch` fetched nothing), for only it knows."""
        return f"{self.label} unreachable: {self.reason}"


class UnknownSource(SourceError, ValueError):
    """A source name that is neither `hf` nor `arxiv`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown source {name!r}; use hf, arxiv or both")
        self.name = name


class Transient(Exception):
    """A failure worth another try (5xx, 429, timeout, dropped connection, an empty arXiv feed)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
