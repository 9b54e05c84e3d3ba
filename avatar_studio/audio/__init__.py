"""Audio front end: decode anything to 16 kHz mono, the Wav2Lip mel spectrogram, per-frame windows."""

from avatar_studio.audio.decode import SAMPLE_RATE, decode_audio
from avatar_studio.audio.mel import MEL_COLUMNS_PER_SECOND, melspectrogram
from avatar_studio.audio.track import AudioTrack, load_audio
from avatar_studio.audio.windows import (
    WINDOW_COLUMNS,
    MelWindows,
    chunk_start,
    frames_for_duration,
    original_frame_count,
)

__all__ = [
    "MEL_COLUMNS_PER_SECOND",
    "SAMPLE_RATE",
    "WINDOW_COLUMNS",
    "AudioTrack",
    "MelWindows",
    "chunk_start",
    "decode_audio",
    "frames_for_duration",
    "load_audio",
    "melspectrogram",
    "original_frame_count",
]
