"""Set-up on a fresh machine: the system-package check, as root and as a normal user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _stub_bin(folder: Path, *, missing: str | None = None) -> Path:
    """apt-get that only records its calls; dpkg-query that reports `missing` as not installed."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "apt.log"
    (folder / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\n')
    real = shutil.which("dpkg-query")
    (folder / "dpkg-query").write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do last="$a"; done\n'
        f'if [ "$last" = "{missing or "-"}" ]; then exit 1; fi\n'
        f'exec {real} "$@"\n')
    for name in ("apt-get", "dpkg-query"):
        (folder / name).chmod(0o755)
    folder.chmod(0o755)
    return log


def _run(args: list[str], stub: Path, *, as_nobody: bool = False) -> subprocess.CompletedProcess:
    env = {"PATH": f"{stub}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(stub)}
    cmd = ["bash", str(SCRIPT), *args]
    if as_nobody:
        # runuser sets its own PATH: pass ours on explicitly.
        cmd = [RUNUSER, "-u", "nobody", "--", "env", *(f"{k}={v}" for k, v in env.items()), *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def _installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "install ok installed" in out.stdout


def test_the_script_names_debian_12_packages_and_splits_run_from_test():
    text = SCRIPT.read_text()
    runtime = text.split("runtime_pkgs=(")[1].split(")")[0].split()
    tests = text.split("test_pkgs=(")[1].split(")")[0].split()
    assert "printer-driver-cups-pdf" in tests and "cups-pdf" not in runtime + tests
    # The app's own needs are Qt's libraries; printing, PDF and screenshot tools are for the tests.
    assert {"libxcb-cursor0", "libegl1", "libfontconfig1"} <= set(runtime)
    assert not {"cups", "poppler-utils", "xvfb", "mtools"} & set(runtime)


@pytest.mark.skipif(not _installed("printer-driver-cups-pdf"), reason="the test packages are not installed")
def test_nothing_missing_means_apt_is_not_touched(tmp_path):
    log = _stub_bin(tmp_path / "bin")
    for args in ([], ["--test"]):
        result = _run(args, tmp_path / "bin")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "" and result.stderr == ""
    assert not log.exists()


@pytest.fixture
def open_tmp():
    """A temporary folder another user can read (pytest's own is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="griddesk-setup-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_normal_user_is_told_in_chinese_what_is_missing(open_tmp):
    stub = open_tmp / "bin"
    log = _stub_bin(stub, missing="poppler-utils")
    as_nobody = os.geteuid() == 0
    # The app's own check does not care about a test tool...
    if _installed("libxcb-cursor0"):
        assert _run([], stub, as_nobody=as_nobody).returncode == 0
    # ...the tests' check names it, in Chinese, and says who can install it.
    result = _run(["--test"], stub, as_nobody=as_nobody)
    assert result.returncode == 1
    assert "运行测试还缺少这些系统软件包：" in result.stderr and "poppler-utils" in result.stderr
    assert "管理员" in result.stderr
    assert not log.exists()


def test_as_root_a_missing_package_is_installed_with_apt(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("installs only as root")
    stub = tmp_path / "bin"
    log = _stub_bin(stub, missing="mtools")
    result = _run(["--test"], stub)
    assert result.returncode == 0, result.stderr
    assert "正在安装系统软件包：mtools" in result.stdout
    assert "install -y -qq --no-install-recommends mtools" in log.read_text()


def test_check_only_never_installs(tmp_path):
    stub = tmp_path / "bin"
    log = _stub_bin(stub, missing="libegl1")
    result = _run(["--check"], stub)
    assert result.returncode == 1 and "运行网格台账还缺少这些系统软件包：libegl1" in result.stderr
    assert not log.exists()


def test_the_app_starts_for_a_normal_user(open_tmp):
    """`griddesk info` and the window (offscreen, quits when shown) as `nobody`, HOME in a temp folder.

    CI runs as root; scripts/check-nonroot-start.sh (in .ci/run) also installs GridDesk as that user."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    probe = subprocess.run([RUNUSER, "-u", "nobody", "--", sys.executable, "-c", "import PySide6"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"this Python is not usable by other users ({sys.executable}); "
                    "scripts/check-nonroot-start.sh installs one of the user's own")
    home = open_tmp / "home"
    home.mkdir()
    shutil.chown(home, "nobody")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "GRIDDESK_EXIT_WHEN_SHOWN": "1", "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    db = home / "g.sqlite"
    base = [RUNUSER, "-u", "nobody", "--", sys.executable, "-m", "desktop"]
    demo = subprocess.run([*base, "demo", "--db", str(db), "--households", "5"], env=env, cwd=home,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    gui = subprocess.run([*base, "gui", "--db", str(db)], env=env, cwd=home, capture_output=True, text=True,
                         timeout=120)
    assert gui.returncode == 0, gui.stderr
    assert "WINDOW_SHOWN" in gui.stdout
