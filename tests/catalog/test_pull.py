"""Pull planning (what, where, which kind) and flat downloads through the DownloadManager."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from app.catalog.downloads import DownloadManager, DownloadState
from app.catalog.hub import HubClient, RemoteFile, RepoFiles, group_files
from app.catalog.library import Library
from app.catalog.pull import (
    detect_kind,
    enqueue,
    plan_pull,
    register,
    select_variant,
    voice_locale,
)
from app.core.errors import ConfigError, ModelNotFoundError, ModelTooLargeError, UnsafeNameError
from tests.catalog.conftest import TINY_REPO, ProgressLog
from tests.hubserver import Fault, HubServer


def repo(*paths: str, repo_id: str = "org/repo") -> RepoFiles:
    files = [RemoteFile(p, 1000 + i, f"{i:064x}", None) for i, p in enumerate(paths)]
    variants, others = group_files(files)
    return RepoFiles(repo_id, "c" * 40, False, None, None, variants, others)


GGUF_REPO = repo(
    "m-Q4_K_M.gguf",
    "Q8_0/m-Q8_0-00001-of-00002.gguf",
    "Q8_0/m-Q8_0-00002-of-00002.gguf",
    "mmproj-m-f16.gguf",
    "README.md",
)
VOICES = repo(
    "en/en_US/amy/low/en_US-amy-low.onnx",
    "en/en_US/amy/low/en_US-amy-low.onnx.json",
    "zh/zh_CN/huayan/x_low/zh_CN-huayan-x_low.onnx",
    "zh/zh_CN/huayan/x_low/zh_CN-huayan-x_low.onnx.json",
    "voices.json",
    repo_id="rhasspy/piper-voices",
)
WHISPER = repo(
    "model.bin",
    "config.json",
    "vocabulary.txt",
    "README.md",
    ".gitattributes",
    repo_id="Systran/faster-whisper-base.en",
)


def test_kinds_are_detected() -> None:
    assert detect_kind(GGUF_REPO) == "chat"
    assert detect_kind(VOICES) == detect_kind(VOICES, "en_US-amy-low") == "tts"
    assert detect_kind(WHISPER) == "stt"
    with pytest.raises(ModelNotFoundError, match="no GGUF model"):
        detect_kind(repo("config.json", "model.safetensors"))


def test_gguf_variants_by_quant_file_or_part(tmp_path: Path) -> None:
    assert select_variant(GGUF_REPO, "q8_0").name == "Q8_0/m-Q8_0.gguf"
    assert select_variant(GGUF_REPO, "m-Q8_0-00002-of-00002.gguf").n_parts == 2
    assert select_variant(GGUF_REPO, "m-Q4_K_M.gguf").quant == "Q4_K_M"
    with pytest.raises(ModelNotFoundError, match="offers Q4_K_M, Q8_0"):
        select_variant(GGUF_REPO, "Q6_K")
    plan = plan_pull(GGUF_REPO, "Q8_0", models_dir=tmp_path)
    # The repo's projector, in a folder above the model's, comes with it (as with -hf).
    assert plan.kind == "chat" and plan.total_bytes == 1001 + 1002 + 1003
    assert plan.projector == "mmproj-m-f16.gguf"
    assert [plan.dest(f) for f in plan.files] == [
        *(tmp_path / "org" / "repo" / "Q8_0" / f"m-Q8_0-0000{i}-of-00002.gguf" for i in (1, 2)),
        tmp_path / "org" / "repo" / "mmproj-m-f16.gguf",
    ]
    assert plan.projector_path == tmp_path / "org" / "repo" / "mmproj-m-f16.gguf"
    assert plan_pull(GGUF_REPO, "mmproj-m-f16.gguf", models_dir=tmp_path).kind == "projector"
    with pytest.raises(ModelTooLargeError, match="name one"):
        plan_pull(GGUF_REPO, None, models_dir=tmp_path, recommended=None)
    recommended = select_variant(GGUF_REPO, "Q4_K_M")
    assert (
        plan_pull(GGUF_REPO, None, models_dir=tmp_path, recommended=recommended).variant
        == "m-Q4_K_M.gguf"
    )
    incomplete = repo("big-00001-of-00003.gguf", "big-00002-of-00003.gguf")
    with pytest.raises(ModelNotFoundError, match="only 2 are in"):
        select_variant(incomplete, "big-00001-of-00003.gguf")


def test_unsafe_repo_names_and_left_out_files_are_refused_by_name(tmp_path: Path) -> None:
    for repo_id in ("..\\evil/m-GGUF", "org/CON", "C:/m-GGUF"):
        with pytest.raises(UnsafeNameError, match="repo name"):
            plan_pull(repo("m-Q4_K_M.gguf", repo_id=repo_id), "Q4_K_M", models_dir=tmp_path)
    listing = RepoFiles(
        "org/repo", "c" * 40, False, None, None, GGUF_REPO.variants, (), ("..\\x.gguf",)
    )
    with pytest.raises(UnsafeNameError, match="backslash"):
        plan_pull(listing, "..\\x.gguf", models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_voice_and_whisper_plans(tmp_path: Path) -> None:
    voice = plan_pull(
        VOICES, "zh/zh_CN/huayan/x_low/zh_CN-huayan-x_low.onnx.json", models_dir=tmp_path
    )
    assert voice.kind == "tts" and voice.flat and voice.name == "zh_CN-huayan-x_low"
    assert [voice.dest(f).relative_to(tmp_path).as_posix() for f in voice.files] == [
        "voices/zh_CN/zh_CN-huayan-x_low.onnx",
        "voices/zh_CN/zh_CN-huayan-x_low.onnx.json",
    ]
    with pytest.raises(ConfigError, match="has 2 voices"):
        plan_pull(VOICES, None, models_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no voice"):
        plan_pull(VOICES, "fr_FR-nobody-low", models_dir=tmp_path)
    whisper = plan_pull(WHISPER, None, models_dir=tmp_path)
    assert whisper.entry_path == tmp_path / "whisper" / "faster-whisper-base.en"
    assert sorted(f.path for f in whisper.files) == [
        "README.md",
        "config.json",
        "model.bin",
        "vocabulary.txt",
    ]
    with pytest.raises(ConfigError, match="Unknown model kind"):
        plan_pull(WHISPER, None, models_dir=tmp_path, kind="video")
    assert voice_locale("zh_CN-huayan-x_low", "x") == "zh_CN"
    assert voice_locale("odd", "de/de_DE/odd/odd.onnx") == "de_DE"
    assert voice_locale("odd", "odd.onnx") == "other"


def test_flat_voice_download_resumes_after_a_restart(
    hub: HubServer,
    client: HubClient,
    make_manager: Callable[..., DownloadManager],
    progress: ProgressLog,
    tmp_path: Path,
) -> None:
    onnx_bytes = os.urandom(3 * 1024 * 1024 + 5)
    onnx_path = "zh/zh_CN/huayan/medium/zh_CN-huayan-medium.onnx"
    hub.add_repo(
        "rhasspy/piper-voices",
        {
            onnx_path: onnx_bytes,
            f"{onnx_path}.json": b'{"language": {"code": "zh_CN"}}',
        },
        workdir=tmp_path / "work",
    )
    models = tmp_path / "models"
    plan = plan_pull(
        client.list_files("rhasspy/piper-voices"), "zh_CN-huayan-medium", models_dir=models
    )
    hub.add_fault("rhasspy/piper-voices", onnx_path, Fault("hold", after=1024 * 1024))
    first = make_manager()
    handles = enqueue(first, plan)
    assert progress.wait_for(lambda u: u.filename == onnx_path and u.done >= 1024 * 1024)
    first.close()  # quitting pauses: the partial stays
    assert handles[0].state is DownloadState.PAUSED
    part = plan.dest(plan.files[0]).with_name("zh_CN-huayan-medium.onnx.part")
    kept = part.stat().st_size
    assert kept >= 1024 * 1024, "the flat partial lies in voices/zh_CN/"

    # A new process finds the partial by its sidecar and puts it back in the same place.
    second = make_manager()
    resumed = second.resume_incomplete(models)
    # The voice's small .onnx.json may also have been cut off by the close.
    by_dest = {h.dest: h for h in resumed}
    assert set(by_dest) <= {plan.dest(f) for f in plan.files}
    assert by_dest[plan.dest(plan.files[0])].result(timeout=30).read_bytes() == onnx_bytes
    assert hub.gets_of("rhasspy/piper-voices", onnx_path)[-1].range == f"bytes={kept}-"
    handles = enqueue(second, plan)
    for handle in handles:
        handle.result(timeout=30)
    library = Library(tmp_path / "library.json", [models], external_roots=[])
    entry = register(library, plan)
    register(library, plan)
    assert entry.language == "zh_CN" and entry.kind == "tts" and entry.error is None
    assert [e.path for e in library.registered()] == [str(plan.entry_path)]


def test_repo_layout_downloads_keep_their_folders(
    client: HubClient, make_manager: Callable[..., DownloadManager], tmp_path: Path
) -> None:
    plan = plan_pull(
        client.list_files(TINY_REPO), "Q8_0/tiny-Q8_0-00002-of-00002.gguf", models_dir=tmp_path
    )
    manager = make_manager()
    for handle in enqueue(manager, plan):
        handle.result(timeout=30)
    expected = tmp_path / "hearth-test" / "tiny-GGUF" / "Q8_0"
    assert sorted(p.name for p in expected.iterdir()) == [
        "tiny-Q8_0-00001-of-00002.gguf",
        "tiny-Q8_0-00002-of-00002.gguf",
    ]
