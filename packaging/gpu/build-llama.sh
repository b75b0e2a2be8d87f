#!/bin/sh
# Rebuild llama-cpp-python (the version pyproject.toml pins) for a GPU backend, into a venv.
#
#   packaging/gpu/build-llama.sh cuda   [--venv .venv] [--whisper-cuda]
#   packaging/gpu/build-llama.sh metal  [--venv .venv]
#   packaging/gpu/build-llama.sh vulkan [--venv .venv]
#   packaging/gpu/build-llama.sh rocm   [--venv .venv]
#   packaging/gpu/build-llama.sh cpu    [--venv .venv] [--portable]
#
# Then check with `.venv/bin/hearth plan MODEL` (its "backend") and rebuild the bundle
# with `.venv/bin/python packaging/build.py`: PyInstaller copies llama_cpp/lib/*, so the
# bundle carries whichever backend is installed.
#
# Needs: cuda - the CUDA toolkit (nvcc; 12.x) and an NVIDIA driver to run; metal - Xcode
# command line tools on Apple Silicon (Metal is on by default there); vulkan - the Vulkan
# SDK or Debian's libvulkan-dev + glslc; rocm - ROCm/HIP. Extra CMake flags can be added
# with HEARTH_CMAKE_EXTRA="..." (e.g. -DCMAKE_CUDA_ARCHITECTURES=86;89 to build faster for
# the GPUs you have).
#
# --portable (cpu): no -march=native. A default pip build tunes llama.cpp for the build
#   machine's CPU, so a bundle built from it may stop with "Illegal instruction" on an
#   older CPU; release bundles should be built from a portable llama.cpp.
# HEARTH_BACKEND_DL=1 (experimental, not verified by Hearth's tests): build the GPU
#   backend as a plug-in (GGML_BACKEND_DL) with the CPU backend for every x86 CPU
#   generation (GGML_CPU_ALL_VARIANTS), so that a machine without the GPU runtime can
#   still load llama.cpp on the CPU. The default is llama-cpp-python's usual monolithic
#   build: there the GPU is skipped at run time when no device is found (Hearth then
#   plans for the CPU and says so), but the NVIDIA driver library must exist.
# --whisper-cuda (cuda): also install the CUDA 12 cuBLAS and cuDNN 9 wheels that
#   faster-whisper (CTranslate2) needs for speech recognition on the GPU.
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
BACKEND="${1:-}"
[ -n "$BACKEND" ] || { sed -n '2,9p' "$0"; exit 2; }
shift
VENV="$ROOT/.venv"
WHISPER_CUDA=0
PORTABLE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --whisper-cuda) WHISPER_CUDA=1; shift ;;
    --portable) PORTABLE=1; shift ;;
    *) echo "build-llama.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PIP="$VENV/bin/pip"
PYTHON="$VENV/bin/python"
[ -x "$PIP" ] || { echo "build-llama.sh: no venv at $VENV (python3 -m venv .venv && .venv/bin/pip install -e .)" >&2; exit 1; }

VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml" | head -n 1)
[ -n "$VERSION" ] || { echo "build-llama.sh: no llama-cpp-python pin in pyproject.toml" >&2; exit 1; }

DL=""
if [ "${HEARTH_BACKEND_DL:-0}" = 1 ]; then
  DL="-DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=ON"
fi
case "$BACKEND" in
  cuda)
    if ! command -v nvcc >/dev/null 2>&1; then
      if [ -x /usr/local/cuda/bin/nvcc ]; then
        PATH="/usr/local/cuda/bin:$PATH"; export PATH
        CUDACXX=/usr/local/cuda/bin/nvcc; export CUDACXX
      else
        echo "build-llama.sh: nvcc not found; install the CUDA toolkit (12.x)" >&2; exit 1
      fi
    fi
    ARGS="-DGGML_CUDA=on $DL" ;;
  metal)
    [ "$(uname -s)" = Darwin ] || { echo "build-llama.sh: Metal needs macOS" >&2; exit 1; }
    ARGS="-DGGML_METAL=on" ;;
  vulkan)
    command -v glslc >/dev/null 2>&1 || { echo "build-llama.sh: glslc not found (apt-get install libvulkan-dev glslc, or the Vulkan SDK)" >&2; exit 1; }
    ARGS="-DGGML_VULKAN=on $DL" ;;
  rocm|hip)
    ARGS="-DGGML_HIP=on $DL" ;;
  cpu)
    if [ "$PORTABLE" = 1 ]; then ARGS="-DGGML_NATIVE=OFF"; else ARGS=""; fi ;;
  *) echo "build-llama.sh: backend must be cuda, metal, vulkan, rocm or cpu" >&2; exit 2 ;;
esac
ARGS="$ARGS ${HEARTH_CMAKE_EXTRA:-}"

echo "Building llama-cpp-python $VERSION with CMAKE_ARGS=\"$ARGS\" into $VENV"
echo "(this compiles llama.cpp: minutes on a laptop, longer for CUDA)"
CMAKE_ARGS="$ARGS" FORCE_CMAKE=1 "$PIP" install --force-reinstall --no-deps --no-cache-dir \
  --no-binary llama-cpp-python "llama-cpp-python==$VERSION"

if [ "$BACKEND" = cuda ] && [ "$WHISPER_CUDA" = 1 ]; then
  echo "Installing cuBLAS and cuDNN for faster-whisper on the GPU"
  "$PIP" install "nvidia-cublas-cu12" "nvidia-cudnn-cu12==9.*"
  LIBS=$("$PYTHON" -c 'import os, nvidia.cublas.lib as b, nvidia.cudnn.lib as d; print(os.path.dirname(b.__file__) + ":" + os.path.dirname(d.__file__))')
  echo "CTranslate2 finds these only on the library path; start Hearth with:"
  echo "  export LD_LIBRARY_PATH=$LIBS\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
fi

echo "Installed. llama.cpp reports:"
"$PYTHON" -c 'from app.engine.hardware import build_backend, llama_supports_gpu_offload as g; print("  backend:", build_backend(), "| GPU offload usable here:", g())' 2>/dev/null \
  || "$PYTHON" -c 'import llama_cpp; print("  GPU offload usable here:", llama_cpp.llama_supports_gpu_offload())'
