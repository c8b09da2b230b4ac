"""Named data-quality faults the demo generator can inject, for testing the quality gate.

Faults apply to the LAST generated month only (earlier months stay clean, so a run over the
months shows the gate passing and then stopping the faulty one). Each is big enough for a
reasonable check to notice; several may be combined and are applied in the order listed here.

Three stages, in the order the generator calls them for the faulty month:

* table faults (``FRAME_FAULTS``, :func:`inject_into_tables`) change the month's typed polars
  frames before the writer renders them, so they apply whatever the council's date, flag and
  header styles (dates stay dates, Enum code columns stay Enums). A fault whose column or table
  the extract does not carry (an optional one, or one another fault removed) falls back as its
  docstring says;
* file faults (:func:`inject_into_files`) act on the written CSV files:
  ``resent_previous_extract`` replaces them with byte-identical copies of the previous month's
  files (so it overrides every table fault combined with it);
* manifest faults (:func:`inject_into_manifest`) change the manifest built from the written files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dagster_project.contract import DATE_KINDS, TABLES_BY_NAME, code_descriptions, parse_month
from dagster_project.extracts.fault_catalogue import FAULTS
from dagster_project.extracts.manifest import file_sha256

SHARE = 0.05
BAD_DATES = ("31/13/2023", "not a date")
RESENT = "resent_previous_extract"
DAY_MONTH_TABLE = "ssd_contacts"  # day_month_swapped: every date column of this table
# codes_as_descriptions: the first of these (table, column, code list) the extract carries
DESCRIBED_CODES = (
    ("ssd_contacts", "cont_contact_source_code", "contact_source"),
    ("ssd_cin_episodes", "cine_referral_source_code", "contact_source"),
)
LOST_PLACEMENT_END_SHARE = 0.5  # placement_end_dates_lost: share of the ended placements
LOST_MISSING_SHARE = 0.5  # missing_episodes_half_lost: share of the month's episodes
# contact_outcome_flag_lost: the key contacts_to_referral_pct counts (SCORECARD.md; absent = not Y)
LOST_OUTCOME_KEY = "NEW_REFERRAL_FLAG"
POLICE_SOURCE = "6"


def check_faults(names: Sequence[str], first: date | None = None, last: date | None = None) -> tuple[str, ...]:
    """The fault names in application order; ValueError naming the valid ones on an unknown name.

    Given the run's ``first`` and ``last`` months, also ValueError when a fault needs an earlier
    month of the same run (``resent_previous_extract``) and the run has only one."""
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid faults: {', '.join(FAULTS)}")
    one_month = first is not None and last is not None and (first.year, first.month) == (last.year, last.month)
    if RESENT in names and one_month:
        raise ValueError(
            f"{RESENT} resends the previous month's files, so it needs at least two months in the run "
            f"(got only {first:%Y-%m}); start the run a month earlier"
        )
    return tuple(name for name in FAULTS if name in set(names))


def _some(rng: np.random.Generator, n: int, share: float = SHARE, of: int | None = None) -> np.ndarray:
    """A boolean mask choosing round(share x ``of``) of n rows (``of`` defaults to n; at least one
    when there are rows)."""
    chosen = np.zeros(n, dtype=bool)
    if n:
        chosen[rng.choice(n, size=min(n, max(1, round(share * (n if of is None else of)))), replace=False)] = True
    return chosen


def _duplicate_contacts(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    contacts = frames["ssd_contacts"]
    dated = contacts.filter(pl.col("cont_contact_date").is_between(*month))
    next_id = int(contacts["cont_contact_id"].max() or 0) + 1
    copies = dated.with_columns(cont_contact_id=pl.Series(np.arange(next_id, next_id + dated.height, dtype=np.int64)))
    frames["ssd_contacts"] = pl.concat([contacts, copies.cast(contacts.schema)])


def _truncated_table(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    frames["ssd_contacts"] = frames["ssd_contacts"].head(round(0.4 * frames["ssd_contacts"].height))


def _missing_column(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    frames["ssd_contacts"] = frames["ssd_contacts"].drop("cont_contact_source_code")


def _unparseable_dates(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    contacts = frames["ssd_contacts"]
    bad = _some(rng, contacts.height)
    text = np.array(BAD_DATES)[rng.integers(0, len(BAD_DATES), contacts.height)]
    frames["ssd_contacts"] = contacts.with_columns(
        cont_contact_date=pl.when(pl.Series(bad))
        .then(pl.Series(text))
        .otherwise(pl.col("cont_contact_date").dt.strftime("%Y-%m-%d"))
    )


def _overlapping_placements(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """Move the current placement's start back inside the previous placement of ~5% of children in care."""
    placements = frames["ssd_cla_placement"].with_row_index("_row")
    ordered = placements.sort(["clap_person_id", "clap_cla_placement_start_date", "_row"])
    ordered = ordered.with_columns(
        prev_start=pl.col("clap_cla_placement_start_date").shift(1).over("clap_person_id"),
        prev_end=pl.col("clap_cla_placement_end_date").shift(1).over("clap_person_id"),
    )
    in_care = ordered.filter(pl.col("clap_cla_placement_end_date").is_null())
    current = in_care.filter(pl.col("prev_start").is_not_null() & pl.col("prev_end").is_not_null())
    chosen = current.filter(pl.Series(_some(rng, current.height, of=in_care["clap_person_id"].n_unique())))
    overlap_start = chosen.select(
        "_row",
        new=pl.col("prev_start") + pl.duration(days=(pl.col("prev_end") - pl.col("prev_start")).dt.total_days() // 2),
    )
    placements = placements.join(overlap_start, on="_row", how="left", maintain_order="left")
    frames["ssd_cla_placement"] = placements.with_columns(
        clap_cla_placement_start_date=pl.coalesce("new", "clap_cla_placement_start_date")
    ).drop("_row", "new")


def _missing_end_before_start(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    missing = frames["ssd_missing"]
    ended = missing["miss_missing_episode_end_date"].is_not_null().to_numpy()
    bad = np.zeros(missing.height, dtype=bool)
    bad[np.flatnonzero(ended)[_some(rng, int(ended.sum()))]] = True
    frames["ssd_missing"] = missing.with_columns(
        miss_missing_episode_end_date=pl.when(pl.Series(bad))
        .then(
            pl.col("miss_missing_episode_start_date") - pl.duration(days=pl.Series(rng.integers(1, 11, missing.height)))
        )
        .otherwise(pl.col("miss_missing_episode_end_date"))
    )


def _all_rhi_accepted(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    missing = frames["ssd_missing"]
    offered = pl.col("miss_missing_episode_end_date").is_between(*month) & (pl.col("miss_missing_rhi_offered") == "Y")
    frames["ssd_missing"] = missing.with_columns(
        miss_missing_rhi_accepted=pl.when(offered)
        .then(pl.lit("Y").cast(missing["miss_missing_rhi_accepted"].dtype))
        .otherwise(pl.col("miss_missing_rhi_accepted"))
    )


def _map_text(column: pl.Series, mapped: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``mapped`` (String series -> String series) applied to a text column. An Enum column is
    mapped through its categories (a few hundred values at most, whatever the rows) and stays an
    Enum over the mapped values, so the writer renders it as it renders any code column."""
    if not isinstance(column.dtype, pl.Enum):
        return mapped(column.cast(pl.String)).alias(column.name)
    texts = mapped(column.dtype.categories)
    return texts.gather(column.to_physical()).cast(pl.Enum(texts.unique(maintain_order=True))).alias(column.name)


def _as_dates(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A date column as dates, also where another fault (unparseable_dates) turned it into text:
    text that is not an ISO date reads as NULL."""
    column = pl.col(name)
    return column if frame.schema[name] == pl.Date else column.cast(pl.String).str.to_date("%Y-%m-%d", strict=False)


def _with_dates(frame: pl.DataFrame, name: str, dates: pl.Expr) -> pl.Expr:
    """``dates`` stored back into column ``name``: as dates, or as ISO text (keeping the text of
    any value ``dates`` leaves NULL) when the column holds text."""
    if frame.schema[name] == pl.Date:
        return dates.alias(name)
    return pl.coalesce(dates.dt.strftime("%Y-%m-%d"), pl.col(name).cast(pl.String)).alias(name)


def _day_month_swapped(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    """A system upgrade writes one table's dates month-first: every date of ssd_contacts (the
    contact date, and the decision date where the council sends that optional column) whose day
    is 12 or less reads with day and month exchanged (2023-02-05 -> 2023-05-02); later days stay
    as they were, since no month 13 exists. Contacts move between months, some into the future."""
    frame = frames[DAY_MONTH_TABLE]
    table = TABLES_BY_NAME[DAY_MONTH_TABLE]
    swapped = []
    for column in table.columns:  # the table's date columns the extract carries (one or two)
        if column.kind in DATE_KINDS and column.name in frame.columns:
            day = _as_dates(frame, column.name)
            swap = pl.when(day.dt.day() <= 12).then(pl.date(day.dt.year(), day.dt.day(), day.dt.month()))
            swapped.append(_with_dates(frame, column.name, swap.otherwise(day)))
    frames[DAY_MONTH_TABLE] = frame.with_columns(swapped)


def _codes_as_descriptions(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    """After a system upgrade one table's codes arrive as their descriptions: every contact's
    source code is replaced by the DfE description of seeds/ssd_code_lists.csv ("6" -> "Police",
    "2A" -> "Schools", "3E" -> "Health: A&E"). Where ssd_contacts has no source column (another
    fault removed it), the referrals' source code (cine_referral_source_code) is hit instead."""
    for table, column, list_name in DESCRIBED_CODES:
        if table in frames and column in frames[table].columns:
            described = code_descriptions()[list_name]
            frames[table] = frames[table].with_columns(
                _map_text(frames[table][column], lambda codes, described=described: codes.replace(described))
            )
            return


def _placement_end_dates_lost(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """A migration loses placement end dates: about half of the ended placements in the extract
    (chosen at random, any year) lose their end date and their change reason, so each shows as
    still open, and a child who moved or left care seems to have several placements open at once."""
    placements = frames["ssd_cla_placement"]
    ended = placements["clap_cla_placement_end_date"].is_not_null().to_numpy()
    lost = np.zeros(placements.height, dtype=bool)
    lost[np.flatnonzero(ended)[_some(rng, int(ended.sum()), LOST_PLACEMENT_END_SHARE)]] = True
    mask = pl.Series(lost)
    frames["ssd_cla_placement"] = placements.with_columns(
        placements[name].set(mask, None)
        for name in ("clap_cla_placement_end_date", "clap_cla_placement_change_reason")
        if name in placements.columns
    )


def _missing_episodes_half_lost(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """Half of the missing episodes that started in the month (chosen at random) never reach the
    extract, as when one team's episodes were recorded late or in another system; episodes of
    earlier months, and those started after the month end, are all there."""
    missing = frames["ssd_missing"]
    in_month = missing["miss_missing_episode_start_date"].is_between(*month).fill_null(False).to_numpy()
    lost = np.zeros(missing.height, dtype=bool)
    lost[np.flatnonzero(in_month)[_some(rng, int(in_month.sum()), LOST_MISSING_SHARE)]] = True
    frames["ssd_missing"] = missing.filter(~pl.Series(lost))


def _contact_outcome_flag_lost(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """The export stops writing one outcome: the ``NEW_REFERRAL_FLAG`` key (what
    contacts_to_referral_pct counts) is removed from every contact's cont_contact_outcome_json,
    the other keys kept as they were (NUMBER_OF_OUTCOMES too). The JSON stays valid; the flag is
    simply absent, which the warehouse reads as "not a referral"."""
    contacts = frames["ssd_contacts"]
    if "cont_contact_outcome_json" not in contacts.columns:
        return
    key = rf'\s*"{LOST_OUTCOME_KEY}"\s*:\s*(?:"[^"]*"|[^,}}]*)\s*,?'

    def without_key(texts: pl.Series) -> pl.Series:
        return texts.str.replace_all(key, "").str.replace_all(r",(\s*)}", "$1}")

    frames["ssd_contacts"] = contacts.with_columns(_map_text(contacts["cont_contact_outcome_json"], without_key))


def _police_contacts_missing(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """The month's contacts from the police (source code 6, dated in the month) are not in the
    extract, as when the front door logs police notifications in a workflow the extract does not
    read. Earlier months' police contacts are there. Where the source column is absent (another
    fault removed it) there is nothing to tell police contacts by, and nothing is dropped."""
    contacts = frames["ssd_contacts"]
    if "cont_contact_source_code" not in contacts.columns:
        return
    police = pl.col("cont_contact_source_code").cast(pl.String) == POLICE_SOURCE
    in_month = _as_dates(contacts, "cont_contact_date").is_between(*month)
    frames["ssd_contacts"] = contacts.filter(~(police & in_month).fill_null(False))


def _contacts_dated_first_of_month(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """Every contact received in the month is dated the 1st of the month, as when contacts were
    bulk-loaded into the system with the batch date instead of the date received. The number of
    contacts does not change; the decision date (where sent) is kept, so decisions look slow."""
    contacts = frames["ssd_contacts"]
    received = _as_dates(contacts, "cont_contact_date")
    first = pl.when(received.is_between(*month)).then(pl.lit(month[0])).otherwise(received)
    frames["ssd_contacts"] = contacts.with_columns(_with_dates(contacts, "cont_contact_date", first))


def _assessment_completions_lost(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """The month's assessment completions are not in the extract: every assessment authorised in
    the month loses its authorisation date, as when the export reads completions from a workflow
    step the upgrade renamed. Those assessments show as still open; earlier months' are whole."""
    assessments = frames["ssd_cin_assessments"]
    authorised = assessments["cina_assessment_auth_date"].is_between(*month).fill_null(False)
    frames["ssd_cin_assessments"] = assessments.with_columns(
        assessments["cina_assessment_auth_date"].set(authorised, None))


FRAME_FAULTS: dict[str, Callable[[dict[str, pl.DataFrame], tuple[date, date], np.random.Generator], None]] = {
    "duplicate_contacts": _duplicate_contacts,
    "truncated_table": _truncated_table,
    "missing_column": _missing_column,
    "unparseable_dates": _unparseable_dates,
    "overlapping_placements": _overlapping_placements,
    "missing_end_before_start": _missing_end_before_start,
    "all_rhi_accepted": _all_rhi_accepted,
    "day_month_swapped": _day_month_swapped,
    "codes_as_descriptions": _codes_as_descriptions,
    "placement_end_dates_lost": _placement_end_dates_lost,
    "missing_episodes_half_lost": _missing_episodes_half_lost,
    "contact_outcome_flag_lost": _contact_outcome_flag_lost,
    "police_contacts_missing": _police_contacts_missing,
    "contacts_dated_first_of_month": _contacts_dated_first_of_month,
    "assessment_completions_lost": _assessment_completions_lost,
}


def inject_into_tables(
    frames: dict[str, pl.DataFrame], names: Sequence[str], month: tuple[date, date], seed: int
) -> dict[str, pl.DataFrame]:
    """Apply the table faults among ``names`` to one extract's tables (``month``: first, last day)."""
    frames = dict(frames)
    for name in check_faults(names):
        if name in FRAME_FAULTS:
            FRAME_FAULTS[name](frames, month, np.random.default_rng([seed, list(FAULTS).index(name)]))
    return frames


def inject_into_files(folder: Path, files: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Apply the file faults among ``names`` to the CSV files just written to ``folder``.

    ``files`` maps each file name to what the writer wrote (its ``rows`` and ``sha256``); the
    result is the same mapping for the files now in the folder, to build the manifest from."""
    if RESENT in check_faults(names):
        files = _resend_previous(folder, files)
    return files


def _resend_previous(folder: Path, files: dict[str, Any]) -> dict[str, Any]:
    """The previous month's extract sent again as this month's: every CSV of the previous month's
    folder (a sibling ``YYYY-MM`` folder, written earlier in the same run) copied byte for byte
    over this month's file of the same name. The manifest, when the council writes one, is then
    built for this month's folder (its period end and extract date) from the copied files' rows and
    checksums, as a transfer tool that re-sends an old export does."""
    from dagster_project.extracts.generator.writer import WrittenFile  # here: the generator imports this module

    month = parse_month(folder.name)
    previous = folder.parent / (month - timedelta(days=1)).strftime("%Y-%m")
    sent = sorted(previous.glob("*.csv"))
    if not sent:
        raise ValueError(
            f"{RESENT}: no previous month's extract at {previous} to resend as {folder.name}; "
            "generate at least two months"
        )
    files = dict(files)
    for source in sent:
        target = folder / source.name
        shutil.copyfile(source, target)
        rows = pl.scan_csv(target, infer_schema=False, encoding="utf8-lossy").select(pl.len()).collect().item()
        files[source.name] = WrittenFile(rows, file_sha256(target))
    return files


def inject_into_manifest(
    content: dict | None, names: Sequence[str], files: Mapping[str, Any] | None = None
) -> dict | None:
    """Apply the manifest faults among ``names`` to the manifest ``content`` (None: the council
    writes no manifest); ``files`` (file name -> what was written, with ``rows``) gives the true
    row counts where the manifest has none.

    ``manifest_row_count`` makes ssd_contacts.csv's ``rows`` disagree with the file (2 % more, at
    least one) in every manifest style: it changes the count the manifest gives; it adds a wrong
    count to an entry that gives only a checksum (or to a manifest that does not list the file);
    and for a council that writes no manifest it returns one holding only that entry, as a newly
    installed transfer tool that miscounts would. The result is then the manifest to write."""
    if "manifest_row_count" not in check_faults(names):
        return content
    content = {"files": {}} if content is None else content
    entry = content.setdefault("files", {}).setdefault("ssd_contacts.csv", {})
    rows = entry.get("rows")
    if rows is None:
        if files is None or "ssd_contacts.csv" not in files:
            raise ValueError("manifest_row_count: the manifest gives no row count and no written files were passed")
        rows = files["ssd_contacts.csv"].rows
    entry["rows"] = rows + max(1, rows // 50)
    return content
