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
DEFAULT_PRESET: EncoderPreset = "medium"
