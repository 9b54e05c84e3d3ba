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
#: Where the model's mouth is blended in: today's feathered box, or regions bounded by the face mesh.
MaskKind = Literal["box", "lower-face", "mouth"]
MASK_KINDS: tuple[str, ...] = get_args(MaskKind)
#: What silent stretches of the audio show: the model's mouth, or the avatar's own frames.
SilenceMode = Literal["lipsync", "original"]
SILENCE_MODES: tuple[str, ...] = get_args(SilenceMode)
ENCODER_PRESETS: tuple[str, ...] = get_args(EncoderPreset)

MODEL_SUFFIXES_TORCH = (".pth", ".pt")
MODEL_SUFFIXES_ONNX = (".onnx",)
MODEL_SUFFIXES = MODEL_SUFFIXES_TORCH + MODEL_SUFFIXES_ONNX

DEFAULT_FPS = 25.0
#: Frame rates an avatar may be prepared at (--fps): below 1 a clip collapses into a few frames
#: that each stand for seconds of speech; above 240 no camera or encoder setting makes sense.
MIN_FPS = 1.0
MAX_FPS = 240.0
#: Preparation refuses a clip where more than this share of frames shows no face (their boxes would
#: all be guesses copied from other frames), unless the user allows filling them.
MAX_FACELESS_SHARE = 0.2
DEFAULT_CRF = 18
MAX_CRF = 51  # the top of libx264's quality scale
#: Soft edge of the blended mouth region, as a fraction of the face box's smaller side.
DEFAULT_FEATHER = 0.15
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
