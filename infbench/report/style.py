"""How the report looks: the Rich colour of every `vocab.Tone`, defined once for results, analysis, compare
and sweep rendering (the TUI maps the same tones to Textual theme variables in `tui.fmt`)."""

from __future__ import annotations

from rich.markup import escape

from infbench.vocab import Tone, Verdict

WIN = "★"  # marks the winner of a metric

TONE_STYLES: dict[Tone, str] = {
    Tone.GOOD: "green",
    Tone.WARN: "yellow",
    Tone.BAD: "red",
    Tone.INFO: "cyan",
    Tone.NOTE: "magenta",
    Tone.MUTED: "dim",
    Tone.STRONG: "bold",
    Tone.PLAIN: "",
}

# verdicts of a comparison (`analysis.compare`): B faster is good news, slower bad, anything else plain
COMPARISON_TONES: dict[str, Tone] = {"faster": Tone.GOOD, "slower": Tone.BAD}


def styled(text: str, tone: Tone) -> str:
    """`text` (escaped) as Rich markup in the colour of `tone`."""
    style = TONE_STYLES[tone]
    return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)


def verdict_markup(verdict: Verdict) -> str:
    """A result's verdict as Rich markup in its tone (ok green, failed red, partial yellow)."""
    return styled(verdict.value, verdict.tone)


def comparison_markup(verdict: str) -> str:
    """A comparison verdict (``faster`` / ``slower`` / …) as Rich markup."""
    return styled(verdict, COMPARISON_TONES.get(verdict, Tone.PLAIN))
