"""Display names (free text) and the folder names derived from them.

A display name is what people see and type: any Unicode text, spaces included, up to
`MAX_NAME_LENGTH` characters after trimming surrounding whitespace; empty names and control
characters are refused. It is never used as a path. The folder name is derived from it:
an ASCII slug (letters, digits, `-`, `_`; at most 40 characters; "avatar" when nothing is left)
plus `-` and 6 hex digits of the name's hash, plus `-2`, `-3`, ... if that folder exists. So a
folder name contains no separator, no `..`, no dot at all, and can never be a reserved Windows
device name (CON, NUL, COM1, ...) because of the suffix: "../evil" becomes `evil-1a2b3c` inside
the library, "/abs" `abs-...`, "王小明" `avatar-...`.

Lookup (`AvatarLibrary.get`): a name given on the command line or by the GUI finds the avatar
whose display name equals it ignoring case and Unicode normalisation differences (`name_key`), or
else whose folder name equals it exactly. Display names are unique in the `name_key` sense.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection

from avatar_studio.errors import AvatarStudioError

MAX_NAME_LENGTH = 100
MAX_SLUG_LENGTH = 40
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def clean_display_name(name: str) -> str:
    """The display name as stored: NFC-normalised, trimmed; AvatarStudioError when unusable."""
    cleaned = unicodedata.normalize("NFC", name or "").strip()
    if not cleaned:
        raise AvatarStudioError("The avatar name is empty; give the avatar a name.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in cleaned):
        raise AvatarStudioError("The avatar name contains control characters; use visible text only.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise AvatarStudioError(
            f"The avatar name is {len(cleaned)} characters long; use at most {MAX_NAME_LENGTH}."
        )
    return cleaned


def name_key(name: str) -> str:
    """The form two names are compared in: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def slug(name: str) -> str:
    """ASCII letters, digits and `_` joined by single `-`; "avatar" when nothing survives."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = _NOT_SLUG.sub("-", ascii_text).strip("-")[:MAX_SLUG_LENGTH].strip("-")
    return text or "avatar"


def folder_name_for(display_name: str, taken: Collection[str] = ()) -> str:
    """A new, safe folder name for `display_name`, different from every name in `taken`."""
    digest = hashlib.sha1(name_key(display_name).encode("utf-8")).hexdigest()[:6]
    base = f"{slug(display_name)}-{digest}"
    candidate, counter = base, 2
    taken_keys = {name.casefold() for name in taken}  # case-insensitive file systems (Windows, macOS)
    while candidate.casefold() in taken_keys:
        candidate, counter = f"{base}-{counter}", counter + 1
    return candidate

