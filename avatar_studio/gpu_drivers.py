"""Cheap checks for GPU drivers, so nothing tries (and noisily fails) to start a GPU feature on a
machine that cannot have it: the CUDA providers of ONNX Runtime, NVENC, and the Linux encoders
that need a DRM render node (VAAPI, Quick Sync, AMF)."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

DRI_DIR = Path("/dev/dri")


def nvidia_driver_present() -> bool:
    """True when the NVIDIA driver's CUDA library can be loaded (CUDA providers and NVENC need it)."""
    names = {"win32": "nvcuda.dll", "linux": "libcuda.so.1"}
    name = names.get(sys.platform)
    if name is None:
        return False
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def render_node_present() -> bool:
    """True off Linux (the check does not apply there) or when a /dev/dri/renderD* node exists."""
    if not sys.platform.startswith("linux"):
        return True
    return DRI_DIR.is_dir() and any(DRI_DIR.glob("renderD*"))
