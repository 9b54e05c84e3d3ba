"""Rendering: frame schedule, compositing and the streaming render pipeline."""
