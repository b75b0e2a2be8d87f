"""Build the self-contained Hearth application folder (and, on Linux, its tarball).

    .venv/bin/pip install -e ".[starter,package]"
    .venv/bin/python packaging/build.py            # -> dist/hearth-<version>-linux-x86_64.tar.gz

Steps: render nothing (the icons are committed), run PyInstaller on
``packaging/pyinstaller/hearth.spec`` (work files in ``build/pyinstaller``, the app folder
in ``dist/pyinstaller/hearth``), then on Linux lay out ``dist/hearth-<version>-linux-<arch>/``
with the app folder, the desktop files, icons, install.sh/uninstall.sh, and pack it as a
``.tar.gz``. On macOS the result is ``dist/pyinstaller/Hearth.app``; on Windows
``dist/pyinstaller/hearth/`` (zip it, or feed it to ``packaging/windows/hearth.iss``).

When the installed llama-cpp-python is a CUDA build (seen by the default ``--variant
auto``, or asked for with ``--variant cuda``), the bundle also carries the CUDA runtime
libraries of the nvidia-* wheels (never the driver) and is named
``hearth-<version>-linux-<arch>-cuda<N>`` (see ``cuda_bundle.py``).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import cuda_bundle  # packaging/ is on sys.path: this file runs as a script

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


def run_pyinstaller(
    *,
    clean: bool,
    work: Path = WORK,
    dist: Path = DIST,
    env: dict[str, str] | None = None,
    folder: str = "pyinstaller",
) -> Path:
    """Run PyInstaller on the spec (app folder in ``dist/<folder>``); returns the app
    folder (or .app on macOS)."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--workpath",
        str(work),
        "--distpath",
        str(dist / folder),
        str(SPEC),
    ]
    if clean:
        command.insert(3, "--clean")
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    if sys.platform == "darwin":
        return dist / folder / "Hearth.app"
    return dist / folder / "hearth"


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


def linux_tree(app_dir: Path, dist: Path = DIST, suffix: str = "") -> Path:
    """``dist/hearth-<version>-linux-<arch><suffix>/``: app folder + desktop integration files."""
    name = f"hearth-{version()}-linux-{platform.machine()}{suffix}"
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


def cuda_build_env() -> tuple[dict[str, str], list[Path], str]:
    """PyInstaller's environment for a CUDA bundle, the CUDA libraries and the name suffix.

    The libraries are named to the spec (HEARTH_BUNDLE_BINARIES, each in its wheel's folder)
    and their folders lead LD_LIBRARY_PATH, so PyInstaller's dependency analysis (ldd)
    resolves libggml-cuda's libcudart/libcublas to these same files rather than to the
    build machine's toolkit named in its RUNPATH.
    """
    ggml = cuda_bundle.ggml_cuda_library()
    if ggml is None:
        raise SystemExit(
            "build.py: the installed llama-cpp-python is not a CUDA build; run "
            "packaging/gpu/build-llama.sh cuda first, or build with --variant cpu."
        )
    try:
        libraries = cuda_bundle.cuda_libraries(ggml)
    except FileNotFoundError as exc:
        raise SystemExit(f"build.py: {exc}") from exc
    pairs = []
    for lib in libraries:
        top = next(parent for parent in lib.parents if parent.name == "nvidia")
        pairs.append([str(lib), str(lib.parent.relative_to(top.parent))])
    env = dict(os.environ, HEARTH_BUNDLE_BINARIES=json.dumps(pairs))
    folders = list(dict.fromkeys(str(lib.parent) for lib in libraries))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        folders + [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    )
    return env, libraries, f"-cuda{cuda_bundle.cuda_major(libraries)}"


def finish_cuda_bundle(app_dir: Path, libraries: list[Path]) -> None:
    """Drop the build machine's paths from libggml-cuda's RUNPATH, check, print the sizes."""
    lib_dir = app_dir / "_internal" / "llama_cpp" / "lib"
    for lib in lib_dir.glob("libggml-cuda.so*"):
        if lib.is_file() and not lib.is_symlink():
            old = cuda_bundle.strip_runpath(lib)
            if old is not None:
                print(f"{lib.name}: RUNPATH {old!r} -> $ORIGIN entries only")
    problems = cuda_bundle.check_bundle(app_dir)
    if problems:
        raise SystemExit("build.py: the CUDA bundle is incomplete: " + "; ".join(problems))
    sizes = cuda_bundle.size_breakdown(app_dir, libraries)
    print("CUDA bundle sizes (MB): " + ", ".join(f"{k} {v / 1e6:.0f}" for k, v in sizes.items()))


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
    parser.add_argument(
        "--variant",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="cuda: carry the CUDA runtime of the nvidia-* wheels (Linux); "
        "auto (default): cuda when the installed llama.cpp is a CUDA build",
    )
    args = parser.parse_args(argv)
    work, dist = (args.out / "build", args.out / "dist") if args.out else (WORK, DIST)
    if args.no_starter:
        os.environ["HEARTH_BUNDLE_STARTER"] = "0"
    variant = args.variant
    if variant == "auto":
        variant = "cuda" if cuda_bundle.ggml_cuda_library() is not None else "cpu"
    elif variant == "cpu" and cuda_bundle.ggml_cuda_library() is not None:
        raise SystemExit(
            "build.py: the installed llama.cpp is a CUDA build; build the CUDA bundle "
            "(--variant cuda) or install a CPU build (packaging/gpu/build-llama.sh cpu)."
        )
    env: dict[str, str] | None = None
    libraries: list[Path] = []
    suffix = ""
    if variant == "cuda":
        if not sys.platform.startswith("linux"):
            raise SystemExit("build.py: the CUDA bundle is made on Linux only.")
        env, libraries, suffix = cuda_build_env()
        # Its own work and app folders, so a CPU and a CUDA build do not overwrite each other.
        work = work.with_name(work.name + suffix)
        print("CUDA libraries: " + ", ".join(str(lib) for lib in libraries))
    started = time.perf_counter()
    app_dir = run_pyinstaller(
        clean=args.clean, work=work, dist=dist, env=env, folder="pyinstaller" + suffix
    )
    if sys.platform != "win32":
        saved = link_duplicate_libraries(app_dir)
        print(f"linked duplicate libraries: {saved / 1e6:.1f} MB saved")
    if variant == "cuda":
        finish_cuda_bundle(app_dir, libraries)
    print(f"app folder: {app_dir}")
    if sys.platform.startswith("linux"):
        tree = linux_tree(app_dir, dist, suffix)
        print(f"install tree: {tree}")
        if not args.no_tarball:
            print(f"tarball: {make_tarball(tree)}")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
