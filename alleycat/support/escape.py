"""Escaping text on its way out: names (and any text from the data) are escaped for the output
they go to, whatever validation let in (older data, other writers). One function per output.

* ``terminal``: a control or bidi character becomes a visible ``\\u....`` escape, so text cannot
  move the cursor, recolour the terminal or reorder a line.
* ``csv_cell``: ``terminal``, and a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``,
  ``@``, tab, CR first) gets a leading ``'`` (OWASP's CSV injection advice).
* ``json_for_html``: JSON bytes with ``<``, ``>`` and ``&`` as ``\\u003c`` ... : the same JSON,
  but safe to embed in a page (no ``</script>`` or markup survives in it).
"""

from __future__ import annotations

from alleycat.support.characters import is_control

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if is_control(c) else c for c in text)


def csv_cell(text: str) -> str:
    safe = terminal(text)
    return "'" + safe if safe.startswith(_FORMULA_START) else safe


def json_for_html(body: bytes) -> bytes:
    # in JSON these bytes can only occur inside strings, where the \u form means the same
    return body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
