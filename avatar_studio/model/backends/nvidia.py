"""Whether the NVIDIA driver is installed, without importing torch or ONNX Runtime (instant)."""

from __future__ import annotations

import ctypes
import sys


def nvidia_driver_present() -> bool:
    """True when the NVIDIA driver's CUDA library can be loaded (the CUDA providers need it)."""
    names = {"win32": "nvcuda.dll", "linux": "libcuda.so.1"}
    name = names.get(sys.platform)
    if name is None:
        return False
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True
