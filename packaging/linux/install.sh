#!/bin/sh
# Install Hearth for the current user (no root needed), from the unpacked tarball:
#
#   ./install.sh                 # into ~/.local (XDG: $XDG_DATA_HOME, default ~/.local/share)
#   ./install.sh --prefix DIR    # the app into DIR/lib/hearth, the launcher into DIR/bin
#
# What goes where (default prefix):
#   ~/.local/lib/hearth/                       the application folder (self-contained)
#   ~/.local/bin/hearth                        a symlink to it (for the terminal)
#   ~/.local/share/applications/hearth.desktop the menu entry (Exec= is an absolute path)
#   ~/.local/share/icons/hicolor/*/apps/hearth.{png,svg}
#   ~/.local/share/metainfo/org.hearth.Hearth.metainfo.xml
#   ~/.local/share/mime/packages/hearth-gguf.xml   .gguf files open in Hearth
# Your chats, settings and downloaded models are not touched (see uninstall.sh).
set -eu

HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
PREFIX="${HOME}/.local"
DATA="${XDG_DATA_HOME:-${HOME}/.local/share}"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; DATA="$2/share"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; DATA="${PREFIX}/share"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ ! -x "$HERE/hearth/hearth" ]; then
  echo "install.sh: run me from the unpacked Hearth folder (hearth/hearth is missing)" >&2
  exit 1
fi

APPDIR="$PREFIX/lib/hearth"
BINDIR="$PREFIX/bin"
echo "Installing Hearth into $APPDIR"
mkdir -p "$PREFIX/lib" "$BINDIR" "$DATA/applications" "$DATA/metainfo" "$DATA/mime/packages"
# Replace an older version as a whole: a stale library left beside a new one breaks it.
rm -rf "$APPDIR.new"
cp -a "$HERE/hearth" "$APPDIR.new"
cp "$HERE/uninstall.sh" "$APPDIR.new/uninstall.sh"
rm -rf "$APPDIR"
mv "$APPDIR.new" "$APPDIR"
ln -sfn "$APPDIR/hearth" "$BINDIR/hearth"

# Menu entry: point Exec/TryExec at the installed binary, since ~/.local/bin is not on
# every desktop session's PATH.
sed -e "s|^Exec=hearth |Exec=\"$APPDIR/hearth\" |" -e "s|^TryExec=hearth\$|TryExec=$APPDIR/hearth|" \
  "$HERE/share/applications/hearth.desktop" > "$DATA/applications/hearth.desktop"
chmod 644 "$DATA/applications/hearth.desktop"

(cd "$HERE/share/icons" && find hicolor -type f -name 'hearth.*') | while read -r icon; do
  mkdir -p "$DATA/icons/$(dirname "$icon")"
  cp "$HERE/share/icons/$icon" "$DATA/icons/$icon"
done
cp "$HERE/share/metainfo/org.hearth.Hearth.metainfo.xml" "$DATA/metainfo/"
cp "$HERE/share/mime/packages/hearth-gguf.xml" "$DATA/mime/packages/"

# Refresh the desktop's caches; each tool is optional.
if command -v update-mime-database >/dev/null 2>&1; then
  update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
fi
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$DATA/applications" 2>/dev/null || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA/icons/hicolor/index.theme" ]; then
  gtk-update-icon-cache -q -t "$DATA/icons/hicolor" 2>/dev/null || true
fi
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default hearth.desktop application/x-gguf 2>/dev/null || true
fi

echo "Done. Start Hearth from the applications menu, or run: $BINDIR/hearth"
case ":${PATH}:" in
  *":$BINDIR:"*) ;;
  *) echo "(Add $BINDIR to your PATH to type 'hearth' in a terminal.)" ;;
esac
