"""Which extract months a ``csc-warehouse run`` runs: a pure function of the command line, the
month folders found and the months already published (unit-tested in tests/test_cli.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


class SelectionError(ValueError):
    """The command line asks for months that cannot be run; the message says which exist."""


@dataclass
class Selection:
    months: list[str]
    notes: list[str] = field(default_factory=list)  # what the person should know about the choice


def _listed(months: list[str]) -> str:
    if not months:
        return "none"
    return ", ".join(months) if len(months) <= 6 else f"{months[0]} .. {months[-1]} ({len(months)} months)"


def select_months(found: list[str], published: list[str], *, month: str | None = None, all_months: bool = False,
                  from_month: str | None = None, to_month: str | None = None, force: bool = False) -> Selection:
    """The months to run, oldest first.

    ``--month`` names one month, which must have an extract folder; ``--all`` is every folder;
    ``--from`` alone runs to the latest extract, ``--to`` alone from the earliest. A month already
    published is run again only with ``force``: named alone it is refused, in a range it is
    skipped, and the notes say so (a range already published entirely selects nothing: a backfill
    run twice does nothing the second time)."""
    if sum([month is not None, all_months, from_month is not None or to_month is not None]) != 1:
        raise SelectionError("give exactly one of --month, --all, or --from/--to")
    if not found:
        raise SelectionError("there are no YYYY-MM extract folders in it")
    notes: list[str] = []
    if month is not None:
        if month not in found:
            raise SelectionError(f"there is no extract folder for {month}; extract months found: {_listed(found)}")
        if month in published and not force:
            raise SelectionError(f"{month} is already published; add --force to run it again (its files are "
                                 "replaced only if the run passes the gate)")
        return Selection([month])
    if all_months:
        chosen = list(found)
    else:
        if from_month and to_month and from_month > to_month:
            raise SelectionError(f"--from {from_month} is after --to {to_month}")
        if to_month is None:
            notes.append(f"--from {from_month} without --to: running to the latest extract, {found[-1]}")
        if from_month is None:
            notes.append(f"--to {to_month} without --from: running from the earliest extract, {found[0]}")
        chosen = [m for m in found if (from_month or found[0]) <= m <= (to_month or found[-1])]
        if not chosen:
            raise SelectionError(f"no extract folder between {from_month or found[0]} and {to_month or found[-1]}; "
                                 f"extract months found: {_listed(found)}")
    again = [m for m in chosen if m in published]
    if again and not force:
        chosen = [m for m in chosen if m not in published]
        notes.append(f"already published, skipped: {_listed(again)} (add --force to run them again)")
    elif again:
        notes.append(f"running again (--force): {_listed(again)}")
    return Selection(chosen, notes)  # empty when every month selected is published: nothing to do
