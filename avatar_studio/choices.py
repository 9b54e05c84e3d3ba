"""Every closed set and range the engine, CLI and GUI offer: typed literals, their values, defaults, limits.

One place for each fact: argparse `choices=`, the GUI's combo boxes and spin-box ranges, and the
engine's checks all read these names, so a new preset or a wider range is one edit here.
"""

from typing import Literal, TypeVar, get_args

from avatar_studio.errors import AvatarStudioError

BackendChoice = Literal["auto", "torch", "onnx"]
DeviceChoice = Literal["auto", "cpu", "cuda", "mps"]
PrecisionChoice = Literal["auto", "fp32", "fp16"]
#: What an ONNX export is written in (no "auto": the file has one precision).
ExportPrecision = Literal["fp32", "fp16"]
LoopMode = Literal["pingpong", "loop"]
#: libx264's presets; "placebo" is left out on purpose (many times slower for no visible gain).
EncoderPreset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]
#: The face detector models bundled in resources/models (see faces/detector.py).
DetectorModel = Literal["short_range"]

BACKENDS: tuple[BackendChoice, ...] = get_args(BackendChoice)
DEVICES: tuple[DeviceChoice, ...] = get_args(DeviceChoice)
PRECISIONS: tuple[PrecisionChoice, ...] = get_args(PrecisionChoice)
EXPORT_PRECISIONS: tuple[ExportPrecision, ...] = get_args(ExportPrecision)
LOOP_MODES: tuple[LoopMode, ...] = get_args(LoopMode)
ENCODER_PRESETS: tuple[EncoderPreset, ...] = get_args(EncoderPreset)
DETECTOR_MODELS: tuple[DetectorModel, ...] = get_args(DetectorModel)

MODEL_SUFFIXES_TORCH = (".pth", ".pt")
MODEL_SUFFIXES_ONNX = (".onnx",)
MODEL_SUFFIXES = MODEL_SUFFIXES_TORCH + MODEL_SUFFIXES_ONNX
#: What the app offers to open as an avatar (videos and stills) or as the voice recording.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma")

DEFAULT_FPS = 25.0
#: Frame rates an avatar may be prepared at (frames per second, inclusive).
MIN_FPS, MAX_FPS = 1.0, 240.0
DEFAULT_CRF = 18
#: libx264's quality scale: 0 is lossless, 51 the smallest file.
MIN_CRF, MAX_CRF = 0, 51
DEFAULT_BATCH_SIZE = 16
#: Samples per model call; above 512 no device gets faster, it only risks running out of memory.
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 512
#: Soft edge of the blended mouth region, as a fraction of the face box's smaller side.
DEFAULT_FEATHER = 0.15
MIN_FEATHER, MAX_FEATHER = 0.0, 0.5
#: Face-box margins (top, bottom, left, right), each a fraction of the box's size.
MIN_PAD, MAX_PAD = -0.5, 2.0
# veryfast: on a 2-core CPU x264 "medium" costs ~36 ms of CPU per 844x844 frame against ~17 ms for
# "veryfast" (files were no larger at CRF 18 on the test clips), and on a GPU the encoder is what sets
# the pace (240 vs 419 frames/s on an H200 machine); see docs/benchmarks.md.
DEFAULT_PRESET: EncoderPreset = "veryfast"

_Choice = TypeVar("_Choice", bound=str)


def check_choice(name: str, value: object, allowed: tuple[_Choice, ...]) -> _Choice:
    """`value` as one of `allowed` (typed as that literal), or the one-sentence error listing them."""
    for choice in allowed:
        if value == choice:
            return choice
    raise AvatarStudioError(f"Unknown {name} {value!r}; choose one of {', '.join(allowed)}.")


def check_batch_size(batch_size: object) -> None:
    """Refuse a batch size outside MIN_BATCH_SIZE..MAX_BATCH_SIZE (or not a whole number) in one sentence."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not (
        MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE
    ):
        raise AvatarStudioError(
            f"Batch size must be a whole number from {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}, not {batch_size!r}."
        )
