"""Fit verdicts and the recommended quant, for synthetic machines; remote GGUF headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.fit import (
    Verdict,
    assess_repo,
    assess_variants,
    estimate_info,
    fit_function,
    fit_info,
    guess_parameters,
    quant_bits,
    recommend,
    scale_info,
)
from app.catalog.gguf_meta import HeaderIncompleteError, read_gguf, read_gguf_header
from app.catalog.hub import HubClient, QuantVariant, RemoteFile, RepoFiles
from app.catalog.remote_gguf import fetch_header, fetch_variant_header, prune
from app.core.errors import InvalidModelError
from app.engine.hardware import GIB, GPUInfo, HardwareInfo
from tests.catalog.conftest import SMOL_FILE, SMOL_REPO, TINY_REPO
from tests.hubserver import HubServer

GB = 1000**3


def machine(
    ram_gb: float, free_gb: float, vram_gb: float | None = None, vram_free_gb: float | None = None
) -> HardwareInfo:
    gpus = ()
    if vram_gb is not None:
        free = vram_free_gb if vram_free_gb is not None else vram_gb * 0.95
        gpus = (GPUInfo(0, "Test GPU", "nvidia", int(vram_gb * GIB), int(free * GIB)),)
    return HardwareInfo(4, 8, int(ram_gb * GIB), int(free_gb * GIB), gpus=gpus)


CPU_4GB = machine(4, 2.5)
LAPTOP_16GB = machine(16, 11)
GPU_8GB = machine(32, 20, vram_gb=8, vram_free_gb=7.5)
GPU_24GB = machine(64, 40, vram_gb=24)
GPU_4GB_SMALL_RAM = machine(8, 6, vram_gb=4, vram_free_gb=3.8)

# Sizes of a 7B model's quants (bytes as the Hub lists them for Qwen2.5-7B-Instruct).
SEVEN_B = {
    "Q2_K": 3.02,
    "Q3_K_M": 3.81,
    "Q4_K_M": 4.68,
    "Q5_K_M": 5.44,
    "Q6_K": 6.25,
    "Q8_0": 8.1,
    "F16": 15.2,
}
ONE_B = {"Q2_K": 0.58, "Q4_K_M": 0.81, "Q6_K": 1.02, "Q8_0": 1.32, "F16": 2.48}


def repo_of(sizes_gb: dict[str, float], name: str = "Model-7B-Instruct") -> RepoFiles:
    variants = tuple(
        QuantVariant(
            name=f"{name}-{quant}.gguf",
            quant=quant,
            n_parts=1,
            is_projector=False,
            files=(RemoteFile(f"{name}-{quant}.gguf", int(gb * GB), None, None),),
        )
        for quant, gb in sizes_gb.items()
    )
    return RepoFiles(
        repo_id=f"test/{name}-GGUF",
        revision="c" * 40,
        gated=False,
        license=None,
        card_text=None,
        variants=variants,
    )


def assess(
    sizes_gb: dict[str, float], hardware: HardwareInfo, name: str = "Model-7B-Instruct"
) -> tuple[dict[str | None, Verdict], str | None]:
    result = assess_variants(repo_of(sizes_gb, name), hardware, gpu_offload_supported=True)
    assert all(f.basis == "size" and not f.exact for f in result.fits)
    verdicts = {f.quant: f.verdict for f in result.fits}
    return verdicts, result.recommended.quant if result.recommended else None


def test_exact_verdicts_for_a_real_header(smol_model: Path) -> None:
    info = read_gguf(smol_model)
    size = smol_model.stat().st_size
    verdicts = {}
    for label, hardware in (("cpu", CPU_4GB), ("gpu", GPU_8GB), ("none", machine(1, 0.2))):
        fit = fit_info(
            info,
            hardware,
            name="smol",
            quant="Q4_1",
            size_bytes=size,
            basis="header",
            gpu_offload_supported=True,
        )
        verdicts[label] = fit
    assert verdicts["cpu"].verdict is Verdict.CPU and verdicts["cpu"].label == "CPU only"
    assert (
        verdicts["gpu"].verdict is Verdict.GPU and verdicts["gpu"].describe() == "fits on the GPU"
    )
    assert verdicts["gpu"].n_gpu_layers == verdicts["gpu"].n_layers == info.block_count + 1
    assert verdicts["none"].verdict is Verdict.TOO_BIG and verdicts["none"].label == "too big"
    # A GPU llama.cpp cannot use is no GPU at all.
    no_offload = fit_info(
        info,
        GPU_8GB,
        name="smol",
        quant="Q4_1",
        size_bytes=size,
        basis="header",
        gpu_offload_supported=False,
    )
    assert no_offload.verdict is Verdict.CPU


def test_partial_offload_names_the_layers() -> None:
    verdicts, _ = assess(SEVEN_B, GPU_4GB_SMALL_RAM)
    assert verdicts["Q2_K"] is Verdict.PARTIAL
    result = assess_variants(repo_of(SEVEN_B), GPU_4GB_SMALL_RAM, gpu_offload_supported=True)
    fit = result.get("Model-7B-Instruct-Q4_K_M.gguf")
    assert fit is not None and fit.verdict is Verdict.PARTIAL
    assert 0 < fit.n_gpu_layers < fit.n_layers
    assert fit.describe() == (
        f"partial offload, {fit.n_gpu_layers} of {fit.n_layers} layers (estimate)"
    )
    # Q8_0 would need 3.1 GB of VRAM plus 6 GB of RAM, with 6 GB of RAM free.
    assert verdicts["Q8_0"] is verdicts["F16"] is Verdict.TOO_BIG


@pytest.mark.parametrize(
    ("hardware", "sizes", "expected"),
    [
        # Everything up to F16 fits a 24 GB GPU; Q8_0 is the ceiling.
        (GPU_24GB, SEVEN_B, "Q8_0"),
        # An 8 GB GPU (7.5 GB free): Q5_K_M and Q6_K fit fully but, with the GPU memory a
        # process takes beyond llama.cpp's buffers (171 MiB measured on an H200), without
        # the headroom an estimate needs; Q8_0 would be a partial offload, which loses to a
        # full one.
        (GPU_8GB, SEVEN_B, "Q4_K_M"),
        # CPU with plenty of RAM: Q8_0 fits, but bandwidth makes the Q4_K_M class the choice.
        (LAPTOP_16GB, SEVEN_B, "Q4_K_M"),
        # 2.5 GB free, CPU: a 1B's Q8_0 fits but the CPU rule caps at the Q4_K_M class.
        (CPU_4GB, ONE_B, "Q4_K_M"),
        # A 1B on an 8 GB GPU: everything fits fully; Q8_0, not F16.
        (GPU_8GB, ONE_B, "Q8_0"),
        # A 7B on 2.5 GB free: nothing fits, not even Q2_K.
        (CPU_4GB, SEVEN_B, None),
        # Partial offload only: speed rule, not the GPU rule.
        (GPU_4GB_SMALL_RAM, SEVEN_B, "Q4_K_M"),
    ],
)
def test_recommended_quant(
    hardware: HardwareInfo, sizes: dict[str, float], expected: str | None
) -> None:
    _, recommended = assess(sizes, hardware)
    assert recommended == expected


def test_low_bit_quant_only_when_nothing_else_fits_with_headroom() -> None:
    tight = machine(4, 1.8)  # a 1.55 GB budget after the planner's RAM margin
    verdicts, recommended = assess(ONE_B, tight, name="Model-1B-Instruct")
    # Q4_K_M (about 1.45 GB) would load, but leaves under 15 % of the budget free.
    assert verdicts["Q4_K_M"] is verdicts["Q2_K"] is Verdict.CPU
    assert recommended == "Q2_K"
    _, roomier = assess(ONE_B, machine(4, 2.5), name="Model-1B-Instruct")
    assert roomier == "Q4_K_M", "2-bit is not chosen once a better quant fits"


def test_recommendation_needs_headroom_and_completeness() -> None:
    repo = repo_of(SEVEN_B)
    result = assess_variants(repo, LAPTOP_16GB, gpu_offload_supported=True)
    cramped = [f for f in result.fits if not f.roomy and f.verdict is not Verdict.TOO_BIG]
    assert recommend([*cramped]) is None, "fits that leave no headroom are not recommended"
    # A split variant with a part missing is never recommended.
    q4 = next(v for v in repo.variants if v.quant == "Q4_K_M")
    broken = QuantVariant(
        name=q4.name, quant=q4.quant, files=q4.files, is_projector=False, n_parts=2
    )
    partial_repo = RepoFiles(
        repo.repo_id,
        repo.revision,
        False,
        None,
        None,
        tuple(broken if v is q4 else v for v in repo.variants),
    )
    assert recommend(result.fits, partial_repo) != result.get(q4.name)


def test_estimates_from_size_and_scaling_from_another_quant(smol_model: Path) -> None:
    real = read_gguf(smol_model)
    size = smol_model.stat().st_size
    estimated = estimate_info(size, name="SmolLM2-135M-Instruct Q4_1", quant="Q4_1")
    fits = [
        fit_info(
            info,
            CPU_4GB,
            name="s",
            quant="Q4_1",
            size_bytes=size,
            basis=basis,
            gpu_offload_supported=True,
        )
        for info, basis in ((real, "header"), (estimated, "size"))
    ]
    exact, guess = fits
    assert abs(guess.cpu_bytes - exact.cpu_bytes) < 0.25 * exact.cpu_bytes
    doubled = scale_info(real, 2 * size)
    # The other file's bytes, less the shared header, spread over the same tensors.
    assert 0 <= 2 * size - real.data_offset - doubled.tensor_bytes < len(real.tensors)
    assert doubled.block_count == real.block_count and doubled.metadata is real.metadata


def test_quant_names_and_parameter_hints() -> None:
    assert quant_bits("q4_k_m") == quant_bits("UD-Q4_K_M") == 4.89
    assert quant_bits("mystery") is None and quant_bits(None) is None
    assert guess_parameters("Qwen2.5-0.5B-Instruct") == 0.5e9
    assert guess_parameters("Llama-3.2-1B-Instruct-Q4_K_M.gguf") == 1e9
    assert guess_parameters("SmolLM2-135M") == 135e6
    assert guess_parameters("Mixtral-8x7B-v0.1") == 56e9
    assert guess_parameters("Qwen3-30B-A3B") == 30e9
    assert guess_parameters("tiny-Q8_0.gguf") is None


# -- headers over HTTP ---------------------------------------------------------------------------


def test_header_read_with_ranges_equals_the_local_parse(
    hub: HubServer, client: HubClient, smol_model: Path, tmp_path: Path
) -> None:
    repo = client.list_files(SMOL_REPO)
    variant = repo.models[0]
    cache = tmp_path / "headers"
    hub.reset_counters()
    # A small first fetch forces the progressive path: several growing Range requests.
    remote = fetch_header(
        client,
        SMOL_REPO,
        variant.files[0],
        revision=repo.revision,
        cache_dir=cache,
        first_fetch=64 * 1024,
    )
    local = read_gguf(smol_model)
    assert remote.metadata == local.metadata and remote.tensors == local.tensors
    assert remote.file_size == local.file_size
    ranges = [r.range for r in hub.gets_of(SMOL_REPO, SMOL_FILE)]
    assert len(ranges) >= 2 and ranges[0] == "bytes=0-65535"
    served = hub.bytes_served(SMOL_REPO, SMOL_FILE)
    assert served < local.data_offset + 4 * 1024 * 1024 < local.file_size

    hub.reset_counters()
    again = fetch_variant_header(
        client, SMOL_REPO, variant, revision=repo.revision, cache_dir=cache
    )
    assert again.tensors == local.tensors and hub.gets_of(SMOL_REPO, SMOL_FILE) == []
    assert (cache / f"{variant.files[0].sha256}.gguf-header").stat().st_size == local.data_offset


def test_repo_fit_reads_one_header_and_falls_back_for_non_gguf(
    hub: HubServer, client: HubClient, tmp_path: Path
) -> None:
    smol = client.list_files(SMOL_REPO)
    result = assess_repo(client, smol, GPU_8GB, gpu_offload_supported=True, cache_dir=tmp_path)
    assert [f.basis for f in result.fits] == ["header"] and result.recommended is not None
    assert result.recommended.verdict is Verdict.GPU

    tiny = client.list_files(TINY_REPO)  # random bytes named like GGUFs
    result = assess_repo(client, tiny, GPU_8GB, gpu_offload_supported=True, cache_dir=tmp_path)
    assert {f.basis for f in result.fits} == {"size"}
    assert result.notes and "not a GGUF" in result.notes[0]
    assert len(result.fits) == len(tiny.models)


def test_fit_function_for_the_window(hub: HubServer, client: HubClient, tmp_path: Path) -> None:
    fit = fit_function(client, cache_dir=tmp_path, hardware=GPU_8GB, gpu_offload_supported=True)
    smol = client.list_files(SMOL_REPO)
    assert fit(smol) == {smol.models[0].name: ("fits on the GPU", True)}
    tiny = fit(client.list_files(TINY_REPO))
    assert sum(recommended for _, recommended in tiny.values()) == 1
    assert all(text.endswith("(estimate)") for text, _ in tiny.values())


def test_header_bytes_parse_reports_where_it_stopped(smol_model: Path) -> None:
    data = smol_model.read_bytes()
    info = read_gguf(smol_model)
    with pytest.raises(HeaderIncompleteError) as stopped:
        read_gguf_header(data[:100_000], path=smol_model, file_size=len(data))
    assert 100_000 < stopped.value.needed <= info.data_offset
    parsed = read_gguf_header(data[: info.data_offset], path=smol_model, file_size=len(data))
    assert parsed.tensors == info.tensors
    with pytest.raises(InvalidModelError, match="not a GGUF"):
        read_gguf_header(b"NOPE" + data[4:4096], path=smol_model, file_size=len(data))


def test_header_cache_is_pruned_oldest_first(tmp_path: Path) -> None:
    import os

    for index in range(4):
        path = tmp_path / f"{index}.gguf-header"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + index, 1000 + index))
    prune(tmp_path, 250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.gguf-header", "3.gguf-header"]
