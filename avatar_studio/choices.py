"""The closed sets of settings the engine, CLI and GUI share, as typed literals with their values."""

from typing import Literal, get_args

BackendChoice = Literal["auto", "torch", "onnx"]
DeviceChoice = Literal["auto", "cpu", "cuda", "mps"]
PrecisionChoice = Literal["auto", "fp32", "fp16"]
LoopMode = Literal["pingpong", "loop"]
EncoderPreset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]

BACKENDS: tuple[str, ...] = get_args(BackendChoice)
DEVICES: tuple[str, ...] = get_args(DeviceChoice)
PRECISIONS: tuple[str, ...] = get_args(PrecisionChoice)
LOOP_MODES: tuple[str, ...] = get_args(LoopMode)
ENCODER_PRESETS: tuple[str, ...] = get_args(EncoderPreset)

MODEL_SUFFIXES_TORCH = (".pth", ".pt")
MODEL_SUFFIXES_ONNX = (".onnx",)
MODEL_SUFFIXES = MODEL_SUFFIXES_TORCH + MODEL_SUFFIXES_ONNX

DEFAULT_FPS = 25.0
DEFAULT_CRF = 18
MAX_CRF = 51  # the top of libx264's quality scale
#: Soft edge of the blended mouth region, as a fraction of the face box's smaller side.
DEFAULT_FEATHER = 0.15
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
VIDEO_ENCODERS: tuple[str, ...] = get_args(VideoEncoderChoice)
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
