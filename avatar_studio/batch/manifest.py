"""Reading a batch manifest: CSV with a header row, or JSON holding a list of objects.

Reading only turns the file into rows of raw values; whether those values make sense is the job
of `check`. Row numbers count data rows from 1 (a CSV's header row is not counted), the same for
both formats, so every problem can name the row it is in.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from avatar_studio.errors import AvatarStudioError

MANIFEST_SUFFIXES = (".csv", ".json")


@dataclass(frozen=True)
class ManifestRow:
    """One row as written: column name (trimmed, lower case) -> value (text from CSV, any JSON scalar)."""

    number: int
    values: dict[str, Any]
    #: What is wrong with the row's shape itself (not an object, more cells than the header), or "".
    problem: str = ""


@dataclass(frozen=True)
class Manifest:
    path: Path
    rows: tuple[ManifestRow, ...] = field(default=())

    @property
    def folder(self) -> Path:
        """Relative paths in the manifest are relative to this folder."""
        return self.path.parent

    @property
    def name(self) -> str:
        """The group its jobs get in the queue."""
        return self.path.name


def read_manifest(path: str | PathLike[str]) -> Manifest:
    """The rows of the manifest at `path`; AvatarStudioError when it is not a readable CSV or JSON list."""
    manifest_path = Path(path).absolute()
    suffix = manifest_path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise AvatarStudioError(
            f"{manifest_path.name!r} is not a manifest; use a .csv file with a header row or a .json list of objects."
        )
    try:
        text = manifest_path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except FileNotFoundError:
        raise AvatarStudioError(f"The manifest {str(manifest_path)!r} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AvatarStudioError(
            f"Cannot read the manifest {str(manifest_path)!r} ({error}); save it as UTF-8 text."
        ) from None
    rows = _csv_rows(text) if suffix == ".csv" else _json_rows(text, manifest_path)
    if not rows:
        raise AvatarStudioError(f"The manifest {manifest_path.name!r} has no rows; add one row per video.")
    return Manifest(manifest_path, tuple(rows))


def _csv_rows(text: str) -> list[ManifestRow]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return []
    columns = [name.strip().lower() for name in header]
    rows: list[ManifestRow] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines between rows
        number = len(rows) + 1
        problem = ""
        if len(cells) > len(columns):
            problem = f"has {len(cells)} cells but the header names {len(columns)} columns"
        values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False) if column}
        rows.append(ManifestRow(number, values, problem))
    return rows


def _json_rows(text: str, path: Path) -> list[ManifestRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AvatarStudioError(
            f"The manifest {path.name!r} is not valid JSON (line {error.lineno}: {error.msg}); fix it or use CSV."
        ) from None
    if not isinstance(data, list):
        raise AvatarStudioError(
            f"The manifest {path.name!r} must hold a JSON list of objects, one per video, like "
            '[{"avatar": "Anna", "audio": "lesson1.wav"}].'
        )
    rows: list[ManifestRow] = []
    for number, entry in enumerate(data, start=1):
        if isinstance(entry, dict):
            values = {str(key).strip().lower(): _json_value(value) for key, value in entry.items()}
            rows.append(ManifestRow(number, values))
        else:
            rows.append(ManifestRow(number, {}, f"is a JSON {type(entry).__name__}, not an object"))
    return rows


def _json_value(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
