#!/bin/sh
# cuda build of llama-cpp-python: see build-llama.sh for the options.
exec "$(dirname -- "$0")/build-llama.sh" cuda "$@"
