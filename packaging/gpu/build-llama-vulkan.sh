#!/bin/sh
# vulkan build of llama-cpp-python: see build-llama.sh for the options.
exec "$(dirname -- "$0")/build-llama.sh" vulkan "$@"
