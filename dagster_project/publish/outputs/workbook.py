"""scorecard.xlsx: the committee workbook (openpyxl), from the publication.

Sheets, each formatted for printing (landscape A4, fit to the page width, header row repeated,
frozen header, column widths, number formats, page numbers in the footer):

* ``Committee summary`` - one page (print area, fit to one page): per measure the latest figure,
  target, RAG status, direction of travel against the month before and the same month last year,
  a 12-month trend (a text sparkline: eight-level blocks, one a month, that print in any font) and
  the flags, under a key.
* ``Scorecard`` - the report's own table: the last 6 months, what good looks like, target, RAG,
  direction and the flags with their notes; ``Scorecard 12 months`` the same for M-11 .. M.
* ``Numerators and denominators`` - one row per measure and month (filterable): the figure, its
  counts, availability, target (and where it comes from), RAG, direction, flags and note.
* ``Definitions`` - the measure catalogue. ``Quality summary`` - the run's checks and restatements.

Numbers are what Excel expects (:mod:`.xlsx`): percentages as fractions in ``0.0%``, counts as
integers, months and times as dates. A flagged figure has its mark in its number format
(``23.4% [w]``), a neutral outline and a comment; colour is only ever a RAG status, always with
its shape and word. The file is byte-identical for the same publication (:func:`save_reproducibly`).
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dagster_project.contract import NOT_AVAILABLE
from dagster_project.publish.outputs.data import FLAG_ORDER, RESTATED, Measure, Publication
from dagster_project.publish.outputs.present import (
    DIRECTION_BASIS,
    DIRECTION_ORDER,
    DIRECTION_SHAPES,
    FLAG_LABELS,
    FLAG_MARKS,
    NO_DATA_NOTE,
    NO_TARGET,
    SUPPRESSED_NOTE,
    direction_text,
    flag_summary,
    marks,
    month_label,
    polarity_text,
    rag_key,
    rag_text,
    target_comparators,
    text_sparkline,
)
from dagster_project.publish.outputs.xlsx import (
    BOLD,
    BOX,
    FLAG_BORDERS,
    GREY,
    MONTH_FORMAT,
    NAVY,
    SECTION_FILL,
    excel_number,
    header,
    number_format,
    print_setup,
    put,
    put_figure,
    rag_cell,
    save_reproducibly,
    title,
)

SHEETS = ("Committee summary", "Scorecard", "Scorecard 12 months", "Numerators and denominators", "Definitions",
          "Quality summary")
TABLE_HEADER_ROW = 4  # the header row of the committee and scorecard sheets
MEASURE_HEADER = "Measure (as printed in the report)"
POLARITY_HEADER = "What good looks like"
TARGET_HEADER, RAG_HEADER = "Target", "RAG"
DIRECTION_HEADER = "Direction of travel"  # against the month before
YEAR_HEADER = "Against the same month last year"
FLAGS_HEADER = "Flags and notes"
TREND_FONT = Font(name="Consolas", size=11, color=NAVY)
FIGURES_HEADERS = ("Section", "Measure (as printed in the report)", "Measure id", "Month", "Value", "Unit",
                   "Numerator", "Denominator", "Availability", "Target", "Amber band", "RAG status",
                   "Against the month before", "Against the same month last year", "Target: comparator",
                   "Target: source", "Flags", "Note")
DEFINITION_HEADERS = ("Section", "Measure (as printed in the report)", "Measure (specification)",
                      "Measure id", "What good looks like", "Unit", "Snapshot measure", "Needs", "Definition")


def _target(ws: Worksheet, row: int, col: int, pub: Publication, m: Measure) -> None:
    st = pub.latest(m.measure_id).status
    if st.target is None:
        put(ws, row, col, NO_TARGET).font = GREY
    else:
        put(ws, row, col, excel_number(st.target, m.unit),
            number_format(m.unit, prefix="≥ " if m.polarity == "High" else "≤ "))
    c = ws.cell(row=row, column=col)
    c.alignment, c.border = Alignment(horizontal="right", vertical="center"), BOX


def _section_row(ws: Worksheet, row: int, section: str, last_col: int) -> None:
    put(ws, row, 1, section).font = Font(bold=True, color=NAVY)
    for col in range(1, last_col + 1):
        ws.cell(row=row, column=col).fill = SECTION_FILL


def _key(ws: Worksheet, row: int, pub: Publication, against: str) -> int:
    """The key under a scorecard table: RAG, direction, flags, gaps. Returns the next free row."""
    put(ws, row, 1, "RAG: the latest figure against its target (no colour: no target)").font = BOLD
    key = rag_key(pub)
    for i, (rag, meaning) in enumerate(key):
        rag_cell(ws, row + 1 + i, 1, rag).alignment = Alignment(horizontal="left")
        put(ws, row + 1 + i, 2, meaning).font = Font(size=9)
    row += 1 + len(key)
    comparators = target_comparators(pub)
    if comparators:
        put(ws, row, 1, f"Targets: {', '.join(comparators)} (the Numerators and denominators sheet gives the "
            "source of each)").font = Font(size=9)
        row += 1
    directions = ", ".join(f"{DIRECTION_SHAPES[d]} {d}" for d in DIRECTION_ORDER)
    put(ws, row, 1, f"Direction of travel against {against} ({DIRECTION_BASIS}), read against what good looks "
        f"like: {directions} "
        "(the arrow points to better). What good looks like: ↑ High, ↓ Low.").font = Font(size=9)
    row += 1
    for flag in FLAG_ORDER:
        c = put(ws, row, 1, f"[{FLAG_MARKS[flag]}] {FLAG_LABELS[flag]} (the mark after the number, this outline)")
        c.border, c.font = FLAG_BORDERS[flag], Font(size=9)
        row += 1
    put(ws, row, 1, NO_DATA_NOTE).font = GREY
    if pub.public:
        row += 1
        put(ws, row, 1, SUPPRESSED_NOTE).font = GREY
    return row + 1


def _committee_sheet(wb: Workbook, pub: Publication) -> Worksheet:
    ws = wb.create_sheet(SHEETS[0])
    months = pub.months
    last = months[-1]
    public = " (public version: counts of 1 to 5 children shown as c)" if pub.public else ""
    title(ws, f"Children's social care scorecard: {pub.month:%B %Y} - summary for the committee{public}",
          f"The latest month ({month_label(last)}) of every measure, from the extract of {pub.month:%B %Y}. "
          "The detail follows on the next sheets; publication.json beside this workbook says when it was published.")
    headers = [MEASURE_HEADER, "Good is", month_label(last), TARGET_HEADER, RAG_HEADER,
               f"vs {month_label(pub.month_before)}", f"vs {month_label(pub.year_before)}",
               f"Trend {month_label(months[0])} to {month_label(last)}", "Flags"]
    header(ws, TABLE_HEADER_ROW, headers)
    row = TABLE_HEADER_ROW + 1
    for section, measures in pub.sections:
        _section_row(ws, row, section, len(headers))
        row += 1
        for m in measures:
            series = pub.series(m.measure_id)
            st = series[-1].status
            put(ws, row, 1, m.name).alignment = Alignment(vertical="center")
            put(ws, row, 2, polarity_text(m)).alignment = Alignment(horizontal="center", vertical="center")
            put_figure(ws, row, 3, series[-1], m.unit)
            _target(ws, row, 4, pub, m)
            rag_cell(ws, row, 5, st.rag_status)
            for col, direction in ((6, st.direction_vs_previous_month), (7, st.direction_vs_same_month_last_year)):
                put(ws, row, col, direction_text(direction) or None).alignment = Alignment(horizontal="center")
            put(ws, row, 8, text_sparkline(series)).font = TREND_FONT
            short, words = flag_summary(series)
            c = put(ws, row, 9, short or None)
            c.font = Font(size=9)
            if words:
                c.comment = Comment(words, "csc-warehouse", width=300, height=80)
            for col in range(1, len(headers) + 1):
                if col != 3 or not series[-1].flags:
                    ws.cell(row=row, column=col).border = BOX
            row += 1
    end = _key(ws, row + 1, pub, f"{month_label(pub.month_before)} and {month_label(pub.year_before)}") - 1
    for col, width in enumerate((78, 9, 11, 11, 11, 11, 11, 16, 30), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[TABLE_HEADER_ROW].height = 30
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=2)
    ws.print_area = f"A1:{get_column_letter(len(headers))}{end}"
    print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}", one_page=True)
    return ws


def _scorecard_sheet(wb: Workbook, pub: Publication, name: str, n_months: int) -> Worksheet:
    ws = wb.create_sheet(name)
    months = pub.months[-n_months:]
    public = " (public version: counts of 1 to 5 children shown as c)" if pub.public else ""
    title(ws, f"Children's social care improvement scorecard: {pub.month:%B %Y}{public}",
          f"From the extract of {pub.month:%B %Y}. Last {n_months} months. Target and RAG of {months[-1]:%b %y}; "
          f"direction of travel against {month_label(pub.month_before)} and the same month last year, read against "
          "what good looks like. Marks: [w] warning, [s] signed off, [r] restated (the cell's comment and the "
          "Quality summary sheet say why).")
    headers = [MEASURE_HEADER, POLARITY_HEADER, *(month_label(m) for m in months), TARGET_HEADER, RAG_HEADER,
               DIRECTION_HEADER, YEAR_HEADER, FLAGS_HEADER]
    header(ws, TABLE_HEADER_ROW, headers)
    ws.row_dimensions[TABLE_HEADER_ROW].height = 30
    row, last_col, after = TABLE_HEADER_ROW + 1, len(headers), 3 + len(months)
    for section, measures in pub.sections:
        _section_row(ws, row, section, last_col)
        row += 1
        for m in measures:
            st = pub.latest(m.measure_id).status
            put(ws, row, 1, m.name).alignment = Alignment(wrap_text=True, vertical="top")
            put(ws, row, 2, m.polarity).alignment = Alignment(horizontal="center")
            for i, month in enumerate(months):
                put_figure(ws, row, 3 + i, pub.figure(m.measure_id, month), m.unit)
            _target(ws, row, after, pub, m)
            rag_cell(ws, row, after + 1, st.rag_status)
            put(ws, row, after + 2, direction_text(st.direction_vs_previous_month) or None)
            put(ws, row, after + 3, direction_text(st.direction_vs_same_month_last_year) or None)
            notes = [f"{month_label(f.month)} {marks(f.flags)}: {f.note or ''}"
                     for f in (pub.figure(m.measure_id, mo) for mo in months) if f.flags]
            if {pub.figure(m.measure_id, mo).availability for mo in months} == {NOT_AVAILABLE}:
                notes.append("not available: the extract lacks the optional data this measure needs "
                             f"({m.requires_feature or 'see Definitions'})")
            nc = put(ws, row, last_col, "\n".join(notes) or None)
            nc.alignment, nc.font = Alignment(wrap_text=True, vertical="top"), Font(size=8)
            for col in (1, 2, *range(after, last_col + 1)):
                ws.cell(row=row, column=col).border = BOX
            row += 1
    _key(ws, row + 1, pub, f"{month_label(pub.month_before)} and the same month last year")
    ws.column_dimensions["A"].width = 58
    ws.column_dimensions["B"].width = 11
    for col in range(3, after + 4):
        ws.column_dimensions[get_column_letter(col)].width = 11
    ws.column_dimensions[get_column_letter(last_col)].width = 60
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=3)
    print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _figures_sheet(wb: Workbook, pub: Publication) -> Worksheet:
    ws = wb.create_sheet(SHEETS[3])
    title(ws, "Numerators and denominators",
          "Every figure of the scorecard with the counts it is computed from (percentages: numerator / "
          "denominator, shown to one decimal place; counts: the numerator), its target, RAG and direction.")
    header(ws, TABLE_HEADER_ROW, FIGURES_HEADERS)
    row = TABLE_HEADER_ROW + 1
    for m in pub.measures:
        for month in pub.months:
            f = pub.figure(m.measure_id, month)
            st = f.status
            put(ws, row, 1, m.section)
            put(ws, row, 2, m.name)
            put(ws, row, 3, m.measure_id)
            put(ws, row, 4, month, MONTH_FORMAT)
            put_figure(ws, row, 5, f, m.unit, flagged=False)
            put(ws, row, 6, m.unit)
            for col, part, value in ((7, "numerator", f.numerator), (8, "denominator", f.denominator)):
                if col == 8 and m.unit == "count":
                    continue
                shown = "c" if f.is_suppressed(part) else value
                put(ws, row, col, shown, "#,##0" if isinstance(shown, int) else None).alignment = \
                    Alignment(horizontal="right")
            put(ws, row, 9, f.shown_availability)
            for col, value in ((10, st.target), (11, st.amber_band)):
                if value is not None:
                    put(ws, row, col, excel_number(value, m.unit), number_format(m.unit))
            put(ws, row, 12, rag_text(st.rag_status) or None)
            put(ws, row, 13, direction_text(st.direction_vs_previous_month) or None)
            put(ws, row, 14, direction_text(st.direction_vs_same_month_last_year) or None)
            put(ws, row, 15, st.target_comparator)
            put(ws, row, 16, st.target_source)
            put(ws, row, 17, ",".join(f.flags) or None)
            put(ws, row, 18, f.note)
            for col in range(1, len(FIGURES_HEADERS) + 1):
                ws.cell(row=row, column=col).border = BOX
            row += 1
    ws.auto_filter.ref = f"A{TABLE_HEADER_ROW}:{get_column_letter(len(FIGURES_HEADERS))}{row - 1}"
    for col, width in enumerate((22, 50, 30, 9, 10, 8, 11, 12, 13, 10, 10, 10, 12, 12, 11, 24, 12, 60), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=1)
    print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _definitions_sheet(wb: Workbook, pub: Publication) -> Worksheet:
    ws = wb.create_sheet(SHEETS[4])
    title(ws, "Definitions", "From the measure catalogue (seeds/measures.csv; spec/SCORECARD.md). "
          "M is the month, E its last day; WD(a, b) counts working days after a up to b.")
    header(ws, TABLE_HEADER_ROW, DEFINITION_HEADERS)
    row = TABLE_HEADER_ROW + 1
    for m in pub.measures:
        vals = [m.section, m.name, m.spec_name, m.measure_id, m.polarity, m.unit,
                "yes: each month from its own extract" if m.is_snapshot else "no", m.requires_feature, m.definition]
        for col, v in enumerate(vals, 1):
            c = put(ws, row, col, v)
            c.border, c.alignment = BOX, Alignment(wrap_text=True, vertical="top")
        row += 1
    for col, width in enumerate((22, 42, 42, 26, 11, 8, 14, 20, 70), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=1)
    print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return ws


def _quality_sheet(wb: Workbook, pub: Publication) -> Worksheet:
    ws = wb.create_sheet(SHEETS[5])
    q = pub.quality
    title(ws, "Quality summary",
          "The data-quality checks of the run that published this scorecard (publication.json beside "
          "this workbook names the run). The full quality report is quality_report.html beside it.")
    row = 4
    counts = q.counts if q else {}
    for label, key in (("Outcome", None), ("Checks failed (blocking)", "failed"),
                       ("Signed off", "signed_off"), ("Warnings", "warn"), ("Passed", "passed")):
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, (q.outcome if q else "unknown") if key is None else counts.get(key, 0))
        row += 1
    if q and q.dbt_counts:
        put(ws, row, 1, "dbt tests").font = BOLD
        put(ws, row, 2, ", ".join(f"{v} {k}" for k, v in q.dbt_counts.items()))
        row += 1
    row += 1
    put(ws, row, 1, "Flags").font = Font(bold=True, size=12, color=NAVY)
    row += 1
    header(ws, row, ("Check", "Severity", "Status", "Measure", "Figures (the check's summary)", "Signed off by",
                     "Signed off at (UTC)", "Reason"))
    header_row, row = row, row + 1
    names = {m.measure_id: m.name for m in pub.measures}
    for f in q.flags if q else ():
        vals = [f.check_id, f.severity, f.status, names.get(f.measure_id or "", f.measure_id), f.summary or None,
                f.signed_off_by, f.signed_off_at, f.signoff_reason]
        for col, v in enumerate(vals, 1):
            c = put(ws, row, col, v)
            c.border, c.alignment = BOX, Alignment(wrap_text=True, vertical="top")
        row += 1
    if not (q and q.flags):
        put(ws, row, 1, "No check flagged anything.").font = GREY
        row += 1
    row += 1
    put(ws, row, 1, "Restatements").font = Font(bold=True, size=12, color=NAVY)
    row += 1
    header(ws, row, ("Measure", "Month", "Published in the scorecard of", "Published value", "Value now"))
    row += 1
    for r in pub.restatements:
        m = pub.measure(r.measure_id)
        put(ws, row, 1, m.name)
        put(ws, row, 2, r.month, MONTH_FORMAT)
        put(ws, row, 3, r.previous_extract_month, MONTH_FORMAT)
        for col, value in ((4, r.previous_value), (5, r.value)):
            put(ws, row, col, excel_number(value, m.unit), number_format(m.unit) if value is not None else None)
        for col in range(1, 6):
            ws.cell(row=row, column=col).border = BOX
        ws.cell(row=row, column=2).border = FLAG_BORDERS[RESTATED]
        row += 1
    if not pub.restatements:
        put(ws, row, 1, "No figure of this scorecard was published earlier with another value.").font = GREY
    for col, width in enumerate((34, 10, 11, 40, 70, 20, 18, 50), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    print_setup(ws, f"{header_row}:{header_row}")
    return ws


def write_workbook(pub: Publication, path: Path) -> Path:
    """Write scorecard.xlsx for ``pub`` (internal or public version) to ``path``."""
    wb = Workbook()
    wb.remove(wb.active)
    _committee_sheet(wb, pub)
    _scorecard_sheet(wb, pub, SHEETS[1], 6)
    _scorecard_sheet(wb, pub, SHEETS[2], 12)
    _figures_sheet(wb, pub)
    _definitions_sheet(wb, pub)
    _quality_sheet(wb, pub)
    wb.active = 0
    wb.properties.title = f"Children's social care scorecard {pub.month:%Y-%m}"
    wb.properties.creator = "csc-warehouse"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_reproducibly(wb, path, datetime.combine(pub.month, time()))
    return path
