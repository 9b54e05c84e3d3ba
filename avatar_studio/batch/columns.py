"""Manifest columns as job settings: a column named like a render option on the command line
(`crf`, `batch-size`, `mask-blur`) sets the `JobSpec` field of that name (`-` read as `_`), and
its text becomes the field's type. The columns follow `JobSpec` by themselves: a setting added
there is a manifest column at once, and its values are checked by `JobSpec.validate`.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from functools import cache
from typing import Any, Literal, Union

from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs.model import JobSpec

#: Columns that say what to render rather than how.
AVATAR_COLUMN = "avatar"
AUDIO_COLUMN = "audio"
OUTPUT_COLUMN = "output"
PATH_COLUMNS = (AVATAR_COLUMN, AUDIO_COLUMN, OUTPUT_COLUMN)
#: JobSpec fields a row may not set: replacing files is the command's decision (`--overwrite`), and
#: the avatar's id is looked up from its name.
NOT_COLUMNS = frozenset({"overwrite", "avatar_id"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@cache
def setting_types() -> dict[str, Any]:
    """Field name -> type of every JobSpec field a manifest column may set."""
    hints = typing.get_type_hints(JobSpec)
    return {
        f.name: hints[f.name] for f in fields(JobSpec)
        if f.name not in PATH_COLUMNS and f.name not in NOT_COLUMNS
    }  # fmt: skip


def setting_field(column: str) -> str | None:
    """The JobSpec field `column` sets, or None when no setting has that name."""
    name = column.strip().lower().replace("-", "_")
    return name if name in setting_types() else None


def known_columns() -> list[str]:
    """Every column a manifest may have, as written on the command line (for error messages)."""
    return [*PATH_COLUMNS, *(name.replace("_", "-") for name in setting_types())]


def is_blank(value: Any) -> bool:
    """An empty cell (or JSON null) leaves the setting at its default."""
    return value is None or (isinstance(value, str) and not value.strip())


def convert(field_name: str, value: Any) -> Any:
    """`value` (text or a JSON scalar) as the type of JobSpec field `field_name`."""
    return _convert(setting_types()[field_name], value, field_name.replace("_", "-"))


def _convert(kind: Any, value: Any, column: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if is_blank(value):
            return None
        return _convert(options[0], value, column) if len(options) == 1 else value
    if origin is Literal:
        return str(value)
    if kind is bool:
        return _as_bool(value, column)
    if kind is int:
        return _as_int(value, column)
    if kind is float:
        return _as_float(value, column)
    if kind is str:
        return str(value)
    return value


def _as_bool(value: Any, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AvatarStudioError(f"{column} must be yes or no, not {value!r}")


def _as_int(value: Any, column: str) -> int:
    if isinstance(value, bool):
        raise AvatarStudioError(f"{column} must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise AvatarStudioError(f"{column} must be a whole number, not {value!r}") from None


def _as_float(value: Any, column: str) -> float:
    if isinstance(value, bool):
        raise AvatarStudioError(f"{column} must be a number, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise AvatarStudioError(f"{column} must be a number, not {value!r}") from None
