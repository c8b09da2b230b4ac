"""Text that a spreadsheet will show, never run: the one guard against CSV and formula injection.

Every CSV and xlsx the warehouse writes can hold text that came from a person (sign-off names
and reasons) or from an extract or a seed (record ids, check summaries and messages, measure
names). A spreadsheet opening such a file runs a cell that begins with ``=``, ``+``, ``-`` or
``@`` (and, through some importers, tab or carriage return) as a formula:
``=HYPERLINK("http://evil.example","Jo Bloggs")`` becomes a live link, ``=cmd|...`` worse.

:func:`safe_text` neutralises such text as OWASP advises ("CSV Injection"): it prefixes a
single quote, so the cell is read as text and shown with the quote in front. The writers apply
it to text cells only: a number (``-3.5`` written as a number) stays a number. The xlsx writer
also stores every text cell as a string cell, never a formula (publish/outputs/xlsx.py); the
csv module quotes a cell holding the delimiter, a quote or a line break, so no text can start a
new cell of its own. HTML is escaped by jinja's autoescape instead (a different danger).
"""

from __future__ import annotations

from typing import TypeVar

# OWASP: the characters a spreadsheet reads as the start of a formula (tab and carriage return
# because some importers drop them and then read the rest).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"

T = TypeVar("T")


def safe_text(value: T) -> T:
    """``value`` as a spreadsheet may show it: text beginning with a formula character gets a
    single quote in front; anything that is not text (numbers, dates, None) is returned as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return PREFIX + value  # type: ignore[return-value]
    return value
