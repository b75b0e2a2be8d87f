#!/bin/sh
# Remove what install.sh installed (same --prefix). Your conversations, settings, logs
# and downloaded models stay, in ~/.local/share/Hearth, ~/.config/Hearth and
# ~/.local/state/Hearth; add --purge to delete those too.
set -eu

PREFIX="${HOME}/.local"
DATA="${XDG_DATA_HOME:-${HOME}/.local/share}"
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; DATA="$2/share"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; DATA="${PREFIX}/share"; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

APPDIR="$PREFIX/lib/hearth"
if [ -L "$PREFIX/bin/hearth" ] || [ -e "$PREFIX/bin/hearth" ]; then
  rm -f "$PREFIX/bin/hearth"
fi
rm -rf "$APPDIR"
rm -f "$DATA/applications/hearth.desktop" \
      "$DATA/metainfo/org.hearth.Hearth.metainfo.xml" \
      "$DATA/mime/packages/hearth-gguf.xml"
find "$DATA/icons/hicolor" -path '*/apps/hearth.png' -delete 2>/dev/null || true
find "$DATA/icons/hicolor" -path '*/apps/hearth.svg' -delete 2>/dev/null || true

if command -v update-mime-database >/dev/null 2>&1 && [ -d "$DATA/mime" ]; then
  update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
fi
if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA/applications" ]; then
  update-desktop-database -q "$DATA/applications" 2>/dev/null || true
fi

if [ "$PURGE" = 1 ]; then
  rm -rf "${XDG_DATA_HOME:-$HOME/.local/share}/Hearth" "${XDG_CONFIG_HOME:-$HOME/.config}/Hearth" \
         "${XDG_STATE_HOME:-$HOME/.local/state}/Hearth" "${XDG_CACHE_HOME:-$HOME/.cache}/Hearth"
  echo "Hearth and its data were removed."
else
  echo "Hearth was removed. Your chats and models stay in ${XDG_DATA_HOME:-$HOME/.local/share}/Hearth (uninstall.sh --purge deletes them)."
fi
