"""Row ids read from outside the database: a button payload, a console URL, an outbox ref.

Strict, because the text may be forged or replayed: only plain ASCII digits, in a range every
database's integer column holds."""

from __future__ import annotations

MAX_ID = 2**53  # fits any database's integer column (and a JavaScript number, for the console)


def parse_id(raw: object) -> int | None:
    """An id, or None unless plain ASCII digits in range ("²" is a digit to str.isdigit, and
    a 30-digit number overflows SQLite); 2**53 has 16 digits."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        return None
    value = int(text)
    return value if 0 < value < MAX_ID else None
