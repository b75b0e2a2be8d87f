#!/bin/sh
# Rebuild llama-cpp-python (the version pyproject.toml pins) for a GPU backend, into a venv.
#
#   packaging/gpu/build-llama.sh cuda   [--venv .venv] [--whisper-cuda] [--cuda-archs LIST]
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
# cpu on a CPU with AMX: tuned for it, but without llama.cpp's AMX kernels, which crash
#   on some Xeons (Hearth otherwise loads models without llama.cpp's extra weight
#   buffers there, repacking included: app/engine/amx.py).
# --portable (cpu): no -march=native. A default pip build tunes llama.cpp for the build
#   machine's CPU, so a bundle built from it may stop with "Illegal instruction" on an
#   older CPU; release bundles should be built from a portable llama.cpp.
# HEARTH_BACKEND_DL=1 (experimental, not verified by Hearth's tests): build the GPU
#   backend as a plug-in (GGML_BACKEND_DL) with the CPU backend for every x86 CPU
#   generation (GGML_CPU_ALL_VARIANTS), so that a machine without the GPU runtime can
#   still load llama.cpp on the CPU. The default is llama-cpp-python's usual monolithic
#   build: there the GPU is skipped at run time when no device is found (Hearth then
#   plans for the CPU and says so), but the NVIDIA driver library must exist.
# --cuda-archs LIST (cuda): the GPU architectures compiled, e.g. "75-virtual" (PTX for
#   Turing, which the driver compiles once for any newer GPU, Turing to Blackwell: the
#   quickest build, 92 min on 2 busy cores) or "75-virtual;86-real;89-real;120a-real"
#   (ready-made code for RTX 30/40/50, slower to build). Default: llama.cpp's own list.
# CUDA 13 toolkits installed from pip/conda may lack cuBLAS and the driver stub: the
#   script then takes cuBLAS from PyPI (nvidia-cublas) into an overlay of the toolkit and
#   links against a stand-in for the driver library that it makes from cuda.h.
# The wheel is kept in ~/.cache/hearth-build/wheels/BACKEND (a later install with the same
#   options takes it from there: HEARTH_REBUILD=1 builds again).
# --whisper-cuda (cuda): also install the CUDA 12 cuBLAS wheel (nvidia-cublas-cu12) that
#   faster-whisper (CTranslate2 4.8.5) needs for speech recognition on the GPU; it needs
#   no cuDNN, and Hearth loads that cuBLAS itself (app/voice/cuda_libs.py).
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
BACKEND="${1:-}"
[ -n "$BACKEND" ] || { sed -n '2,9p' "$0"; exit 2; }
shift
VENV="$ROOT/.venv"
WHISPER_CUDA=0
PORTABLE=0
CUDA_ARCHS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --whisper-cuda) WHISPER_CUDA=1; shift ;;
    --portable) PORTABLE=1; shift ;;
    --cuda-archs) CUDA_ARCHS="$2"; shift 2 ;;
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
        echo "build-llama.sh: nvcc not found; install the CUDA toolkit (12.x or 13.x)" >&2; exit 1
      fi
    fi
    ARGS="-DGGML_CUDA=on $DL"
    [ -n "$CUDA_ARCHS" ] && ARGS="$ARGS -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS"
    NVCC=$(command -v nvcc)
    TOOLKIT=${CUDA_HOME:-$(CDPATH= cd -- "$(dirname -- "$(readlink -f "$NVCC")")/.." && pwd)}
    # nvcc may be a wrapper script elsewhere on PATH: then the usual place.
    [ -f "$TOOLKIT/include/cuda_runtime.h" ] || TOOLKIT=/usr/local/cuda
    [ -x "$TOOLKIT/bin/nvcc" ] && NVCC="$TOOLKIT/bin/nvcc"
    if ! ls "$TOOLKIT"/lib*/libcublas.so* >/dev/null 2>&1 \
       && ! ls "$TOOLKIT"/targets/*/lib/libcublas.so* >/dev/null 2>&1; then
      # No cuBLAS in this toolkit: an overlay of it with cuBLAS from PyPI.
      MAJOR=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
      OVERLAY="${XDG_CACHE_HOME:-$HOME/.cache}/hearth-build/cuda-$MAJOR-root"
      echo "No cuBLAS in $TOOLKIT; taking it from PyPI into $OVERLAY"
      rm -rf "$OVERLAY"; mkdir -p "$OVERLAY/lib64" "$OVERLAY/include" "$OVERLAY/cublas"
      if [ "$MAJOR" -ge 13 ]; then CUBLAS="nvidia-cublas>=$MAJOR,<$((MAJOR + 1))"; else CUBLAS="nvidia-cublas-cu$MAJOR"; fi
      "$PIP" download -q --no-deps -d "$OVERLAY/cublas" "$CUBLAS"
      "$PYTHON" -m zipfile -e "$OVERLAY"/cublas/*.whl "$OVERLAY/cublas"
      for f in "$TOOLKIT"/*; do
        case "$(basename "$f")" in lib|lib64|include|targets) ;; *) ln -s "$f" "$OVERLAY/" ;; esac
      done
      for d in lib lib64; do [ -d "$TOOLKIT/$d" ] && ln -sf "$TOOLKIT/$d"/* "$OVERLAY/lib64/"; done
      ln -sf "$TOOLKIT"/include/* "$OVERLAY/include/"
      ln -sf "$OVERLAY"/cublas/nvidia/*/lib/* "$OVERLAY/lib64/"
      ln -sf "$OVERLAY"/cublas/nvidia/*/include/* "$OVERLAY/include/"
      ln -sf "libcublas.so.$MAJOR" "$OVERLAY/lib64/libcublas.so"
      ln -sf "libcublasLt.so.$MAJOR" "$OVERLAY/lib64/libcublasLt.so"
      ln -s lib64 "$OVERLAY/lib"
      CUDAToolkit_ROOT="$OVERLAY"; export CUDAToolkit_ROOT
      CUDACXX=$(readlink -f "$NVCC"); export CUDACXX
      ARGS="$ARGS -DCUDAToolkit_ROOT=$OVERLAY"
      # At run time libcudart/libcublas come from the nvidia-* wheels installed below.
      "$PIP" install -q "$CUBLAS" "nvidia-cuda-runtime>=$MAJOR,<$((MAJOR + 1))" 2>/dev/null \
        || "$PIP" install -q "$CUBLAS" "nvidia-cuda-runtime-cu$MAJOR"
    fi
    if ! ls "$TOOLKIT"/lib*/stubs/libcuda.so >/dev/null 2>&1 \
       && ! ls "$TOOLKIT"/targets/*/lib/stubs/libcuda.so >/dev/null 2>&1; then
      # No driver library to link against (a toolkit from pip, a machine without the
      # driver): a link-time stand-in for libcuda.so.1 made from cuda.h, never loaded at
      # run time. Without one the build would need GGML_CUDA_NO_VMM, whose fallback pool
      # keeps every buffer a growing context outgrew (see README, GPU builds).
      STUB="${XDG_CACHE_HOME:-$HOME/.cache}/hearth-build/cuda-driver-stub"
      INCLUDE="${CUDAToolkit_ROOT:-$TOOLKIT}/include"
      [ -f "$INCLUDE/cuda.h" ] || INCLUDE=$(dirname "$(ls "$TOOLKIT"/targets/*/include/cuda.h | head -n 1)")
      mkdir -p "$STUB"
      printf '#include <cuda.h>\n' | cc -E -P -I"$INCLUDE" - \
        | grep -oE 'CUresult\s+(__attribute__\(\(visibility\("default"\)\)\)\s+)?cu[A-Za-z0-9_]+\s*\(' \
        | grep -oE 'cu[A-Za-z0-9_]+\s*\($' | tr -d '( ' | sort -u \
        | sed 's/.*/int &(void) { return 34; }/' > "$STUB/stub.c"
      cc -shared -fPIC -o "$STUB/libcuda.so" -Wl,-soname,libcuda.so.1 "$STUB/stub.c"
      echo "No driver library in $TOOLKIT: linking against a stand-in ($(wc -l < "$STUB/stub.c") functions)"
      ARGS="$ARGS -DCUDA_cuda_driver_LIBRARY=$STUB/libcuda.so"
    fi ;;
  metal)
    [ "$(uname -s)" = Darwin ] || { echo "build-llama.sh: Metal needs macOS" >&2; exit 1; }
    ARGS="-DGGML_METAL=on" ;;
  vulkan)
    command -v glslc >/dev/null 2>&1 || { echo "build-llama.sh: glslc not found (apt-get install libvulkan-dev glslc, or the Vulkan SDK)" >&2; exit 1; }
    ARGS="-DGGML_VULKAN=on $DL" ;;
  rocm|hip)
    ARGS="-DGGML_HIP=on $DL" ;;
  cpu)
    if [ "$PORTABLE" = 1 ]; then
      ARGS="-DGGML_NATIVE=OFF"
    elif grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
      # Tuned for this CPU but without AMX: llama.cpp's AMX kernels crash on some Xeons
      # (ggml-org/llama.cpp#20824; see app/engine/amx.py). Its own flags would turn them
      # on again after ours, so the tuning comes from the compiler flags instead.
      ARGS="-DGGML_NATIVE=OFF"
      NO_AMX="-march=native -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
      export CFLAGS="${CFLAGS:-} $NO_AMX" CXXFLAGS="${CXXFLAGS:-} $NO_AMX"
      echo "This CPU has AMX: building without it"
    else
      ARGS=""
    fi ;;
  *) echo "build-llama.sh: backend must be cuda, metal, vulkan, rocm or cpu" >&2; exit 2 ;;
esac
ARGS="$ARGS ${HEARTH_CMAKE_EXTRA:-}"

echo "Building llama-cpp-python $VERSION with CMAKE_ARGS=\"$ARGS\" into $VENV"
echo "(this compiles llama.cpp: minutes on a laptop, longer for CUDA)"
# One cached wheel per backend and options: a rebuild of CUDA takes an hour or more.
KEY=$(printf '%s' "$VERSION $ARGS ${NO_AMX:-}" | cksum | cut -d ' ' -f 1)
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/hearth-build/wheels/$BACKEND-$KEY"
if [ "${HEARTH_REBUILD:-0}" = 1 ] || ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  STARTED=$(date +%s)
  CMAKE_ARGS="$ARGS" FORCE_CMAKE=1 "$PIP" wheel --no-deps --no-cache-dir -w "$WHEELS" \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION"
  echo "Built in $(( ($(date +%s) - STARTED) / 60 )) min: $(ls "$WHEELS"/*.whl)"
fi
"$PIP" install --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl

if [ -n "${STUB:-}" ]; then
  # The stand-in goes beside llama.cpp's libraries, loaded by path only where the system
  # has no driver (app/engine/cuda_driver.py); its build folder leaves the RUNPATH, where
  # it would be found before a real driver.
  ROOT="$ROOT" STUB_DIR="$STUB" "$PYTHON" - <<'EOF'
import importlib.util, os, shutil, sys
from pathlib import Path
sys.path.insert(0, os.path.join(os.environ["ROOT"], "packaging"))
from cuda_bundle import strip_runpath
lib = Path(next(iter(importlib.util.find_spec("llama_cpp").submodule_search_locations))) / "lib"
stub = os.environ["STUB_DIR"]
shutil.copyfile(os.path.join(stub, "libcuda.so"), lib / "libcuda-stub.so")
for ggml_cuda in lib.glob("libggml-cuda.so*"):
    if not ggml_cuda.is_symlink():
        strip_runpath(ggml_cuda, lambda part: part.rstrip("/") == stub.rstrip("/"))
print(f"Driver stand-in: {lib / 'libcuda-stub.so'} (loaded only where there is no driver)")
EOF
fi

if [ "$BACKEND" = cuda ] && [ "$WHISPER_CUDA" = 1 ]; then
  echo "Installing cuBLAS 12 for faster-whisper on the GPU"
  "$PIP" install "nvidia-cublas-cu12"
  echo "Whisper runs on the GPU when there is one: Hearth loads this cuBLAS itself (no"
  echo "LD_LIBRARY_PATH needed); 'hearth voice --json' says the device under \"stt\"."
  "$PYTHON" -c 'from app.voice.cuda_libs import ensure_cublas as e; s = e(); print("  cuBLAS 12 for Whisper:", s.source if s.loaded else s.reason)' 2>/dev/null || true
fi

echo "Installed. llama.cpp reports:"
"$PYTHON" -c 'from app.engine.hardware import build_backend, llama_supports_gpu_offload as g; print("  backend:", build_backend(), "| GPU offload usable here:", g())' 2>/dev/null \
  || "$PYTHON" -c 'import llama_cpp; print("  GPU offload usable here:", llama_cpp.llama_supports_gpu_offload())'
