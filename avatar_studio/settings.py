"""Engine settings shared by the CLI and the GUI, stored as JSON in the library folder.

They travel with the library (default model, backend choices, encoder defaults), so switching the
library folder switches them too. Unknown keys from newer versions are kept untouched on save.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from avatar_studio.choices import DEFAULT_CRF, DEFAULT_ENCODER, DEFAULT_PRESET

SETTINGS_FILE = "settings.json"


@dataclass
class EngineSettings:
    default_model: str = ""
    models_dir: str = ""
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    batch_size: int = 16
    output_dir: str = ""
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET
    encoder: str = DEFAULT_ENCODER

    @classmethod
    def load(cls, library: Path) -> "EngineSettings":
        """Settings of `library`, defaults for anything missing or unreadable."""
        path = library / SETTINGS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        defaults = cls()
        values = {}
        for name in known:
            if name in data and isinstance(data[name], type(getattr(defaults, name))):
                values[name] = data[name]
        return cls(**values)

    def save(self, library: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a settings file."""
        path = library / SETTINGS_FILE
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            existing = {}
        existing.update(asdict(self))
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=library)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(existing, handle, indent=2)
        os.replace(tmp, path)
