"""The optional ``manifest.json`` of an extract month (contract, "manifest.json").

A manifest names the authority and the period, and lists every file with its data-row count and
SHA-256 so that a truncated or corrupted transfer is caught before anything is loaded. This
module only parses and checks the manifest itself; comparing it with the files on disk is done by
the loader once the files have been read (``dagster_project.ingest.load``).
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


class ManifestError(ValueError):
    """The manifest is malformed or contradicts the folder it sits in."""


@dataclass(frozen=True)
class FileEntry:
    """What the manifest promises about one file."""

    rows: int
    sha256: str  # lower-case hex


@dataclass(frozen=True)
class Manifest:
    """The facts of one extract month; ``has_manifest`` is False when they were not sent."""

    period_end: date
    extract_date: date
    la_code: str | None = None
    ssd_version: str | None = None
    source_system: str | None = None
    files: dict[str, FileEntry] = field(default_factory=dict)
    has_manifest: bool = True

    def entry(self, file_name: str) -> FileEntry | None:
        """The manifest entry of ``file_name`` (matched case-insensitively), if listed."""
        wanted = file_name.lower()
        return next((e for name, e in self.files.items() if name.lower() == wanted), None)

    def to_metadata(self) -> dict[str, Any]:
        return {
            "has_manifest": self.has_manifest,
            "la_code": self.la_code,
            "period_end": self.period_end.isoformat(),
            "extract_date": self.extract_date.isoformat(),
            "ssd_version": self.ssd_version,
            "source_system": self.source_system,
        }


def without_manifest(month: date, today: date) -> Manifest:
    """Facts of a month sent without a manifest: the extract date is the load date."""
    return Manifest(period_end=month_end(month), extract_date=today, has_manifest=False)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path, month: date) -> Manifest:
    """Parse ``manifest.json`` and check its period against the folder's ``month``.

    Raises ManifestError when the file is not a JSON object, a field has the wrong type,
    ``period_end`` is not the last day of ``month`` or ``extract_date`` is before ``period_end``.
    """
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot be read as JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ManifestError("is not a JSON object")
    manifest = Manifest(
        period_end=_date_field(doc, "period_end"),
        extract_date=_date_field(doc, "extract_date"),
        la_code=_text_field(doc, "la_code"),
        ssd_version=_text_field(doc, "ssd_version"),
        source_system=_text_field(doc, "source_system"),
        files=_files_field(doc.get("files", {})),
    )
    check_period(manifest, month)
    return manifest


def check_period(manifest: Manifest, month: date) -> None:
    """period_end is the month's last day and the extract was not taken before it."""
    expected = month_end(month)
    if manifest.period_end != expected:
        raise ManifestError(
            f"period_end {manifest.period_end.isoformat()} is not the last day of the folder's month "
            f"({expected.isoformat()})"
        )
    if manifest.extract_date < manifest.period_end:
        raise ManifestError(
            f"extract_date {manifest.extract_date.isoformat()} is before period_end {manifest.period_end.isoformat()}"
        )


def _date_field(doc: dict[str, Any], name: str) -> date:
    value = doc.get(name)
    if not isinstance(value, str):
        raise ManifestError(f"field {name!r} is missing or not a 'YYYY-MM-DD' string")
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
    if not isinstance(value, dict):
        raise ManifestError("field 'files' is not an object of file name -> {rows, sha256}")
    return {name: _file_entry(name, entry) for name, entry in value.items()}


def _file_entry(name: str, entry: Any) -> FileEntry:
    if not isinstance(entry, dict):
        raise ManifestError(f"files[{name!r}] is not an object with 'rows' and 'sha256'")
    rows, sha = entry.get("rows"), entry.get("sha256")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ManifestError(f"files[{name!r}].rows is not a non-negative integer: {rows!r}")
    if not isinstance(sha, str) or not _SHA256.match(sha.strip()):
        raise ManifestError(f"files[{name!r}].sha256 is not a 64-digit hex SHA-256: {sha!r}")
    return FileEntry(rows=rows, sha256=sha.strip().lower())
