"""Face detection (mediapipe BlazeFace) and the per-frame face-box track built from it."""
