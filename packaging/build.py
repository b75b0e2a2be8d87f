"""Build the self-contained Hearth application folder (and, on Linux, its tarball).

    .venv/bin/pip install -e ".[starter,package]"
    .venv/bin/python packaging/build.py            # -> dist/hearth-<version>-linux-x86_64.tar.gz

Steps: render nothing (the icons are committed), run PyInstaller on
``packaging/pyinstaller/hearth.spec`` (work files in ``build/pyinstaller``, the app folder
in ``dist/pyinstaller/hearth``), then on Linux lay out ``dist/hearth-<version>-linux-<arch>/``
with the app folder, the desktop files, icons, install.sh/uninstall.sh, and pack it as a
``.tar.gz``. On macOS the result is ``dist/pyinstaller/Hearth.app``; on Windows
``dist/pyinstaller/hearth/`` (zip it, or feed it to ``packaging/windows/hearth.iss``).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "pyinstaller" / "hearth.spec"
LINUX = ROOT / "packaging" / "linux"
WORK = ROOT / "build" / "pyinstaller"
DIST = ROOT / "dist"


def version() -> str:
    """The app version, read from app/__init__.py without importing the package."""
    for line in (ROOT / "app" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit("no __version__ in app/__init__.py")


def run_pyinstaller(*, clean: bool, work: Path = WORK, dist: Path = DIST) -> Path:
    """Run PyInstaller on the spec; returns the app folder (or .app on macOS)."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--workpath",
        str(work),
        "--distpath",
        str(dist / "pyinstaller"),
        str(SPEC),
    ]
    if clean:
        command.insert(3, "--clean")
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    if sys.platform == "darwin":
        return dist / "pyinstaller" / "Hearth.app"
    return dist / "pyinstaller" / "hearth"


def link_duplicate_libraries(app_dir: Path) -> int:
    """Replace ``libX.so`` copies of ``libX.so.0`` (same folder, same bytes) by symlinks.

    PyInstaller copies each name of a versioned library separately; llama.cpp's folder
    holds every library twice, which for a CUDA build means hundreds of MB. Returns the
    bytes saved.
    """
    saved = 0
    for lib in app_dir.rglob("*.so*"):
        if lib.is_symlink() or not lib.is_file():
            continue
        for longer in sorted(lib.parent.glob(lib.name + ".*")):
            if longer.is_symlink() or not longer.is_file() or longer == lib:
                continue
            if longer.stat().st_size == lib.stat().st_size and filecmp.cmp(
                lib, longer, shallow=False
            ):
                saved += lib.stat().st_size
                lib.unlink()
                lib.symlink_to(longer.name)
                break
    return saved


def _link_or_copy(src: str, dst: str) -> str:
    """``copytree`` helper: a hard link, or a copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def linux_tree(app_dir: Path, dist: Path = DIST) -> Path:
    """``dist/hearth-<version>-linux-<arch>/``: app folder + desktop integration files."""
    name = f"hearth-{version()}-linux-{platform.machine()}"
    tree = dist / name
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    # Hard links where the file system allows: the app folder is ~900 MB.
    shutil.copytree(app_dir, tree / "hearth", symlinks=True, copy_function=_link_or_copy)
    share = tree / "share"
    shutil.copytree(ROOT / "assets" / "icons" / "hicolor", share / "icons" / "hicolor")
    (share / "applications").mkdir(parents=True)
    shutil.copy2(LINUX / "hearth.desktop", share / "applications" / "hearth.desktop")
    (share / "metainfo").mkdir()
    shutil.copy2(LINUX / "org.hearth.Hearth.metainfo.xml", share / "metainfo")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(LINUX / "hearth-gguf.xml", share / "mime" / "packages")
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(LINUX / script, tree / script)
        (tree / script).chmod(0o755)
    shutil.copy2(ROOT / "packaging" / "README.md", tree / "README.md")
    return tree


def make_tarball(tree: Path) -> Path:
    """Pack ``tree`` as ``<tree>.tar.gz`` (gzip level 6, symlinks kept)."""
    target = tree.with_name(tree.name + ".tar.gz")
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(tree, arcname=tree.name)
    return target


def main(argv: list[str] | None = None) -> int:
    """Build; prints where the results are and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--no-tarball", action="store_true", help="Linux: skip the .tar.gz")
    parser.add_argument(
        "--no-starter", action="store_true", help="leave the starter models out of the bundle"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="put the work files in OUT/build and the results in OUT/dist "
        "(default: build/ and dist/ in the checkout)",
    )
    args = parser.parse_args(argv)
    work, dist = (args.out / "build", args.out / "dist") if args.out else (WORK, DIST)
    if args.no_starter:
        os.environ["HEARTH_BUNDLE_STARTER"] = "0"
    started = time.perf_counter()
    app_dir = run_pyinstaller(clean=args.clean, work=work, dist=dist)
    if sys.platform != "win32":
        saved = link_duplicate_libraries(app_dir)
        print(f"linked duplicate libraries: {saved / 1e6:.1f} MB saved")
    print(f"app folder: {app_dir}")
    if sys.platform.startswith("linux"):
        tree = linux_tree(app_dir, dist)
        print(f"install tree: {tree}")
        if not args.no_tarball:
            print(f"tarball: {make_tarball(tree)}")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
