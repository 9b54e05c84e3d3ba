"""A wheel of the project carries every subpackage and the resources the app loads at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_all_packages_and_resources(tmp_path: Path) -> None:
    # Build from a clean copy: setuptools' build/ folder in the checkout would hide omissions.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", "pretrained"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("avatar_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "avatar_studio").rglob("__init__.py")}
    missing = sorted(f"{package}/__init__.py" for package in packages if f"{package}/__init__.py" not in names)
    assert not missing, f"subpackages left out of the wheel (list them in pyproject.toml): {missing}"

    resources = {f"avatar_studio/resources/{p.relative_to(ROOT / 'resources').as_posix()}"
                 for p in (ROOT / "resources").rglob("*") if p.is_file()}
    assert resources and resources <= names, sorted(resources - names)
