"""Messages posted to the UI thread (thread-safe `post_message`); the ones that repeat coalesce."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Progress(Message):
    """A preparation step (model build, export, loading) from the run worker."""

    text: str

    def can_replace(self, message: Message) -> bool:
        """Only the latest progress line matters."""
        return isinstance(message, Progress)


@dataclass
class RunStarted(Message):
    """The run thread has started (the store now has t0)."""


@dataclass
class RunEnded(Message):
    """The run thread ended and the session file was finished. `error` is the message of what went wrong."""

    outcome: str
    error: str | None = None


@dataclass
class SeekTo(Message):
    """Seek the replay to `t_s` seconds after t0 (from the scrubber)."""

    t_s: float

    def can_replace(self, message: Message) -> bool:
        """While dragging, only the latest position matters."""
        return isinstance(message, SeekTo)
