"""The TUI draws the shared vocabulary: every status, event kind and tone has its look, taken from `vocab`."""

from __future__ import annotations

from infbench.tui.fmt import KIND_STYLE, TONE_STYLE, kind_style, status_style, tone_style
from infbench.tui.snapshot import status_text
from infbench.tui.widgets.backend_table import SHORT_STATUS
from infbench.vocab import EventKind, Status, Tone


def test_every_tone_is_a_theme_variable_or_plain_emphasis() -> None:
    assert set(TONE_STYLE) == set(Tone)
    for tone, style in TONE_STYLE.items():
        words = style.split()
        assert all(w.startswith("$") or w == "bold" for w in words), (tone, style)
    assert tone_style(Tone.BAD, bold=True) == "bold $text-error"
    assert tone_style(Tone.STRONG, bold=True) == "bold"


def test_event_kinds_take_glyph_tone_and_emphasis_from_the_enum() -> None:
    assert set(KIND_STYLE) == {k.value for k in EventKind}
    for kind in EventKind:
        glyph, style = kind_style(kind.value)
        assert glyph == kind.glyph and kind_style(kind) == (glyph, style)
        assert style == tone_style(kind.tone, bold=kind.bold)
    assert kind_style("a_kind_from_a_newer_writer") == ("·", "")


def test_statuses_take_their_words_and_tone_from_the_enum() -> None:
    for status in Status:
        assert status_text(status.value) == status.text
        assert status_style(status.value) == tone_style(status.tone)
        assert 0 < len(SHORT_STATUS[status]) <= 7  # the table's status column
    assert status_text("a_state_from_a_newer_writer") == "a_state_from_a_newer_writer"
    assert status_style("a_state_from_a_newer_writer") == ""
