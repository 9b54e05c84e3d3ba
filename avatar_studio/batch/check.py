"""Check a whole manifest before anything runs, and turn its rows into job specs.

Every problem is collected (missing files, unknown avatars or columns, bad values, two rows
writing one file, outputs that exist) so the user fixes them all in one go; one problem, and
nothing is queued. The check also recognises rows an earlier run of the same manifest already
finished, so a batch that was interrupted resumes where it stopped instead of refusing to replace
its own outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from avatar_studio.avatars.library import Avatar, AvatarLibrary
from avatar_studio.avatars.naming import name_key
from avatar_studio.batch.columns import (
    AUDIO_COLUMN,
    AVATAR_COLUMN,
    OUTPUT_COLUMN,
    PATH_COLUMNS,
    convert,
    is_blank,
    known_columns,
    setting_field,
    setting_types,
)
from avatar_studio.batch.manifest import Manifest, ManifestRow
from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs.model import Job, JobSpec, JobState
from avatar_studio.jobs.naming import OUTPUT_SUFFIX, default_output_path
from avatar_studio.jobs.store import JobStore
from avatar_studio.media.probe import probe_media
from avatar_studio.model.catalog import resolve_enhancer, resolve_model
from avatar_studio.paths import models_dir
from avatar_studio.settings import EngineSettings

VIDEO_OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
#: A finished output lasts as long as its audio to within a frame plus the AAC encoder's padding.
COMPLETE_DURATION_TOLERANCE_S = 0.15
#: Job states after which an output under the row's name was written by this batch (a render
#: that was cut off after its file was renamed into place is still running or interrupted).
_WROTE_OUTPUT = frozenset({JobState.DONE, JobState.RUNNING, JobState.INTERRUPTED})
#: Columns naming a model file: a path relative to the manifest, or a name in the models folder.
MODEL_FILE_COLUMNS = ("model", "enhancer")
#: Problem lines shown at most; a manifest of a thousand rows with one mistake repeated stays readable.
MAX_PROBLEMS_SHOWN = 50


class ManifestProblems(AvatarStudioError):
    """The manifest cannot run as it is: `problems` holds one line per problem, with its row."""

    def __init__(self, manifest_name: str, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        lines = [*shown, *([f"... and {more} more"] if more else [])]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"The manifest {manifest_name!r} has {count}; fix them and try again (nothing was queued):\n"
            + "\n".join(lines)
        )


@dataclass(frozen=True)
class PlannedRow:
    """One checked row: the job to queue, and what an earlier run of the manifest left of it."""

    number: int
    spec: JobSpec
    #: A video or photo to prepare first as the avatar `spec.avatar` (None: it is in the library).
    avatar_source: Path | None
    audio_duration_s: float
    #: This row's job from an earlier run of the manifest (same settings), if any.
    previous: Job | None = None
    #: That run finished the output: skip the row.
    complete: bool = False

    @property
    def expected_duration_s(self) -> float:
        return _expected_duration(self.spec, self.audio_duration_s)


@dataclass(frozen=True)
class BatchPlan:
    manifest: Manifest
    rows: tuple[PlannedRow, ...]

    @property
    def group(self) -> str:
        return self.manifest.name

    @property
    def to_render(self) -> list[PlannedRow]:
        return [row for row in self.rows if not row.complete]


def check_manifest(manifest: Manifest, library_root: Path, store: JobStore, overwrite: bool = False) -> BatchPlan:
    """The manifest's rows as job specs; ManifestProblems listing everything wrong with it."""
    return _Checker(manifest, Path(library_root), store, overwrite).plan()


def spec_identity(spec: JobSpec, with_output: bool = True) -> dict[str, Any]:
    """What makes two specs the same render, whatever `--overwrite` said."""
    data = spec.to_dict()
    data.pop("overwrite", None)
    if not with_output:
        data.pop("output", None)
    return data


def output_is_complete(output: Path, expected_duration_s: float) -> bool:
    """Whether `output` is a video lasting as long as its row's audio (renders are renamed into
    place only when finished, so a file under the name with the right length is a finished one)."""
    if not output.is_file():
        return False
    try:
        info = probe_media(output)
    except AvatarStudioError:
        return False
    return info.has_video and abs(info.duration_s - expected_duration_s) <= COMPLETE_DURATION_TOLERANCE_S


@dataclass
class _RowDraft:
    number: int
    spec: JobSpec
    avatar_source: Path | None
    audio_duration_s: float
    explicit_output: bool
    complete: bool = False


class _Checker:
    def __init__(self, manifest: Manifest, library_root: Path, store: JobStore, overwrite: bool) -> None:
        self.manifest = manifest
        self.overwrite = overwrite
        self.problems: list[tuple[int, str]] = []  # (row, text)
        self.library = AvatarLibrary(library_root)
        self.avatars = self.library.list()
        self.engine = EngineSettings.load(library_root)
        self.models_dir = models_dir(self.engine.models_dir or None)
        self.previous = store.in_group(manifest.name)
        # The library's defaults (crf, preset, backend, ...) for every setting a row leaves out.
        self.defaults = {name: getattr(self.engine, name) for name in setting_types() if hasattr(self.engine, name)}
        self._reported_columns: set[str] = set()
        self._audio: dict[Path, float | str] = {}
        self._model_files: dict[tuple[str, str], str] = {}  # (column, value) -> problem or ""

    def plan(self) -> BatchPlan:
        drafts = [draft for row in self.manifest.rows if (draft := self._draft(row)) is not None]
        self._name_default_outputs(drafts)
        self._check_outputs(drafts)
        if self.problems:
            lines = [f"row {number}: {text}" for number, text in sorted(self.problems, key=lambda p: p[0])]
            raise ManifestProblems(self.manifest.name, lines)
        return BatchPlan(self.manifest, tuple(self._planned(draft) for draft in drafts))

    # -- one row ----------------------------------------------------------------------------------

    def _draft(self, row: ManifestRow) -> _RowDraft | None:
        before = len(self.problems)
        problem = self._problem_at(row.number)
        if row.problem:
            problem(row.problem)
            return None
        self._report_unknown_columns(row)
        avatar = self._avatar(row, problem)
        audio = self._audio_file(row, problem)
        settings = self._settings(row, problem)
        output_value = row.values.get(OUTPUT_COLUMN)
        output = None if is_blank(output_value) else self._path(output_value)
        if output is not None:
            self._check_output_path(output, problem)
        if len(self.problems) > before or avatar is None or audio is None:
            return None
        (name, avatar_id), source = avatar
        path, duration = audio
        spec = JobSpec(
            avatar=name, avatar_id=avatar_id, audio=str(path), output=str(output or self.manifest.folder / f"row{OUTPUT_SUFFIX}"),
            **{**self.defaults, **settings}, overwrite=self.overwrite,
        )
        try:
            spec.validate()
        except AvatarStudioError as error:
            problem(str(error))
            return None
        return _RowDraft(row.number, spec, source, duration, explicit_output=output is not None)

    def _problem_at(self, number: int) -> Callable[[str], None]:
        def add(text: str) -> None:
            self.problems.append((number, text.rstrip(".")))

        return add

    def _report_unknown_columns(self, row: ManifestRow) -> None:
        for column in row.values:
            if column in PATH_COLUMNS or setting_field(column) or column in self._reported_columns:
                continue
            self._reported_columns.add(column)
            self._problem_at(row.number)(
                f"unknown column {column!r}; the columns are {', '.join(known_columns())}"
            )

    def _avatar(self, row: ManifestRow, problem: Callable[[str], None]
                ) -> tuple[tuple[str, str], Path | None] | None:  # fmt: skip
        """The avatar's (name, id) in the library and, when it is a path to prepare first, that file
        (the id, its folder name, is known once it is prepared)."""
        value = row.values.get(AVATAR_COLUMN)
        if is_blank(value):
            problem("no avatar; give a library avatar's name or a video/photo file")
            return None
        candidate = self._path(value)
        if candidate.is_file():
            name = candidate.stem
            existing = self._find_avatar(name)
            if existing is None:
                return (name, ""), candidate
            if _same_file(Path(existing.meta.source_file), candidate):
                return (existing.name, existing.folder.name), None  # prepared from this very file before
            problem(
                f"the library already has an avatar called {existing.name!r}, prepared from another file "
                f"({existing.meta.source_file}); rename {candidate.name!r} or write the avatar's name instead"
            )
            return None
        found = self._find_avatar(str(value))
        if found is not None:
            return (found.name, found.folder.name), None
        known = ", ".join(repr(avatar.name) for avatar in self.avatars) or "none yet"
        problem(
            f"no avatar is called {value!r} and there is no such file (library avatars: {known}); "
            "prepare it or check the path"
        )
        return None

    def _find_avatar(self, name: str) -> Avatar | None:
        key = name_key(name)
        return next(
            (avatar for avatar in self.avatars if name_key(avatar.name) == key or avatar.folder.name == name),
            None,
        )

    def _audio_file(self, row: ManifestRow, problem: Callable[[str], None]) -> tuple[Path, float] | None:
        value = row.values.get(AUDIO_COLUMN)
        if is_blank(value):
            problem("no audio; give the voice recording to lip-sync")
            return None
        path = self._path(value)
        if path not in self._audio:
            self._audio[path] = _audio_duration(path)
        duration = self._audio[path]
        if isinstance(duration, str):
            problem(duration)
            return None
        return path, duration

    def _settings(self, row: ManifestRow, problem: Callable[[str], None]) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        for column, value in row.values.items():
            name = setting_field(column)
            if name is None or is_blank(value):
                continue
            try:
                settings[name] = convert(name, value)
                self._validate_alone(name, settings[name])
            except AvatarStudioError as error:
                problem(str(error))
        if "model" not in settings and not self.engine.default_model:
            self._model_file("model", "", problem)  # the library must have a model to fall back on
        for column in MODEL_FILE_COLUMNS:
            if settings.get(column):
                settings[column] = self._model_file(column, settings[column], problem)
        return settings

    def _validate_alone(self, name: str, value: Any) -> None:
        """JobSpec's own check of one setting, so every bad cell of a row is reported, not the first."""
        JobSpec(avatar="-", audio="-", output=f"-{OUTPUT_SUFFIX}", **{**self.defaults, name: value}).validate()

    def _model_file(self, column: str, value: str, problem: Callable[[str], None]) -> str:
        """A model or enhancer: a path (relative to the manifest) or a name in the models folder,
        each distinct value checked once."""
        candidate = self._path(value) if value else None
        chosen = str(candidate) if candidate is not None and candidate.is_file() else value
        key = (column, chosen)
        if key not in self._model_files:
            try:
                if column == "model":
                    resolve_model(chosen or None, self.engine, self.models_dir)
                else:
                    resolve_enhancer(chosen, self.models_dir)
                self._model_files[key] = ""
            except AvatarStudioError as error:
                self._model_files[key] = str(error)
        if self._model_files[key]:
            problem(self._model_files[key])
        return chosen

    def _check_output_path(self, output: Path, problem: Callable[[str], None]) -> None:
        if output.is_dir():
            problem(f"output {str(output)!r} is a folder; give a file name such as {output.name}{OUTPUT_SUFFIX}")
        elif output.suffix.lower() not in VIDEO_OUTPUT_SUFFIXES:
            problem(f"output {output.name!r} needs a video file extension; use {OUTPUT_SUFFIX}")

    # -- the rows together ------------------------------------------------------------------------

    def _name_default_outputs(self, drafts: list[_RowDraft]) -> None:
        """Rows without an output get the name the app would give, or the one an earlier run gave."""
        taken = [Path(draft.spec.output) for draft in drafts if draft.explicit_output]
        for draft in drafts:
            if draft.explicit_output:
                continue
            earlier = self._previous_job(draft.spec, with_output=False)
            if earlier is not None and Path(earlier.spec.output) not in taken:
                output = Path(earlier.spec.output)
            else:
                output = default_output_path(self.manifest.folder, draft.spec.avatar, draft.spec.audio, taken)
            taken.append(output)
            draft.spec = replace(draft.spec, output=str(output))

    def _check_outputs(self, drafts: list[_RowDraft]) -> None:
        first_writer: dict[str, int] = {}
        for draft in drafts:
            output = Path(draft.spec.output)
            key = os.path.normcase(os.path.abspath(output))
            problem = self._problem_at(draft.number)
            if key in first_writer:
                problem(f"writes {str(output)!r}, which row {first_writer[key]} writes too; give each row its own output")
                continue
            first_writer[key] = draft.number
            if not output.exists():
                continue
            draft.complete = self._finished_before(draft)
            if draft.complete or self.overwrite:
                continue
            problem(f"{str(output)!r} exists; pass --overwrite to replace it, or remove it")

    def _finished_before(self, draft: _RowDraft) -> bool:
        earlier = self._previous_job(draft.spec)
        expected = _expected_duration(draft.spec, draft.audio_duration_s)
        return (
            earlier is not None and earlier.state in _WROTE_OUTPUT
            and output_is_complete(Path(draft.spec.output), expected)
        )  # fmt: skip

    def _previous_job(self, spec: JobSpec, with_output: bool = True) -> Job | None:
        """The latest job of this manifest's group with the same settings as `spec`."""
        wanted = spec_identity(spec, with_output)
        matches = [job for job in self.previous if spec_identity(job.spec, with_output) == wanted]
        return max(matches, key=lambda job: job.id) if matches else None

    def _planned(self, draft: _RowDraft) -> PlannedRow:
        previous = self._previous_job(draft.spec)
        return PlannedRow(
            number=draft.number, spec=draft.spec, avatar_source=draft.avatar_source,
            audio_duration_s=draft.audio_duration_s, previous=previous, complete=draft.complete,
        )

    def _path(self, value: Any) -> Path:
        """A path from the manifest, relative ones taken from the manifest's folder."""
        path = Path(str(value)).expanduser()
        return path if path.is_absolute() else self.manifest.folder / path


def _expected_duration(spec: JobSpec, audio_duration_s: float) -> float:
    return audio_duration_s if spec.seconds is None else min(spec.seconds, audio_duration_s)


def _audio_duration(path: Path) -> float | str:
    """The audio's length in seconds, or the sentence saying why it cannot be used."""
    if not path.is_file():
        return f"audio file {str(path)!r} does not exist; check the path"
    try:
        info = probe_media(path)
    except AvatarStudioError as error:
        return str(error)
    if not info.has_audio or info.duration_s <= 0:
        return f"{path.name!r} has no audio track; choose a file with sound"
    return info.duration_s


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
