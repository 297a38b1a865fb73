"""Characters that text must not carry into an output: one definition for the name rule
(``alleycat.domain.events``) and for the escapes on the way out (``alleycat.support.escape``)."""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates (LRE..RLO, LRI..PDI): they reorder how the text
# around a name is displayed (a name could show as someone else's, or flip a board's columns).
# The marks LRM/RLM (U+200E/F) only affect neutral characters and stay; so do joiners (emoji).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control(char: str) -> bool:
    """A control character (category Cc: newlines, tabs, NUL, ESC, C1 controls) or a bidi control."""
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS
