"""The output name the render form proposes: safe, readable, never an existing or promised file."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_studio.jobs import default_output_path


def test_name_joins_avatar_and_audio_stem(tmp_path: Path) -> None:
    path = default_output_path(tmp_path, "Anna Lena", "/voice/take 3.final.wav")
    assert path == tmp_path / "Anna Lena_take 3.final.mp4"


def test_existing_files_get_a_number_and_are_never_proposed(tmp_path: Path) -> None:
    (tmp_path / "anna_intro.mp4").write_bytes(b"user video")
    (tmp_path / "anna_intro (2).mp4").write_bytes(b"user video")
    path = default_output_path(tmp_path, "anna", "intro.m4a")
    assert path == tmp_path / "anna_intro (3).mp4"
    assert not path.exists()


def test_outputs_promised_to_queued_jobs_are_skipped(tmp_path: Path) -> None:
    first = default_output_path(tmp_path, "anna", "intro.wav")
    second = default_output_path(tmp_path, "anna", "intro.wav", taken=[str(first)])
    assert (first.name, second.name) == ("anna_intro.mp4", "anna_intro (2).mp4")


@pytest.mark.parametrize(
    "avatar, audio, expected",
    [
        ("../../etc/passwd", "x.wav", "_.._etc_passwd_x.mp4"),
        ("a/b\\c", "d.wav", "a_b_c_d.mp4"),
        ('wh<a>t:"|?*', "d.wav", "wh_a_t__d.mp4"),
        ("tab\tnew\nline", "d.wav", "tab_new_line_d.mp4"),
        ("  spaced   out  ", " talk .wav", "spaced out_talk.mp4"),
        ("Zoë 講者", "речь.wav", "Zoë 講者_речь.mp4"),
        ("", "", "render.mp4"),
        ("...", "", "render.mp4"),
        ("CON", "", "CON_render.mp4"),
    ],
)
def test_names_are_sanitised_and_stay_in_the_output_folder(
    tmp_path: Path, avatar: str, audio: str, expected: str
) -> None:
    path = default_output_path(tmp_path, avatar, audio)
    assert path.name == expected
    assert path.parent == tmp_path


def test_very_long_names_fit_a_file_name_even_with_multibyte_characters(tmp_path: Path) -> None:
    path = default_output_path(tmp_path, "講" * 300, "x" * 300 + ".wav")
    assert len(path.name.encode("utf-8")) < 255
    path.write_bytes(b"")  # the file system accepts it
    numbered = default_output_path(tmp_path, "講" * 300, "x" * 300 + ".wav")
    assert numbered.name.endswith(" (2).mp4") and len(numbered.name.encode("utf-8")) < 255
