"""What a render job is: the settings it was queued with, its state and its outcome.

A `JobSpec` is everything needed to re-run a render later (after a restart, a crash or a retry), so
it is stored as JSON: adding a setting in a later version needs no database migration, and specs
written by a newer version still load here (unknown keys are ignored).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

from avatar_studio.avatars.naming import name_key
from avatar_studio.choices import (
    BACKENDS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_COLOR_MATCH,
    DEFAULT_CRF,
    DEFAULT_ENCODER,
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_ENHANCER_REGION,
    DEFAULT_ENHANCER_WEIGHT,
    DEFAULT_FEATHER,
    DEFAULT_MASK,
    DEFAULT_MASK_BLUR,
    DEFAULT_MOUTH_DILATE,
    DEFAULT_PRESET,
    DEFAULT_SILENCE,
    DEVICES,
    PRECISIONS,
    BackendChoice,
    DeviceChoice,
    EncoderPreset,
    EnhancerRegion,
    LoopMode,
    MaskKind,
    PrecisionChoice,
    SilenceMode,
    VideoEncoderChoice,
    check_batch_size,
    check_choice,
)
from avatar_studio.errors import AvatarStudioError
from avatar_studio.render.settings import RenderSettings


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # was running when the app died; see JobStore.recover_interrupted
    DAMAGED = "damaged"  # a row this version cannot read (see JobStore): shown, can only be removed


#: Jobs that ended without an output and can be queued again.
RETRYABLE_STATES = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED})
#: Jobs that will not change any more unless retried.
FINISHED_STATES = RETRYABLE_STATES | {JobState.DONE, JobState.DAMAGED}
#: What the queue's "Clear finished" and "Clear failed" take away.
CLEARED_AS_FINISHED = frozenset({JobState.DONE, JobState.CANCELLED})
CLEARED_AS_FAILED = frozenset({JobState.FAILED, JobState.INTERRUPTED, JobState.DAMAGED})


@dataclass(frozen=True)
class JobSpec:
    """The render settings of one job, as the user chose them in the form or on the command line."""

    avatar: str  # the display name when queued (shown if the avatar is gone; old jobs resolve by it)
    audio: str
    output: str
    avatar_id: str = ""  # the avatar's folder name: stable across renames; "" in jobs from before ids
    model: str = ""  # "" = the configured default model, resolved when the job runs
    backend: BackendChoice = "auto"
    device: DeviceChoice = "auto"
    precision: PrecisionChoice = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    loop: LoopMode = "pingpong"
    crf: int = DEFAULT_CRF
    preset: EncoderPreset = DEFAULT_PRESET
    seconds: float | None = None  # render only the first N seconds (preview)
    overwrite: bool = False
    feather: float = DEFAULT_FEATHER
    mask: MaskKind = DEFAULT_MASK
    mask_blur: float = DEFAULT_MASK_BLUR
    mouth_dilate: float = DEFAULT_MOUTH_DILATE
    color_match: bool = DEFAULT_COLOR_MATCH
    silence: SilenceMode = DEFAULT_SILENCE
    enhancer: str = ""  # "" = no face enhancer
    enhancer_region: EnhancerRegion = DEFAULT_ENHANCER_REGION
    enhancer_blend: float = DEFAULT_ENHANCER_BLEND
    enhancer_weight: float = DEFAULT_ENHANCER_WEIGHT
    encoder: VideoEncoderChoice = DEFAULT_ENCODER

    def uses_avatar(self, avatar_id: str, name: str) -> bool:
        """Whether this job renders the avatar with folder `avatar_id` (called `name` now)."""
        if self.avatar_id:
            return self.avatar_id == avatar_id
        return name_key(self.avatar) == name_key(name) or self.avatar.strip() == avatar_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        """Build from stored JSON; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def validate(self) -> None:
        """Refuse settings that could never render, before they sit in the queue."""
        if not self.avatar.strip() and not self.avatar_id:
            raise AvatarStudioError("The job has no avatar; choose one from the library.")
        if not self.audio.strip():
            raise AvatarStudioError("The job has no audio file; choose the voice recording to lip-sync.")
        if not self.output.strip():
            raise AvatarStudioError("The job has no output path; choose where to save the video.")
        check_choice("backend", self.backend, BACKENDS)
        check_choice("device", self.device, DEVICES)
        check_choice("precision", self.precision, PRECISIONS)
        check_batch_size(self.batch_size)
        self.render_settings().validate()

    def render_settings(self) -> RenderSettings:
        """The part of the job that `render_video` takes."""
        return RenderSettings(
            loop=self.loop, crf=self.crf, preset=self.preset, seconds=self.seconds,
            overwrite=self.overwrite, feather=self.feather,
            mask=self.mask, mask_blur=self.mask_blur, mouth_dilate=self.mouth_dilate,
            color_match=self.color_match, silence=self.silence,
            enhancer=self.enhancer or None, enhancer_region=self.enhancer_region,
            enhancer_blend=self.enhancer_blend, enhancer_weight=self.enhancer_weight,
            encoder=self.encoder,
        )


@dataclass(frozen=True)
class Job:
    """One row of the queue as it stood when it was read. Times are Unix seconds (time.time())."""

    id: int
    spec: JobSpec
    state: JobState
    position: int  # queue order: lower runs first
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress: float = 0.0  # 0..1 of the render
    fps: float | None = None  # frames/s while running; the average once done
    eta_s: float | None = None
    error: str = ""  # full text (a traceback for bugs), shown on demand
    error_summary: str = ""  # one line for the job list
    output_path: str = ""  # the finished video (set when done)
    device_description: str = ""  # the backend's describe() line
    elapsed_s: float | None = None  # render time once done; running time for failed/cancelled
    group: str = ""  # the batch manifest the job was queued from ("" = queued on its own)

    @property
    def can_retry(self) -> bool:
        return self.state in RETRYABLE_STATES

    @property
    def can_remove(self) -> bool:
        return self.state is not JobState.RUNNING

    @property
    def can_move(self) -> bool:
        return self.state is JobState.QUEUED

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES
