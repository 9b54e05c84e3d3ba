"""Which avatar frame shows under output frame i.

Any audio length works with any avatar length because the avatar's frames repeat:

* ``pingpong`` (default, as the seed article builds it): forward, then backward, then forward
  again. The turning frames are shown once, not twice - 0 1 2 3 2 1 0 1 2 ... - because a frame
  held for two ticks reads as a stutter at every turn. The period is ``2 * (n - 1)``.
* ``loop``: 0 1 2 3 0 1 2 3 ... (a visible jump at the restart unless the clip was shot as a loop).

A one-frame avatar (a still image) shows frame 0 throughout in either mode.
"""

from __future__ import annotations

from collections.abc import Iterator

from avatar_studio.choices import LOOP_MODES, LoopMode, check_choice


def source_frame(i: int, frame_count: int, mode: LoopMode = "pingpong") -> int:
    """The avatar frame index shown at output frame `i`."""
    if frame_count < 1:
        raise ValueError("an avatar has at least one frame")
    check_choice("loop mode", mode, LOOP_MODES)
    if frame_count == 1:
        return 0
    if mode == "loop":
        return i % frame_count
    period = 2 * (frame_count - 1)
    phase = i % period
    return phase if phase < frame_count else period - phase


def frame_schedule(
    n_output_frames: int, frame_count: int, mode: LoopMode = "pingpong"
) -> Iterator[int]:
    """The avatar frame indices for output frames 0 .. n_output_frames-1, lazily.

    Lazy so a 10-minute render never materialises a list of its 15,000 indices alongside the
    frames; consecutive runs (forward or backward) let the frame reader decode sequentially.
    """
    for i in range(n_output_frames):
        yield source_frame(i, frame_count, mode)


#: Frames in a render's first model call. The first call of a full batch costs ~2.4 s of CPU for the
#: synthetic Wav2Lip on the 2-core machine (ONNX Runtime plans the batch shape on first use), while
#: decoding, compositing and the encoder wait for it; a 2-frame call costs 0.3 s, so the first frame
#: reaches the encoder that much sooner and the other stages start while the full batches run.
FIRST_BATCH_FRAMES = 2


def model_batches(n_frames: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """(start, stop) output-frame ranges of the model calls: a small first one, then `batch_size` each."""
    first = min(FIRST_BATCH_FRAMES, batch_size, n_frames)
    if first > 0:
        yield 0, first
    for start in range(first, n_frames, batch_size):
        yield start, min(start + batch_size, n_frames)
