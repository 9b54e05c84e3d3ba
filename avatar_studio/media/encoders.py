"""Which H.264/H.265 encoders work on this machine, and the ffmpeg arguments for each one.

The bundled ffmpeg is built with NVENC, Quick Sync, AMF and VAAPI encoders on every machine, but
each one starts only with its GPU and driver present (an H100/H200 has no NVENC at all). Reading
the build's encoder list therefore says nothing; a one-frame trial encode does. Trials run once
per process and are cached, each in a fraction of a second, silently (their failure is the answer);
an encoder whose driver or device is missing altogether is not even tried.

Quality is one scale for all encoders: `crf` (0 best .. 51 smallest, x264's scale) becomes each
encoder's constant-quality setting, and `preset` (x264's names) the nearest speed preset of that
encoder. The table is in docs/encoders.md.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from avatar_studio.choices import ENCODER_PRESETS, MAX_CRF, VIDEO_ENCODERS, check_choice
from avatar_studio.errors import AvatarStudioError
from avatar_studio.gpu_drivers import (
    DRI_DIR,
    nvidia_driver_present,
    render_node_present,
)
from avatar_studio.media.ffmpeg import base_args, ffmpeg_exe
from avatar_studio.media.ffmpeg_process import first_reason

AUTO = "auto"
SOFTWARE_H264 = "libx264"
#: Hardware H.264 encoders `auto` tries, in this order (a discrete GPU's encoder first).
AUTO_CANDIDATES = ("h264_nvenc", "h264_videotoolbox", "h264_qsv", "h264_amf", "h264_vaapi")
USABLE = "usable"
VAAPI_DEVICE = "/dev/dri/renderD128"
#: Trial frame: large enough for every encoder's minimum size (NVENC needs 145x49 and more).
_TRIAL_SIZE = "256x256"
_TRIAL_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class EncoderOption:
    """One `--encoder` choice and whether it starts here (`reason` says why not)."""

    name: str
    usable: bool
    reason: str = ""

    @property
    def label(self) -> str:
        return self.name if self.usable else f"{self.name} (not usable: {self.reason})"


def is_hevc(encoder: str) -> bool:
    return encoder == "libx265" or encoder.startswith("hevc_")


def _preset_index(preset: str) -> int:
    """0 (ultrafast) .. 8 (veryslow)."""
    return ENCODER_PRESETS.index(preset)


def _pick(preset: str, table: tuple[str, ...]) -> str:
    """The entry of a 9-long table (one per x264 preset) for `preset`."""
    return table[_preset_index(preset)]


def _x26x(crf: int, preset: str) -> list[str]:
    return ["-preset", preset, "-crf", str(crf)]


def _nvenc(crf: int, preset: str) -> list[str]:
    # cq 0 means "let the encoder choose", not "best": the best NVENC offers is 1.
    nv_preset = _pick(preset, ("p1", "p1", "p2", "p3", "p4", "p4", "p5", "p6", "p7"))
    return ["-preset", nv_preset, "-rc", "vbr", "-cq", str(max(1, crf)), "-b:v", "0"]


def _qsv(crf: int, preset: str) -> list[str]:
    qsv_preset = _pick(preset, ("veryfast", "veryfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"))
    return ["-preset", qsv_preset, "-global_quality", str(max(1, crf))]


def _amf(crf: int, preset: str) -> list[str]:
    quality = _pick(preset, ("speed", "speed", "speed", "speed", "balanced", "balanced", "quality", "quality", "quality"))
    qp = str(crf)
    return ["-quality", quality, "-rc", "cqp", "-qp_i", qp, "-qp_p", qp, "-qp_b", qp]


def videotoolbox_quality(crf: int) -> int:
    """VideoToolbox's q:v runs the other way, 1 (smallest) .. 100 (best): crf 18 -> 65, 23 -> 55."""
    return max(1, min(100, round(100 * (1 - crf / MAX_CRF))))


def _videotoolbox(crf: int, preset: str) -> list[str]:
    # VideoToolbox has no speed presets; it favours speed itself for the fast ones.
    speed = ["-prio_speed", "1"] if _preset_index(preset) <= _preset_index("veryfast") else []
    return ["-q:v", str(videotoolbox_quality(crf)), *speed]


def _vaapi(crf: int, preset: str) -> list[str]:
    level = _pick(preset, ("7", "7", "6", "5", "4", "4", "3", "2", "1"))  # 1 = best, 7 = fastest
    return ["-rc_mode", "CQP", "-qp", str(max(1, crf)), "-compression_level", level]


_QUALITY: dict[str, Callable[[int, str], list[str]]] = {
    "libx264": _x26x, "libx265": _x26x,
    "h264_nvenc": _nvenc, "hevc_nvenc": _nvenc,
    "h264_qsv": _qsv, "hevc_qsv": _qsv,
    "h264_amf": _amf, "hevc_amf": _amf,
    "h264_videotoolbox": _videotoolbox, "hevc_videotoolbox": _videotoolbox,
    "h264_vaapi": _vaapi,
}  # fmt: skip


def encoder_threads() -> int:
    """Cores this process may use: x264/x265 default to 1.5 threads per core, which on a small
    machine only adds switching between the encoder and the model's threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def input_args(encoder: str) -> list[str]:
    """Global options that must come before the inputs (VAAPI opens its device there)."""
    return ["-vaapi_device", VAAPI_DEVICE] if encoder.endswith("_vaapi") else []


def video_args(encoder: str, crf: int, preset: str) -> list[str]:
    """Output options encoding yuv420p frames with `encoder` at `crf` and `preset` (see the module doc)."""
    if encoder not in _QUALITY:
        raise ValueError(f"not a concrete encoder: {encoder!r}")
    args = ["-c:v", encoder, *_QUALITY[encoder](int(crf), preset)]
    if encoder in ("libx264", "libx265"):
        args += ["-threads", str(encoder_threads())]
    if encoder == "libx265":
        args += ["-x265-params", "log-level=error"]  # x265 prints its own banner otherwise
    if encoder.endswith("_vaapi"):
        args += ["-vf", "format=nv12,hwupload"]
    elif encoder.endswith("_qsv"):
        args += ["-pix_fmt", "nv12"]
    else:
        args += ["-pix_fmt", "yuv420p"]
    if is_hevc(encoder):
        args += ["-tag:v", "hvc1"]  # Apple players refuse HEVC tagged hev1 (ffmpeg's default)
    return args


@functools.cache
def _built_in() -> frozenset[str]:
    """The encoders this ffmpeg build contains (a missing one needs no trial)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-encoders"], capture_output=True, text=True, check=False
    )
    names = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


def _cannot_start(encoder: str) -> str | None:
    """Why `encoder` cannot start here without trying it (no driver or device at all), or None.
    The cheap checks come first: `auto` at a render's start then often needs no process at all."""
    if encoder.endswith("_nvenc") and not nvidia_driver_present():
        return "no NVIDIA driver found"
    if encoder.endswith("_videotoolbox") and sys.platform != "darwin":
        return "VideoToolbox exists only on macOS"
    if encoder.endswith(("_vaapi", "_qsv", "_amf")) and not render_node_present():
        return f"no GPU render device in {DRI_DIR}"
    if encoder not in _built_in():
        return "not in this ffmpeg build"
    return None


@functools.cache
def trial(encoder: str) -> EncoderOption:
    """Encode one frame with `encoder` (once per process); usable, or the reason it is not."""
    if (reason := _cannot_start(encoder)) is not None:
        return EncoderOption(encoder, False, reason)
    command = [
        *base_args(), *input_args(encoder),
        "-f", "lavfi", "-i", f"color=c=gray:s={_TRIAL_SIZE}:r=25:d=0.04",
        "-frames:v", "1", *video_args(encoder, 23, "veryfast"), "-f", "null", "-",
    ]  # fmt: skip
    try:
        proc = subprocess.run(command, capture_output=True, timeout=_TRIAL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return EncoderOption(encoder, False, "its trial encode did not finish")
    if proc.returncode != 0:
        return EncoderOption(encoder, False, first_reason(proc.stderr) or "its trial encode failed")
    return EncoderOption(encoder, True)


def encoder_options() -> list[EncoderOption]:
    """Every concrete `--encoder` choice with its trial result (trials run side by side)."""
    names = [name for name in VIDEO_ENCODERS if name != AUTO]
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(trial, names))


def usable_encoders() -> list[str]:
    return [option.name for option in encoder_options() if option.usable]


@functools.cache
def auto_encoder() -> str:
    """The first hardware H.264 encoder that starts here, else libx264 (trials side by side: this
    runs at every render's start)."""
    with ThreadPoolExecutor(len(AUTO_CANDIDATES)) as pool:
        options = list(pool.map(trial, AUTO_CANDIDATES))
    return next((o.name for o in options if o.usable), SOFTWARE_H264)


def resolve_encoder(choice: str) -> str:
    """The concrete encoder for `choice` ("auto" or a name), or one sentence saying why it cannot
    run here and which encoders can."""
    if choice == AUTO:
        return auto_encoder()
    check_choice("encoder", choice, VIDEO_ENCODERS)
    option = trial(choice)
    if not option.usable:
        raise AvatarStudioError(
            f"The {choice} encoder cannot start on this machine ({option.reason}); "
            f"encoders that work here: {', '.join(usable_encoders())}."
        )
    return choice
