"""Rendering: frame schedule, compositing and the streaming render pipeline."""

from avatar_studio.render.pipeline import RenderResult, RenderSettings, render_video

__all__ = ["RenderResult", "RenderSettings", "render_video"]
