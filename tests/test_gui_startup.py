"""Starting the app: X11 library advice, the bare command, the console-less launcher, quiet logging."""

from __future__ import annotations

import ctypes
import importlib
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from avatar_studio.gui.platform_check import XCB_LIBRARIES, missing_xcb_packages, uses_xcb, xcb_advice

ROOT = Path(__file__).resolve().parent.parent


def test_missing_xcb_libraries_become_one_apt_line() -> None:
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    missing = missing_xcb_packages(loads=lambda soname: soname not in absent)
    assert missing == ["libxcb-icccm4", "libxcb-keysyms1"]
    advice = xcb_advice(missing)
    assert advice.count("\n") == 0 and advice.endswith("sudo apt install libxcb-icccm4 libxcb-keysyms1")
    assert xcb_advice([]) == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb libraries exist on Linux only")
def test_the_real_check_names_exactly_the_libraries_the_loader_cannot_open() -> None:
    reported = set(missing_xcb_packages())
    for soname, package in XCB_LIBRARIES.items():
        try:
            ctypes.CDLL(soname)
            loaded = True
        except OSError:
            loaded = False
        assert (package in reported) == (not loaded), soname


def test_the_xcb_libraries_qt_links_are_all_checked() -> None:
    """Every xcb/xkb library libqxcb.so needs (per ldd) is in the table, so none is missed."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        pytest.skip("this PySide6 build has no xcb plugin")
    qpa = next((qt / "lib").glob("libQt6XcbQpa.so.*"), None)
    listed = subprocess.run(["ldd", str(plugin), *([str(qpa)] if qpa else [])],
                            capture_output=True, text=True, check=False).stdout
    needed = {line.split()[0] for line in listed.splitlines()
              if line.strip().startswith(("libxcb", "libxkbcommon", "libX11-xcb"))}
    assert needed and needed <= set(XCB_LIBRARIES), sorted(needed - set(XCB_LIBRARIES))


@pytest.mark.parametrize(("environ", "platform", "expected"), [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "linux", False),
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "win32", False),
])
def test_uses_xcb(environ, platform, expected) -> None:
    assert uses_xcb(environ, platform) is expected


def test_the_readme_lists_every_package_the_check_can_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [package for package in XCB_LIBRARIES.values() if package not in readme] == []


def test_a_bare_command_opens_the_app_and_subcommands_stay(monkeypatch, capsys) -> None:
    from avatar_studio.cli import main as cli_main
    from avatar_studio.gui import app

    opened: list[tuple] = []
    monkeypatch.setattr(app, "run", lambda library=None, verbose=False: opened.append((library, verbose)) or 0)
    assert cli_main.main([]) == 0
    assert opened == [(None, False)]
    assert cli_main.main(["gui", "--library", "/tmp/lib", "--verbose"]) == 0
    assert opened[-1] == (Path("/tmp/lib"), True)
    with pytest.raises(SystemExit):
        cli_main.main(["--help"])
    assert "COMMAND" in capsys.readouterr().out and len(opened) == 2


def test_the_gui_script_entry_opens_the_app_without_a_console(monkeypatch) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["gui-scripts"]
    module_name, function_name = scripts["avatar-studio-gui"].split(":")
    from avatar_studio.gui import app

    opened: list[tuple] = []
    monkeypatch.setattr(app, "run", lambda library=None, verbose=False: opened.append((library, verbose)) or 0)
    monkeypatch.setattr(sys, "argv", ["avatar-studio-gui", "--verbose"])
    assert getattr(importlib.import_module(module_name), function_name)() == 0
    assert opened == [(None, True)]


LOGGING_SCRIPT = textwrap.dedent("""
    import logging, os, sys
    from pathlib import Path
    from PySide6.QtCore import QCoreApplication, QThread, qWarning
    from avatar_studio.gui.app_log import AppLog

    app = QCoreApplication([])
    log = AppLog(Path(sys.argv[1]), verbose=sys.argv[2] == "verbose")

    class Warner(QThread):
        def run(self):
            qWarning("a Qt warning from another thread")

    warner = Warner()
    warner.start()
    warner.wait()
    os.write(2, b"Input #0, a native stream dump\\n")
    logging.getLogger("avatar_studio.test").info("a Python log line")
    log.close()
    print("after close", file=sys.stderr)
""")


@pytest.mark.parametrize("verbose", [False, True])
def test_chatter_goes_to_the_log_file_and_only_verbose_shows_it(tmp_path, verbose) -> None:
    library = tmp_path / "library"
    library.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", LOGGING_SCRIPT, str(library), "verbose" if verbose else "quiet"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    logged = (library / "logs" / "avatar-studio.log").read_text(encoding="utf-8")
    for line in ("a Qt warning from another thread", "a Python log line"):
        assert line in logged
        assert (line in run.stderr) is verbose
    assert ("Input #0, a native stream dump" in logged) is not verbose
    assert ("Input #0, a native stream dump" in run.stderr) is verbose
    assert "after close" in run.stderr and "after close" not in logged
