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
#: Where the model's mouth is blended in: today's feathered box, or regions bounded by the face mesh.
MaskKind = Literal["box", "lower-face", "mouth"]
#: What silent stretches of the audio show: the model's mouth, or the avatar's own frames.
SilenceMode = Literal["lipsync", "original"]

BACKENDS: tuple[BackendChoice, ...] = get_args(BackendChoice)
DEVICES: tuple[DeviceChoice, ...] = get_args(DeviceChoice)
PRECISIONS: tuple[PrecisionChoice, ...] = get_args(PrecisionChoice)
EXPORT_PRECISIONS: tuple[ExportPrecision, ...] = get_args(ExportPrecision)
LOOP_MODES: tuple[LoopMode, ...] = get_args(LoopMode)
ENCODER_PRESETS: tuple[EncoderPreset, ...] = get_args(EncoderPreset)
DETECTOR_MODELS: tuple[DetectorModel, ...] = get_args(DetectorModel)
MASK_KINDS: tuple[MaskKind, ...] = get_args(MaskKind)
SILENCE_MODES: tuple[SilenceMode, ...] = get_args(SilenceMode)

MODEL_SUFFIXES_TORCH = (".pth", ".pt")
MODEL_SUFFIXES_ONNX = (".onnx",)
MODEL_SUFFIXES = MODEL_SUFFIXES_TORCH + MODEL_SUFFIXES_ONNX
#: What the app offers to open as an avatar (videos and stills) or as the voice recording.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma")

DEFAULT_FPS = 25.0
#: Frame rates an avatar may be prepared at (--fps): below 1 a clip collapses into a few frames
#: that each stand for seconds of speech; above 240 no camera or encoder setting makes sense.
MIN_FPS = 1.0
MAX_FPS = 240.0
#: Preparation refuses a clip where more than this share of frames shows no face (their boxes would
#: all be guesses copied from other frames), unless the user allows filling them.
MAX_FACELESS_SHARE = 0.2
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
DEFAULT_MASK: MaskKind = "lower-face"
#: Gaussian edge of the face-mesh masks (sigma), as a fraction of the face size (its box width).
DEFAULT_MASK_BLUR = 0.04
MASK_BLUR_RANGE = (0.0, 0.25)
#: How far the `mouth` mask reaches beyond the outer lip contour, as a fraction of the face size.
DEFAULT_MOUTH_DILATE = 0.12
MOUTH_DILATE_RANGE = (0.0, 0.5)
DEFAULT_COLOR_MATCH = True
DEFAULT_SILENCE: SilenceMode = "lipsync"
# veryfast: on a 2-core CPU x264 "medium" costs ~36 ms of CPU per 844x844 frame against ~17 ms for
# "veryfast" (files were no larger at CRF 18 on the test clips), and on a GPU the encoder is what sets
# the pace (240 vs 419 frames/s on an H200 machine); see docs/benchmarks.md.
DEFAULT_PRESET: EncoderPreset = "veryfast"

#: `--encoder`: "auto" takes the first hardware H.264 encoder whose trial encode succeeds here,
#: else libx264 (see `media/encoders.py`). Used for the H.264/H.265 containers only.
VideoEncoderChoice = Literal[
    "auto", "libx264", "libx265", "h264_nvenc", "hevc_nvenc", "h264_qsv", "hevc_qsv",
    "h264_amf", "hevc_amf", "h264_videotoolbox", "hevc_videotoolbox", "h264_vaapi",
]
VIDEO_ENCODERS: tuple[VideoEncoderChoice, ...] = get_args(VideoEncoderChoice)
DEFAULT_ENCODER: VideoEncoderChoice = "auto"

#: Output containers, chosen by the output file's suffix, and what each one holds. Only .webm and
#: .mov keep an avatar's transparency; the others composite it over black.
OUTPUT_FORMATS: dict[str, str] = {
    ".mp4": "H.264/H.265 + AAC",
    ".m4v": "H.264/H.265 + AAC",
    ".mkv": "H.264/H.265 + AAC",
    ".mov": "ProRes 4444 with alpha + PCM",
    ".webm": "VP9 with alpha + Opus",
}
OUTPUT_SUFFIXES: tuple[str, ...] = tuple(OUTPUT_FORMATS)
ALPHA_OUTPUT_SUFFIXES: tuple[str, ...] = (".mov", ".webm")
# Face enhancer (face restoration after the lip sync): see model/enhancers.py and render/enhance.py.
ModelKind = Literal["lip-sync", "enhancer"]
EnhancerRegion = Literal["mouth", "face"]
MODEL_KINDS: tuple[ModelKind, ...] = get_args(ModelKind)
ENHANCER_REGIONS: tuple[EnhancerRegion, ...] = get_args(EnhancerRegion)
#: `mouth`: the restored face shows only where the lip-sync model drew, the rest stays the original.
DEFAULT_ENHANCER_REGION: EnhancerRegion = "mouth"
#: Share of the restored face over the composited one (0 = off, 1 = fully restored).
DEFAULT_ENHANCER_BLEND = 0.8
#: CodeFormer's fidelity: 0 = strongest restoration, 1 = closest to the input.
DEFAULT_ENHANCER_WEIGHT = 0.5
#: Restoration networks at 512x512 are large: a few faces per run keep GPU memory modest.
ENHANCER_MAX_BATCH = 4

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
