"""PyInstaller hook for llama-cpp-python: its ctypes-loaded libraries live in llama_cpp/lib.

llama_cpp loads ``libllama``/``libggml*`` (and, in GPU builds, ``libggml-cuda`` /
``libggml-vulkan`` / ``libggml-metal``) from ``Path(__file__).parent / "lib"``, so they
must keep that place in the bundle. The optional OpenAI-compatible server is left out.
"""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("llama_cpp")
excludedimports = ["llama_cpp.server"]
