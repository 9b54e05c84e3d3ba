"""Batch manifests: reading CSV and JSON, and every check made before anything is queued."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from avatar_studio.batch.check import ManifestProblems, check_manifest
from avatar_studio.batch.manifest import read_manifest
from avatar_studio.errors import AvatarStudioError
from avatar_studio.jobs import JobStore
from render_media import write_beeps


@pytest.fixture
def project(tmp_path: Path, models_folder: Path, render_avatar) -> Path:
    """A manifest folder with two short recordings, the still avatar in the library and one model."""
    render_avatar("still")
    folder = tmp_path / "course"
    (folder / "audio").mkdir(parents=True)
    write_beeps(folder / "audio" / "one.wav", beeps=((0.2, 0.4),), seconds=1.0)
    write_beeps(folder / "audio" / "two.wav", beeps=((0.1, 0.3),), seconds=1.2)
    return folder


@pytest.fixture
def store(tmp_path: Path):
    with JobStore(tmp_path / "jobs.sqlite3") as opened:
        yield opened


def write_csv(folder: Path, text: str, name: str = "batch.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_json(folder: Path, rows: list, name: str = "batch.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def problems_of(path: Path, library: Path, store: JobStore, **kwargs) -> list[str]:
    with pytest.raises(ManifestProblems) as caught:
        check_manifest(read_manifest(path), library, store, **kwargs)
    assert store.list() == []  # nothing queued
    return caught.value.problems


def test_csv_rows_become_specs_with_paths_relative_to_the_manifest(project: Path, render_library: Path, store) -> None:
    manifest = write_csv(project, "avatar,audio,output,crf,preset,seconds,loop,batch-size\n"
                                  "still,audio/one.wav,out/first.mp4,23,ultrafast,0.5,loop,4\n"
                                  "STILL,audio/two.wav,,,,,,\n")  # fmt: skip
    plan = check_manifest(read_manifest(manifest), render_library, store)
    first, second = plan.rows
    assert plan.group == "batch.csv"
    assert (first.number, second.number) == (1, 2)
    assert first.spec.audio == str(project / "audio" / "one.wav")
    assert first.spec.output == str(project / "out" / "first.mp4")
    assert (first.spec.crf, first.spec.preset, first.spec.seconds, first.spec.loop, first.spec.batch_size) == (
        23, "ultrafast", 0.5, "loop", 4)  # fmt: skip
    assert first.expected_duration_s == pytest.approx(0.5)
    # Blank cells keep the defaults; no output: the app's name in the manifest's folder.
    assert second.spec.avatar == "still" and second.spec.crf == 18 and second.spec.seconds is None
    assert second.spec.output == str(project / "still_two.mp4")
    assert second.expected_duration_s == pytest.approx(1.2, abs=0.01)
    assert not first.complete and first.avatar_source is None
    assert store.list() == []  # checking queues nothing


def test_json_rows_take_native_numbers_and_the_same_columns(project: Path, render_library: Path, store) -> None:
    manifest = write_json(project, [
        {"avatar": "still", "audio": "audio/one.wav", "crf": 30, "seconds": 1, "Output": "a.mp4"},
        {"avatar": "still", "audio": str(project / "audio" / "two.wav"), "precision": "fp32"},
    ])  # fmt: skip
    first, second = check_manifest(read_manifest(manifest), render_library, store).rows
    assert (first.spec.crf, first.spec.seconds, first.spec.output) == (30, 1.0, str(project / "a.mp4"))
    assert second.spec.precision == "fp32" and second.spec.audio == str(project / "audio" / "two.wav")


def test_every_problem_is_reported_with_its_row(project: Path, render_library: Path, store) -> None:
    manifest = write_csv(project, "avatar,audio,crf,loop,colour\n"
                                  "still,audio/one.wav,abc,loop,red\n"      # 1: crf not a number
                                  "nobody,audio/one.wav,,,\n"               # 2: unknown avatar
                                  "still,audio/missing.wav,,,\n"            # 3: missing audio
                                  "still,audio/two.wav,99,,\n"              # 4: crf out of range
                                  "still,audio/two.wav,,sideways,\n"        # 5: unknown loop mode
                                  ",audio/two.wav,,,\n")  # fmt: skip       # 6: no avatar
    problems = problems_of(manifest, render_library, store)
    by_row = {line.split(":")[0]: line for line in problems}
    assert any("unknown column 'colour'" in line and line.startswith("row 1:") for line in problems)
    assert "crf must be a whole number, not 'abc'" in "\n".join(p for p in problems if p.startswith("row 1:"))
    assert "no avatar is called 'nobody'" in by_row["row 2"]
    assert "missing.wav" in by_row["row 3"] and "does not exist" in by_row["row 3"]
    assert "CRF must be between 0" in by_row["row 4"]
    assert "sideways" in by_row["row 5"]
    assert "no avatar" in by_row["row 6"]
    assert len(problems) == 7  # one line per problem, nothing else


def test_json_problems_name_their_row_too(project: Path, render_library: Path, store) -> None:
    manifest = write_json(project, [
        {"avatar": "still", "audio": "audio/one.wav"},
        "not an object",
        {"avatar": "still", "audio": "audio/one.wav", "seconds": -1},
        {"avatar": "still", "audio": "audio/one.wav", "crf": True},
    ])  # fmt: skip
    problems = problems_of(manifest, render_library, store)
    assert [line.split(":")[0] for line in problems] == ["row 2", "row 3", "row 4"]
    assert "not an object" in problems[0] and "positive" in problems[1] and "whole number" in problems[2]


def test_two_rows_writing_one_file_and_existing_outputs_are_refused(project: Path, render_library: Path,
                                                                    store) -> None:  # fmt: skip
    (project / "taken.mp4").write_bytes(b"somebody's video")
    manifest = write_csv(project, "avatar,audio,output\n"
                                  "still,audio/one.wav,same.mp4\n"
                                  "still,audio/two.wav,./same.mp4\n"
                                  "still,audio/two.wav,taken.mp4\n"
                                  "still,audio/two.wav,clip.txt\n")  # fmt: skip
    problems = problems_of(manifest, render_library, store)
    assert problems[0].startswith("row 2:") and "row 1 writes too" in problems[0]
    assert problems[1].startswith("row 3:") and "--overwrite" in problems[1]
    assert problems[2].startswith("row 4:") and "use .mp4" in problems[2]
    assert len(problems) == 3
    # --overwrite allows replacing the existing file, never two rows on one file.
    problems = problems_of(manifest, render_library, store, overwrite=True)
    assert len(problems) == 2 and problems[0].startswith("row 2:") and problems[1].startswith("row 4:")
    assert (project / "taken.mp4").read_bytes() == b"somebody's video"


def test_default_names_do_not_collide_with_each_other(project: Path, render_library: Path, store) -> None:
    manifest = write_csv(project, "avatar,audio\nstill,audio/one.wav\nstill,audio/one.wav\n")
    first, second = check_manifest(read_manifest(manifest), render_library, store).rows
    assert Path(first.spec.output).name == "still_one.mp4"
    assert Path(second.spec.output).name == "still_one (2).mp4"


def test_a_video_or_photo_path_is_an_avatar_to_prepare_under_its_file_name(project: Path, tmp_path: Path,
                                                                           store) -> None:  # fmt: skip
    (project / "anna.png").write_bytes(b"not read by the check")
    manifest = write_csv(project, "avatar,audio\nanna.png,audio/one.wav\nanna.png,audio/two.wav\n")
    plan = check_manifest(read_manifest(manifest), tmp_path / "empty_library", store)
    assert [row.spec.avatar for row in plan.rows] == ["anna", "anna"]
    assert {row.avatar_source for row in plan.rows} == {project / "anna.png"}


def test_a_missing_model_and_no_model_at_all_are_problems(project: Path, render_library: Path, store) -> None:
    manifest = write_csv(project, "avatar,audio,model\nstill,audio/one.wav,nowhere.onnx\n")
    problems = problems_of(manifest, render_library, store)
    assert len(problems) == 1 and problems[0].startswith("row 1:") and "nowhere.onnx" in problems[0]
    shutil.rmtree(os.environ["AVATAR_STUDIO_MODELS"])
    manifest = write_csv(project, "avatar,audio\nstill,audio/one.wav\n")
    problems = problems_of(manifest, render_library, store)
    assert len(problems) == 1 and "No Wav2Lip model found" in problems[0]


def test_a_model_path_is_relative_to_the_manifest(project: Path, render_library: Path, store,
                                                  identity_model: Path) -> None:  # fmt: skip
    shutil.copy(identity_model, project / "mine.onnx")
    manifest = write_csv(project, "avatar,audio,model\nstill,audio/one.wav,mine.onnx\n")
    (row,) = check_manifest(read_manifest(manifest), render_library, store).rows
    assert row.spec.model == str(project / "mine.onnx")


@pytest.mark.parametrize(("name", "text", "fragment"), [
    ("batch.txt", "avatar,audio\n", "not a manifest"),
    ("batch.json", "{not json", "not valid JSON"),
    ("batch.json", '{"avatar": "still"}', "JSON list of objects"),
    ("batch.csv", "avatar,audio\n", "no rows"),
    ("batch.csv", "avatar,audio\nstill,a.wav,extra\n", None),
])  # fmt: skip
def test_unreadable_manifests_say_what_to_fix(tmp_path: Path, name: str, text: str, fragment: str | None) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    if fragment is None:  # the shape of one row is a row problem, found by the check
        (row,) = read_manifest(path).rows
        assert "3 cells but the header names 2 columns" in row.problem
        return
    with pytest.raises(AvatarStudioError, match=fragment):
        read_manifest(path)


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(AvatarStudioError, match="does not exist"):
        read_manifest(tmp_path / "nope.csv")


def test_every_bad_cell_of_a_row_is_reported_not_just_the_first(project: Path, render_library: Path, store) -> None:
    manifest = write_csv(project, "avatar,audio,crf,preset,loop\nstill,audio/one.wav,70,slowest,sideways\n")
    problems = problems_of(manifest, render_library, store)
    assert len(problems) == 3 and all(line.startswith("row 1:") for line in problems)
    assert "CRF" in problems[0] and "slowest" in problems[1] and "sideways" in problems[2]


def test_ray_without_the_extra_says_what_to_install(project: Path, render_library: Path, monkeypatch, capsys) -> None:
    import sys

    from avatar_studio.cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is not installed
    manifest = write_csv(project, "avatar,audio\nstill,audio/one.wav\n")
    assert main(["batch", str(manifest), "--library", str(render_library), "--ray", "local"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "avatar-studio[cluster]"' in err and len(err.strip().splitlines()) == 1
    assert not (project / "still_one.mp4").exists()


def test_columns_follow_the_job_settings_and_their_types() -> None:
    from avatar_studio.batch.columns import convert, known_columns, setting_field

    assert setting_field("Batch-Size") == "batch_size" and setting_field("overwrite") is None
    assert setting_field("avatar-id") is None and setting_field("colour") is None
    assert "batch-size" in known_columns() and "overwrite" not in known_columns()
    assert convert("batch_size", "8") == 8 and convert("batch_size", 8.0) == 8
    assert convert("seconds", "2.5") == 2.5 and convert("seconds", "") is None
    with pytest.raises(AvatarStudioError, match="batch-size must be a whole number"):
        convert("batch_size", "8.5")
    assert convert("color_match", "yes") is True and convert("color_match", "0") is False  # a yes/no setting
    with pytest.raises(AvatarStudioError, match="yes or no"):
        convert("color_match", "maybe")


def test_a_cluster_address_nobody_answers_at_fails_in_one_sentence(tmp_path: Path) -> None:
    import socket

    pytest.importorskip("ray", reason='Ray is not installed: pip install "avatar-studio[cluster]"')
    from avatar_studio.batch.ray_runner import RayExecutor

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AvatarStudioError, match="Nothing answers at the Ray cluster address") as caught:
        with RayExecutor(f"127.0.0.1:{port}"):
            pass
    assert "\n" not in str(caught.value) and "ray start --head" in str(caught.value)
