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

# Face enhancer (face restoration after the lip sync): see model/enhancers.py and render/enhance.py.
ModelKind = Literal["lip-sync", "enhancer"]
EnhancerRegion = Literal["mouth", "face"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
ENHANCER_REGIONS: tuple[str, ...] = get_args(EnhancerRegion)
#: `mouth`: the restored face shows only where the lip-sync model drew, the rest stays the original.
DEFAULT_ENHANCER_REGION: EnhancerRegion = "mouth"
#: Share of the restored face over the composited one (0 = off, 1 = fully restored).
DEFAULT_ENHANCER_BLEND = 0.8
#: CodeFormer's fidelity: 0 = strongest restoration, 1 = closest to the input.
DEFAULT_ENHANCER_WEIGHT = 0.5
#: Restoration networks at 512x512 are large: a few faces per run keep GPU memory modest.
ENHANCER_MAX_BATCH = 4
