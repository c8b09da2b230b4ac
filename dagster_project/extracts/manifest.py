"""The optional ``manifest.json`` of an extract month (contract, "manifest.json").

A manifest names the authority and the period, and lists files with their data-row count and/or
SHA-256 so that a truncated or corrupted transfer is caught before anything is loaded. Systems
write manifests differently (contract): any key may be missing, and a file's entry may give
``rows``, ``sha256``, both or neither. A key that is absent (or JSON ``null``) is simply not
known; a value that *is* given must be well-formed, else the manifest is rejected with the file
and field named. Each value given is verified against the file, and the load records per file
what was verified (:meth:`Manifest.verified`).

This module only parses and checks the manifest itself; comparing it with the files on disk is
done by the loader once the files have been read (``dagster_project.ingest.load``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dagster_project.contract import month_end

MANIFEST_FILE = "manifest.json"
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_HASH_CHUNK = 1 << 20


# What was verified of one loaded file against the manifest (raw.load_log.manifest_verified).
VERIFIED_ROWS_AND_CHECKSUM = "rows and checksum"
VERIFIED_ROWS = "rows"
VERIFIED_CHECKSUM = "checksum"
VERIFIED_NOTHING_LISTED = "nothing (listed without rows or checksum)"
VERIFIED_NOTHING_NOT_LISTED = "nothing (not listed)"
VERIFIED_NO_MANIFEST = "no manifest"


class ManifestError(ValueError):
    """The manifest is malformed or contradicts the folder it sits in."""


@dataclass(frozen=True)
class FileEntry:
    """What the manifest promises about one file: either, both or neither of its data-row count
    and its SHA-256 (None = not given)."""

    rows: int | None = None
    sha256: str | None = None  # lower-case hex

    @property
    def verifies(self) -> str:
        """What checking the file against this entry verifies (a VERIFIED_* value)."""
        if self.rows is not None and self.sha256 is not None:
            return VERIFIED_ROWS_AND_CHECKSUM
        if self.rows is not None:
            return VERIFIED_ROWS
        if self.sha256 is not None:
            return VERIFIED_CHECKSUM
        return VERIFIED_NOTHING_LISTED


@dataclass(frozen=True)
class Manifest:
    """The facts of one extract month; ``has_manifest`` is False when they were not sent.

    ``period_end`` is the folder's month end when the manifest does not give it. ``extract_date``
    is the date the validity rule "future" compares with: the manifest's, or the load date when
    there is no manifest or the manifest does not give one (``extract_date_given`` is then False).
    """

    period_end: date
    extract_date: date
    la_code: str | None = None
    ssd_version: str | None = None
    source_system: str | None = None
    files: dict[str, FileEntry] = field(default_factory=dict)
    has_manifest: bool = True
    extract_date_given: bool = True

    def entry(self, file_name: str) -> FileEntry | None:
        """The manifest entry of ``file_name`` (matched case-insensitively), if listed."""
        wanted = file_name.lower()
        return next((e for name, e in self.files.items() if name.lower() == wanted), None)

    def verified(self, file_name: str) -> str:
        """What the load can verify of ``file_name`` against the manifest (a VERIFIED_* value)."""
        if not self.has_manifest:
            return VERIFIED_NO_MANIFEST
        entry = self.entry(file_name)
        return VERIFIED_NOTHING_NOT_LISTED if entry is None else entry.verifies

    @property
    def recorded_extract_date(self) -> date | None:
        """The extract date to record in raw.extracts: the manifest's; the load date without a
        manifest (documented); NULL when a manifest was sent without one (the load date is then
        no statement of when the extract was taken, so freshness must not read it as one)."""
        if self.has_manifest and not self.extract_date_given:
            return None
        return self.extract_date

    def to_metadata(self) -> dict[str, Any]:
        recorded = self.recorded_extract_date
        return {
            "has_manifest": self.has_manifest,
            "la_code": self.la_code,
            "period_end": self.period_end.isoformat(),
            "extract_date": recorded.isoformat() if recorded else None,
            "ssd_version": self.ssd_version,
            "source_system": self.source_system,
        }


def without_manifest(month: date, today: date) -> Manifest:
    """Facts of a month sent without a manifest: the extract date is the load date."""
    return Manifest(
        period_end=month_end(month), extract_date=today, has_manifest=False, extract_date_given=False
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path, month: date, today: date | None = None, council: str | None = None) -> Manifest:
    """Parse ``manifest.json`` and check its period against the folder's ``month``.

    Every key is optional (absent and JSON ``null`` mean the same: not given). Without
    ``period_end`` the folder's month end is used; without ``extract_date`` the load date
    ``today`` (default: the current date), as when no manifest is sent.

    Raises ManifestError when the file is not a JSON object, a value that is given has the wrong
    type or form, ``period_end`` is not the last day of ``month``, ``extract_date`` is before
    ``period_end``, or ``la_code`` is given and is not ``council`` (the LA code of the council
    folder the month is in, in a region's layout).
    """
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot be read as JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ManifestError("is not a JSON object")
    period_end = _date_field(doc, "period_end")
    extract_date = _date_field(doc, "extract_date")
    manifest = Manifest(
        period_end=period_end or month_end(month),
        extract_date=extract_date or today or date.today(),
        la_code=_text_field(doc, "la_code"),
        ssd_version=_text_field(doc, "ssd_version"),
        source_system=_text_field(doc, "source_system"),
        files=_files_field(doc.get("files")),
        extract_date_given=extract_date is not None,
    )
    check_period(manifest, month)
    if council is not None and manifest.la_code is not None and manifest.la_code != council:
        raise ManifestError(f"la_code {manifest.la_code!r} is not the council whose folder holds it ({council})")
    return manifest


def check_period(manifest: Manifest, month: date) -> None:
    """period_end is the month's last day and the extract was not taken before it (when the
    manifest gives its extract date)."""
    expected = month_end(month)
    if manifest.period_end != expected:
        raise ManifestError(
            f"period_end {manifest.period_end.isoformat()} is not the last day of the folder's month "
            f"({expected.isoformat()})"
        )
    if manifest.extract_date_given and manifest.extract_date < manifest.period_end:
        raise ManifestError(
            f"extract_date {manifest.extract_date.isoformat()} is before period_end {manifest.period_end.isoformat()}"
        )


def _date_field(doc: dict[str, Any], name: str) -> date | None:
    """A 'YYYY-MM-DD' date (a time after it is ignored); None when absent or null."""
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError(f"field {name!r} is not a 'YYYY-MM-DD' string: {value!r}")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise ManifestError(f"field {name!r} is not a date: {value!r}") from exc


def _text_field(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise ManifestError(f"field {name!r} is not text: {value!r}")
    return str(value)


def _files_field(value: Any) -> dict[str, FileEntry]:
    """File name -> entry; no files listed when the key is absent or null."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError("field 'files' is not an object of file name -> {rows, sha256}")
    return {name: _file_entry(name, entry) for name, entry in value.items()}


def _file_entry(name: str, entry: Any) -> FileEntry:
    """One file's entry; ``rows`` and ``sha256`` are each optional (absent, null or, for the
    checksum, an empty string: not given), but a value given must be well-formed."""
    if entry is None:
        return FileEntry()
    if not isinstance(entry, dict):
        raise ManifestError(f"files[{name!r}] is not an object (with 'rows' and/or 'sha256'): {entry!r}")
    rows, sha = entry.get("rows"), entry.get("sha256")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        raise ManifestError(f"files[{name!r}].rows is not a non-negative integer: {rows!r}")
    if isinstance(sha, str) and not sha.strip():
        sha = None
    if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha.strip())):
        raise ManifestError(f"files[{name!r}].sha256 is not a 64-digit hex SHA-256: {sha!r}")
    return FileEntry(rows=rows, sha256=sha.strip().lower() if sha is not None else None)
