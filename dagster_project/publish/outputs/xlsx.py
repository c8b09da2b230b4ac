"""How the workbook writes a cell: values typed for Excel, the shared styles, printing, saving.

* :func:`put` writes every cell: text through :func:`dagster_project.safe_text.safe_text` and
  stored as a string (never a formula or an error value); numbers as numbers; dates as dates.
* :func:`put_figure` writes a scorecard figure as Excel expects it: a percentage as a fraction
  (19.8 % is 0.198, format ``0.0%``), a count as an integer (``#,##0``); a flag's mark is in the
  number format (``0.0%" [s]"``: the cell stays a number) and its outline is the flag's neutral
  border (dashed, double, dotted in grey), never a fill.
* :func:`rag_cell` writes a RAG status as its shape and word on its Okabe-Ito colour.
* :func:`save_reproducibly`: the same workbook gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from dagster_project.publish.outputs.data import COUNT, RESTATED, SIGNED_OFF, WARNING, Figure
from dagster_project.publish.outputs.present import FLAG_INK, RAG_COLOURS, display_value, marks, rag_text
from dagster_project.safe_text import safe_text

NAVY = "1D3557"
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
SECTION_FILL = PatternFill("solid", fgColor="E8EDF5")
RAG_FILLS = {rag: PatternFill("solid", fgColor=colour) for rag, colour in RAG_COLOURS.items()}
WHITE_BOLD = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FLAG_SIDES = {WARNING: "mediumDashed", SIGNED_OFF: "double", RESTATED: "dotted"}  # Excel border styles
FLAG_BORDERS = {flag: Border(*(Side(style=style, color=FLAG_INK),) * 4) for flag, style in FLAG_SIDES.items()}
GREY = Font(italic=True, color="7F7F7F")
FLAG_FONT = Font(color=FLAG_INK)
BOLD = Font(bold=True)
DATE_FORMAT, MONTH_FORMAT, TIME_FORMAT = "yyyy-mm-dd", "mmm yy", "yyyy-mm-dd hh:mm"


def excel_number(value: float | None, unit: str) -> float | int | None:
    """A figure as the workbook stores it: a percentage as a fraction (0.198), a count as an integer."""
    if value is None:
        return None
    return int(value) if unit == COUNT else round(value / 100, 4)


def number_format(unit: str, flags: tuple[str, ...] = (), prefix: str = "") -> str:
    """Excel number format: the number stays a number; a prefix ('≤ ') before and a flag's mark after."""
    suffix = f" {marks(flags)}" if flags else ""
    body = "#,##0" if unit == COUNT else "0.0%"
    return (f'"{prefix}"' if prefix else "") + body + (f'"{suffix}"' if suffix else "")


def put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None) -> Cell:
    """Write one cell: text neutralised (safe_text) and stored as a string, never a formula or
    an error value (openpyxl would make ``=...`` a formula and ``#N/A`` an error); numbers as
    numbers, dates as dates (``yyyy-mm-dd`` unless ``number_format`` says otherwise)."""
    c = ws.cell(row=row, column=col)
    c.value = safe_text(value)
    if isinstance(value, str):
        c.data_type = "s"
    elif isinstance(value, datetime):
        c.number_format = TIME_FORMAT
    elif isinstance(value, date):
        c.number_format = DATE_FORMAT
    if number_format:
        c.number_format = number_format
    return c


def put_figure(ws: Worksheet, row: int, col: int, fig: Figure, unit: str, *, flagged: bool = True) -> Cell:
    """A scorecard figure: the number (its flags' marks in its format, their outline as its
    border, the explanation as a comment), or 'c', 'n/a', 'no data'."""
    if fig.value is None or fig.is_suppressed("value"):
        c = put(ws, row, col, display_value(fig, unit))
        c.font = Font() if fig.is_suppressed("value") else GREY
    else:
        c = put(ws, row, col, excel_number(fig.value, unit), number_format(unit, fig.flags if flagged else ()))
    c.alignment = Alignment(horizontal="right", vertical="center")
    c.border = BOX
    if flagged and fig.flags:
        c.border = FLAG_BORDERS[fig.flags[0]]
        if fig.value is not None:
            c.font = FLAG_FONT
        if fig.note:
            c.comment = Comment(fig.note[:2000], "csc-warehouse", width=400, height=160)
    return c


def rag_cell(ws: Worksheet, row: int, col: int, rag: str | None, empty: str = "") -> Cell:
    """'● Green' on its colour; a figure with no RAG status gets no colour (``empty`` in grey)."""
    if rag in RAG_FILLS:
        c = put(ws, row, col, rag_text(rag))
        c.fill, c.font = RAG_FILLS[rag], BOLD
    else:
        c = put(ws, row, col, empty or None)
        c.font = GREY
    c.alignment, c.border = Alignment(horizontal="center", vertical="center"), BOX
    return c


def header(ws: Worksheet, row: int, headers: list[str] | tuple[str, ...]) -> None:
    for col, text in enumerate(headers, 1):
        c = put(ws, row, col, text)
        c.font, c.fill, c.border = WHITE_BOLD, HEADER_FILL, BOX
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center" if col > 2 else "left")


def title(ws: Worksheet, text: str, subtitle: str) -> None:
    put(ws, 1, 1, text).font = Font(bold=True, size=14, color=NAVY)
    put(ws, 2, 1, subtitle).font = Font(italic=True, size=9, color="404040")


def print_setup(ws: Worksheet, title_rows: str | None, *, one_page: bool = False) -> None:
    """Landscape A4, one page wide (``one_page``: one page in all), page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddFooter.right.text = "&A"
    ws.print_options.horizontalCentered = True


def save_reproducibly(wb: Workbook, path: Path, stamp: datetime) -> None:
    """Save ``wb`` so that the same workbook gives the same bytes: the document's created and
    modified dates and every zip entry's time are ``stamp`` (openpyxl's ``save`` would use now)."""
    wb.properties.created = wb.properties.modified = stamp
    built = io.BytesIO()
    ExcelWriter(wb, ZipFile(built, "w", ZIP_DEFLATED, allowZip64=True)).save()  # closes the archive
    with ZipFile(built) as source, ZipFile(path, "w", ZIP_DEFLATED) as out:
        for info in source.infolist():
            entry = ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type, entry.external_attr = ZIP_DEFLATED, info.external_attr
            out.writestr(entry, source.read(info))
