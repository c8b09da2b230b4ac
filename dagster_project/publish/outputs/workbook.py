"""scorecard.xlsx: the committee workbook (openpyxl).

Sheets, each formatted for printing (landscape A4, fit to one page wide, header row repeated on
every page, frozen header, column widths, number formats, page numbers in the footer):

* ``Scorecard`` - the report's own table: one row per measure under its section, the measure as
  printed in the report, what good looks like, the last 6 months, the direction of travel
  against polarity, and the flags. A flagged figure carries its mark in its number format
  (``23.4% [w]``), a coloured fill and a cell comment with the explanation.
* ``Scorecard 12 months`` - the same for the 12 months M-11 .. M.
* ``Numerators and denominators`` - one row per measure and month: value, numerator,
  denominator, availability, flag and note (filterable).
* ``Definitions`` - the measure catalogue.
* ``Quality summary`` - the run's checks: counts, every flag with its figures and sign-off,
  restatements.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dagster_project.publish.outputs.data import (
    COUNT,
    FLAG_LABELS,
    FLAG_MARKS,
    NOT_AVAILABLE,
    RESTATED,
    SIGNED_OFF,
    SUPPRESSED,
    WARNING,
    Figure,
    Measure,
    ScorecardData,
    month_label,
)

SHEETS = ("Scorecard", "Scorecard 12 months", "Numerators and denominators", "Definitions", "Quality summary")
TABLE_HEADER_ROW = 4  # the header row of both scorecard sheets
MEASURE_HEADER = "Measure (as printed in the report)"
POLARITY_HEADER = "What good looks like"
DIRECTION_HEADER = "Direction of travel"
FLAGS_HEADER = "Flags and notes"
FIGURES_HEADERS = ("Section", "Measure (as printed in the report)", "Measure id", "Month", "Value", "Unit",
                   "Numerator", "Denominator", "Availability", "Flags", "Note")
DEFINITION_HEADERS = ("Section", "Measure (as printed in the report)", "Measure (specification)",
                      "Measure id", "What good looks like", "Unit", "Snapshot measure", "Needs", "Definition")

NAVY = "1D3557"
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
SECTION_FILL = PatternFill("solid", fgColor="D9E2F3")
FLAG_FILLS = {WARNING: PatternFill("solid", fgColor="FFE699"),
              SIGNED_OFF: PatternFill("solid", fgColor="BDD7EE"),
              RESTATED: PatternFill("solid", fgColor="E2EFDA")}
WHITE_BOLD = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
GREY = Font(italic=True, color="7F7F7F")
GOOD, BAD = Font(color="00703C", bold=True), Font(color="C00000", bold=True)
NO_DATA_NOTE = ("no data: a zero denominator, or the month's own extract was not loaded (snapshot measures); "
                "n/a: the extract lacks the optional data")
SUPPRESSED_NOTE = ("c: suppressed to protect children's privacy (a count of 1 to 5, or a figure from which "
                   "one could be worked out)")


def number_format(unit: str, flags: tuple[str, ...] = ()) -> str:
    """Excel number format: the number stays a number; a flag's mark is printed after it."""
    suffix = "" if unit == COUNT else "%"
    if flags:
        suffix += " [" + ",".join(FLAG_MARKS[f] for f in flags) + "]"
    return ("#,##0" if unit == COUNT else "0.0") + (f'"{suffix}"' if suffix else "")


def _header(ws: Worksheet, row: int, headers: list[str] | tuple[str, ...]) -> None:
    for col, text in enumerate(headers, 1):
        c = ws.cell(row=row, column=col, value=text)
        c.font, c.fill, c.border = WHITE_BOLD, HEADER_FILL, BOX
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center" if col > 2 else "left")


def _print_setup(ws: Worksheet, title_rows: str | None, landscape: bool = True) -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddFooter.right.text = "&A"
    ws.print_options.horizontalCentered = True


def _title(ws: Worksheet, data: ScorecardData, title: str, subtitle: str) -> None:
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14, color=NAVY)
    ws.cell(row=2, column=1, value=subtitle).font = Font(italic=True, size=9, color="404040")


def _write_figure(ws: Worksheet, row: int, col: int, fig: Figure, measure: Measure, public: bool) -> None:
    c = ws.cell(row=row, column=col)
    c.border = BOX
    c.alignment = Alignment(horizontal="right")
    if fig.is_suppressed("value"):
        c.value = SUPPRESSED
    elif fig.availability == NOT_AVAILABLE:
        c.value, c.font = "n/a", GREY
    elif fig.value is None:
        c.value, c.font = "no data", GREY
    else:
        c.value = int(fig.value) if measure.unit == COUNT else float(fig.value)
        c.number_format = number_format(measure.unit, fig.flags)
    if fig.flags:
        c.fill = FLAG_FILLS[fig.flags[0]]
        if fig.note:
            c.comment = Comment(fig.note[:2000], "csc-warehouse", width=400, height=160)


def _scorecard_sheet(wb: Workbook, data: ScorecardData, name: str, n_months: int) -> Worksheet:
    ws = wb.create_sheet(name)
    months = data.months[-n_months:]
    public = " (public version: counts of 1 to 5 children shown as c)" if data.public else ""
    _title(ws, data, f"Children's social care improvement scorecard: {data.month:%B %Y}{public}",
           f"From the extract of {data.month:%B %Y}; generated {data.generated_at:%d %b %Y %H:%M} UTC. "
           f"Last {n_months} months. Direction of travel: {months[-1]:%b %y} against {months[-2]:%b %y}, "
           "read against what good looks like. Marks: [w] warning, [s] signed off, [r] restated "
           "(see the cell's comment and the Quality summary sheet).")
    headers = [MEASURE_HEADER, POLARITY_HEADER, *(month_label(m) for m in months), DIRECTION_HEADER,
               FLAGS_HEADER]
    _header(ws, TABLE_HEADER_ROW, headers)
    ws.row_dimensions[TABLE_HEADER_ROW].height = 30
    row = TABLE_HEADER_ROW + 1
    last_col = len(headers)
    for section, measures in data.sections:
        c = ws.cell(row=row, column=1, value=section)
        c.font = Font(bold=True, color=NAVY)
        for col in range(1, last_col + 1):
            ws.cell(row=row, column=col).fill = SECTION_FILL
        row += 1
        for m in measures:
            ws.cell(row=row, column=1, value=m.name).alignment = Alignment(wrap_text=True, vertical="top")
            ws.cell(row=row, column=2, value=m.polarity).alignment = Alignment(horizontal="center")
            for i, month in enumerate(months):
                _write_figure(ws, row, 3 + i, data.figure(m.measure_id, month), m, data.public)
            d = data.direction(m.measure_id)
            dc = ws.cell(row=row, column=3 + len(months), value=d.text or "")
            dc.font = GOOD if d.verdict == "improving" else BAD if d.verdict == "worsening" else GREY
            dc.alignment = Alignment(wrap_text=True, vertical="top")
            notes = [f"{month_label(f.month)} [{','.join(FLAG_MARKS[x] for x in f.flags)}]: {f.note or ''}"
                     for f in (data.figure(m.measure_id, mo) for mo in months) if f.flags]
            availability = {data.figure(m.measure_id, mo).availability for mo in months}
            if availability == {NOT_AVAILABLE}:
                notes.append("not available: the extract lacks the optional data this measure needs "
                             f"({m.requires_feature or 'see Definitions'})")
            nc = ws.cell(row=row, column=last_col, value="\n".join(notes) or None)
            nc.alignment = Alignment(wrap_text=True, vertical="top")
            nc.font = Font(size=8)
            for col in range(1, last_col + 1):
                ws.cell(row=row, column=col).border = BOX
            row += 1
    row += 1
    for flag in (WARNING, SIGNED_OFF, RESTATED):
        c = ws.cell(row=row, column=1, value=f"[{FLAG_MARKS[flag]}] {FLAG_LABELS[flag]}")
        c.fill, c.font = FLAG_FILLS[flag], Font(size=9)
        row += 1
    ws.cell(row=row, column=1, value=NO_DATA_NOTE).font = GREY
    if data.public:
        ws.cell(row=row + 1, column=1, value=SUPPRESSED_NOTE).font = GREY
    ws.column_dimensions["A"].width = 58
    ws.column_dimensions["B"].width = 11
    for i in range(len(months)):
        ws.column_dimensions[get_column_letter(3 + i)].width = 11
    ws.column_dimensions[get_column_letter(3 + len(months))].width = 26
    ws.column_dimensions[get_column_letter(last_col)].width = 60
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=3)
    _print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _cell_number(value: int | float | None, suppressed: bool):
    return SUPPRESSED if suppressed else value


def _figures_sheet(wb: Workbook, data: ScorecardData) -> Worksheet:
    ws = wb.create_sheet(SHEETS[2])
    _title(ws, data, "Numerators and denominators",
           "Every figure of the scorecard with the counts it is computed from "
           "(percentages: 100 x numerator / denominator, to one decimal place; counts: the numerator).")
    _header(ws, TABLE_HEADER_ROW, FIGURES_HEADERS)
    row = TABLE_HEADER_ROW + 1
    for _, measures in data.sections:
        for m in measures:
            for month in data.months:
                f = data.figure(m.measure_id, month)
                vals = [m.section, m.name, m.measure_id, month_label(month),
                        _cell_number(f.value if m.unit != COUNT or f.value is None else int(f.value),
                                     f.is_suppressed("value")),
                        m.unit,
                        _cell_number(f.numerator, f.is_suppressed("numerator")),
                        None if m.unit == COUNT else _cell_number(f.denominator,
                                                                  f.is_suppressed("denominator")),
                        f.availability if not f.suppressed else "suppressed",
                        ",".join(f.flags) or None, f.note]
                for col, v in enumerate(vals, 1):
                    c = ws.cell(row=row, column=col, value=v)
                    c.border = BOX
                    if col == 5 and isinstance(v, int | float):
                        c.number_format = number_format(m.unit)
                    elif col in (7, 8) and isinstance(v, int):
                        c.number_format = "#,##0"
                    if col in (5, 7, 8) and v == SUPPRESSED:
                        c.alignment = Alignment(horizontal="right")
                if f.flags:
                    ws.cell(row=row, column=5).fill = FLAG_FILLS[f.flags[0]]
                row += 1
    ws.auto_filter.ref = f"A{TABLE_HEADER_ROW}:{get_column_letter(len(FIGURES_HEADERS))}{row - 1}"
    for col, width in enumerate((22, 50, 30, 9, 10, 8, 11, 12, 13, 12, 60), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=1)
    _print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _definitions_sheet(wb: Workbook, data: ScorecardData) -> Worksheet:
    ws = wb.create_sheet(SHEETS[3])
    _title(ws, data, "Definitions", "From the measure catalogue (seeds/measures.csv; spec/SCORECARD.md). "
           "M is the month, E its last day; WD(a, b) counts working days after a up to b.")
    _header(ws, TABLE_HEADER_ROW, DEFINITION_HEADERS)
    row = TABLE_HEADER_ROW + 1
    for section, measures in data.sections:
        for m in measures:
            vals = [section, m.name, m.spec_name, m.measure_id, m.polarity, m.unit,
                    "yes: each month from its own extract" if m.is_snapshot else "no", m.requires_feature,
                    m.definition]
            for col, v in enumerate(vals, 1):
                c = ws.cell(row=row, column=col, value=v)
                c.border, c.alignment = BOX, Alignment(wrap_text=True, vertical="top")
            row += 1
    for col, width in enumerate((22, 42, 42, 26, 11, 8, 14, 20, 70), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=1)
    _print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _quality_sheet(wb: Workbook, data: ScorecardData) -> Worksheet:
    ws = wb.create_sheet(SHEETS[4])
    q = data.quality
    _title(ws, data, "Quality summary",
           f"The data-quality checks of the run that published this scorecard (run {data.run_id[:8]}). "
           "The full quality report is quality_report.html beside this workbook.")
    row = 4
    counts = q.counts if q else {}
    for label, key in (("Outcome", None), ("Checks failed (blocking)", "failed"),
                       ("Signed off", "signed_off"), ("Warnings", "warn"), ("Passed", "passed")):
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        outcome = q.outcome if q else "unknown"
        ws.cell(row=row, column=2, value=outcome if key is None else counts.get(key, 0))
        row += 1
    if q and q.dbt_counts:
        ws.cell(row=row, column=1, value="dbt tests").font = Font(bold=True)
        ws.cell(row=row, column=2, value=", ".join(f"{v} {k}" for k, v in sorted(q.dbt_counts.items())))
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Flags").font = Font(bold=True, size=12, color=NAVY)
    row += 1
    headers = ("Check", "Severity", "Status", "Measure", "Figures (the check's summary)", "Signed off by",
               "Signed off at (UTC)", "Reason")
    _header(ws, row, headers)
    header_row = row
    row += 1
    flags = q.flags if q else []
    names = {m.measure_id: m.name for m in data.measures}
    for f in flags:
        vals = [f["check_id"], f["severity"], f["status"], names.get(f["measure_id"] or "", f["measure_id"]),
                f["summary"] or None, f["signed_off_by"],
                f["signed_off_at"].strftime("%Y-%m-%d %H:%M") if f["signed_off_at"] else None,
                f["signoff_reason"]]
        for col, v in enumerate(vals, 1):
            c = ws.cell(row=row, column=col, value=v)
            c.border, c.alignment = BOX, Alignment(wrap_text=True, vertical="top")
        status_fill = {"warn": FLAG_FILLS[WARNING], "signed_off": FLAG_FILLS[SIGNED_OFF]}.get(f["status"])
        if status_fill:
            ws.cell(row=row, column=3).fill = status_fill
        row += 1
    if not flags:
        ws.cell(row=row, column=1, value="No check flagged anything.").font = GREY
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Restatements").font = Font(bold=True, size=12, color=NAVY)
    row += 1
    _header(ws, row, ("Measure", "Month", "Published in the scorecard of", "Published value", "Value now"))
    row += 1
    for r in data.restatements:
        m = data.measure(r.measure_id)
        vals = [m.name, month_label(r.month), r.previous_extract_month.strftime("%Y-%m"),
                r.previous_value if not data.public else None, r.value if not data.public else None]
        for col, v in enumerate(vals, 1):
            c = ws.cell(row=row, column=col, value=v)
            c.border = BOX
            if col in (4, 5) and v is not None:
                c.number_format = number_format(m.unit)
        row += 1
    if not data.restatements:
        ws.cell(row=row, column=1, value="No figure of this scorecard was published earlier with "
                                         "another value.").font = GREY
    for col, width in enumerate((34, 10, 11, 40, 70, 20, 18, 50), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    _print_setup(ws, f"{header_row}:{header_row}")
    return ws


def write_workbook(data: ScorecardData, path: Path) -> Path:
    """Write scorecard.xlsx for ``data`` (internal or public version) to ``path``."""
    wb = Workbook()
    wb.remove(wb.active)
    _scorecard_sheet(wb, data, SHEETS[0], 6)
    _scorecard_sheet(wb, data, SHEETS[1], 12)
    _figures_sheet(wb, data)
    _definitions_sheet(wb, data)
    _quality_sheet(wb, data)
    wb.properties.title = f"Children's social care scorecard {data.month:%Y-%m}"
    wb.properties.creator = "csc-warehouse"
    wb.properties.created = wb.properties.modified = data.generated_at
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def months_of(ws: Worksheet) -> list[str]:
    """The month headers of a scorecard sheet (for tests and readers)."""
    skip = (DIRECTION_HEADER, FLAGS_HEADER, None)
    return [c.value for c in ws[TABLE_HEADER_ROW][2:] if c.value not in skip]

