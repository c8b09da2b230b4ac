"""How every published view says things: labels, markers and colours shared by the writers.

Three kinds of mark sit on a figure, and none can be taken for another:

* **RAG status** (against the measure's target): a colour *and* a shape *and* a word, ``● Green``,
  ``◆ Amber``, ``■ Red``. The colours are Okabe and Ito's colour-blind-safe palette (bluish green,
  orange, vermillion), each dark enough for black text; the shape and the word carry the meaning
  without colour (print in black and white, colour blindness). A figure with no target has no
  RAG status and no colour.
* **Direction of travel** (against the month before, and the same month a year before, read
  against what good looks like): ``▲ better``, ``▼ worse``, ``► same``, in the text colour (the
  arrow points to better, not to up).
* **Flags** (what the quality gate says about the figure): a bracketed letter after the number,
  ``[w]`` warning, ``[s]`` signed off, ``[r]`` restated, and an outline in a neutral dark grey,
  dashed, double or dotted, never a fill: a flag says nothing about performance.
"""

from __future__ import annotations

from datetime import date

from dagster_project.contract import NOT_AVAILABLE, PERCENT
from dagster_project.publish.outputs.data import (
    AMBER,
    BETTER,
    FLAG_ORDER,
    GREEN,
    RED,
    RESTATED,
    SAME,
    SIGNED_OFF,
    SUPPRESSED,
    WARNING,
    WORSE,
    Figure,
    Measure,
    Publication,
    Status,
)

# ---- RAG -----------------------------------------------------------------------------------------
RAG_ORDER = (GREEN, AMBER, RED)
RAG_SHAPES = {GREEN: "●", AMBER: "◆", RED: "■"}
RAG_WORDS = {GREEN: "Green", AMBER: "Amber", RED: "Red"}
RAG_COLOURS = {GREEN: "009E73", AMBER: "E69F00", RED: "D55E00"}  # Okabe-Ito; black text on each
RAG_MEANINGS = {GREEN: "on or better than target", AMBER: "the wrong side of target, within its amber band",
                RED: "the wrong side of target, beyond its amber band"}
NO_AMBER_BAND = "no measure has an amber band, so none can be amber"
NO_TARGET = "no target"

# ---- direction of travel --------------------------------------------------------------------------
DIRECTION_ORDER = (BETTER, WORSE, SAME)
DIRECTION_SHAPES = {BETTER: "▲", WORSE: "▼", SAME: "►"}
# what the latest month is compared with (fct_scorecard_status), said in every key
DIRECTION_BASIS = ("both months as this extract records them, like every month of the table, not as an earlier "
                   "scorecard printed them")

# ---- flags ---------------------------------------------------------------------------------------
FLAG_MARKS = {WARNING: "w", SIGNED_OFF: "s", RESTATED: "r"}
FLAG_OUTLINES = {WARNING: "dashed", SIGNED_OFF: "double", RESTATED: "dotted"}  # CSS border styles
FLAG_INK = "404040"  # the neutral grey of every flag's outline and mark
FLAG_LABELS = {
    WARNING: "flagged by a data-quality check (warning)",
    SIGNED_OFF: "held by a data-quality check and signed off by a named person",
    RESTATED: "restated: not the figure the previous scorecard published for that month",
}
FLAG_WORDS = {WARNING: "warning", SIGNED_OFF: "signed off", RESTATED: "restated"}

NO_DATA_NOTE = ("no data: a zero denominator, or the month's own extract was not loaded (snapshot measures); "
                "n/a: the extract lacks the optional data")
SUPPRESSED_NOTE = ("c: suppressed to protect children's privacy (a count of 1 to 5, or a figure from which "
                   "one could be worked out)")


def month_label(d: date) -> str:
    """'Jul 23': how the report heads its month columns."""
    return d.strftime("%b %y")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:.1f}%" if unit == PERCENT else f"{value:,.0f}"


def display_value(fig: Figure, unit: str) -> str:
    """The figure as printed: the number, 'c' when suppressed, or why there is none."""
    if fig.is_suppressed("value"):
        return SUPPRESSED
    if fig.availability == NOT_AVAILABLE:
        return "n/a"
    if fig.value is None:
        return "no data"
    return format_value(fig.value, unit)


def marks(flags: tuple[str, ...]) -> str:
    """'[s,r]' for a figure's flags ('' for none)."""
    return f"[{','.join(FLAG_MARKS[f] for f in flags)}]" if flags else ""


def rag_text(rag: str | None) -> str:
    """'● Green', or '' when the figure has no RAG status."""
    return f"{RAG_SHAPES[rag]} {RAG_WORDS[rag]}" if rag in RAG_SHAPES else ""


def direction_text(direction: str | None) -> str:
    """'▲ better', or '' when there is no comparison."""
    return f"{DIRECTION_SHAPES[direction]} {direction}" if direction in DIRECTION_SHAPES else ""


def direction_against(direction: str | None, month: str, value: float | None, unit: str) -> str:
    """'▲ better than Nov 23 (3,095)', '► same as Dec 22 (56)': the direction, the month it is
    compared with and that month's figure (left out when not known, as in the public version);
    '' when there is no comparison."""
    if direction not in DIRECTION_SHAPES:
        return ""
    shown = f" ({format_value(value, unit)})" if value is not None else ""
    return f"{direction_text(direction)} {'as' if direction == SAME else 'than'} {month}{shown}"


def rag_key(pub: Publication) -> list[tuple[str, str]]:
    """The RAG colours a key lists, with their meanings: amber only when a measure has an amber
    band (without one no figure can be amber, and red is any figure the wrong side of target)."""
    banded = any(pub.latest(m.measure_id).status.amber_band is not None for m in pub.measures)
    if banded:
        return [(r, RAG_MEANINGS[r]) for r in RAG_ORDER]
    return [(GREEN, RAG_MEANINGS[GREEN]), (RED, f"the wrong side of target ({NO_AMBER_BAND})")]


def target_text(status: Status, measure: Measure) -> str:
    """The target as printed: '≤ 20.0%' (Low: at most), '≥ 85.0%' (High: at least), or ''."""
    if status.target is None:
        return ""
    return ("≥ " if measure.polarity == "High" else "≤ ") + format_value(status.target, measure.unit)


def amber_text(status: Status, measure: Measure) -> str:
    """Where amber ends: 'amber to 22.0%', or ''."""
    if status.target is None or status.amber_band is None:
        return ""
    edge = status.target - status.amber_band if measure.polarity == "High" else status.target + status.amber_band
    return f"amber to {format_value(edge, measure.unit)}"


def target_comparators(pub: Publication) -> list[str]:
    """Where the latest month's targets come from ('England 2023-24', ...), for a key."""
    return sorted({f.status.target_comparator for f in (pub.latest(m.measure_id) for m in pub.measures)
                   if f.status.target is not None and f.status.target_comparator})


def comparator_text(status: Status) -> str:
    """Where the target comes from: 'England 2023-24' ('' without a target)."""
    return status.target_comparator or "" if status.target is not None else ""


def flag_summary(series: list[Figure]) -> tuple[str, str]:
    """The flags of a measure's months, short enough for one line of the committee summary
    ('[s] [r]×5': a mark, and how many months carry it when more than one), and in words for its
    tooltip ('signed off: Dec 23; restated: Jan 23, ...')."""
    short, words = [], []
    for flag in FLAG_ORDER:
        months = [month_label(f.month) for f in series if flag in f.flags]
        if months:
            short.append(f"[{FLAG_MARKS[flag]}]" + (f"×{len(months)}" if len(months) > 1 else ""))
            words.append(f"{FLAG_WORDS[flag]}: {', '.join(months)}")
    return " ".join(short), "; ".join(words)


SPARK_LEVELS = "▁▂▃▄▅▆▇█"
SPARK_GAP = "·"


def text_sparkline(series: list[Figure]) -> str:
    """The series as eight-level block characters, one a month, '·' where there is no figure
    (none, not available or suppressed): a trend that prints in any font Excel falls back to."""
    values = [None if f.value is None or f.is_suppressed("value") else f.value for f in series]
    known = [v for v in values if v is not None]
    if not known:
        return SPARK_GAP * len(values)
    low, high = min(known), max(known)
    span = high - low
    top = len(SPARK_LEVELS) - 1
    return "".join(SPARK_GAP if v is None else SPARK_LEVELS[round((v - low) / span * top) if span else top // 2]
                   for v in values)


def polarity_text(measure: Measure) -> str:
    """What good looks like, with an arrow unlike the direction of travel's: '↑ High', '↓ Low'."""
    return "↑ High" if measure.polarity == "High" else "↓ Low"
