"""Values shown on a terminal that cannot forge rows, colours or hyperlinks.

A group label, respondent id or column name comes from the user's data. On a
terminal a newline or carriage return in it starts a forged table row; an ESC
sequence (``\\x1b[31m``, or an OSC 8 hyperlink ``\\x1b]8;;http://x\\x1b\\\\``)
recolours the screen or turns text into a link; bidirectional controls
reorder what is shown. :func:`printable` writes every such character as a
visible escape (``\\n``, ``\\x1b``, ``\\u202e``) so the value stays on its line
and means nothing to the terminal; :func:`terminal_text` does the same to a
whole multi-line text (a summary or an error message), keeping its own line
breaks.
"""

from __future__ import annotations

#: Control characters (C0, DEL, C1), line and paragraph separators, and bidirectional controls.
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_VALUE_TABLE = {code: _escape(code) for code in _UNSAFE}
_TEXT_TABLE = {code: text for code, text in _VALUE_TABLE.items() if code != 0x0A}


def printable(value: object) -> str:
    """A value for one line of a terminal table: control characters shown as escapes.

    Examples
    --------
    >>> printable("North\\nall  99  5.00")
    'North\\\\nall  99  5.00'
    >>> printable("\\x1b]8;;http://x\\x1b\\\\click\\x1b]8;;\\x1b\\\\")
    '\\\\x1b]8;;http://x\\\\x1b\\\\click\\\\x1b]8;;\\\\x1b\\\\'
    >>> printable(3), printable("Clínica Sur")
    ('3', 'Clínica Sur')
    """
    return str(value).translate(_VALUE_TABLE)


def terminal_text(text: str) -> str:
    """A whole text for the terminal: its line breaks kept, every other control character escaped.

    Examples
    --------
    >>> terminal_text("line 1\\nline 2 \\x1b[2J\\r")
    'line 1\\nline 2 \\\\x1b[2J\\\\r'
    """
    return text.translate(_TEXT_TABLE)


__all__ = ["printable", "terminal_text"]
