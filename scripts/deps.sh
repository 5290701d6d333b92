#!/bin/sh
# scripts/deps.sh: install the Debian/Ubuntu packages that mlrec's build, demo and tests need
# (DEB_PACKAGES in the Makefile, read from there: this script runs before make is installed).
# As root it runs apt-get itself; as another user it runs apt-get through sudo.  When every
# package is installed already it does nothing, and asks for no password.
#   sh scripts/deps.sh             install what is missing (apt-get update first)
#   sh scripts/deps.sh --dry-run   print the commands a machine without any of them would run
set -eu
cd "$(dirname "$0")/.."

dry=
case "${1:-}" in
  --dry-run) dry=1 ;;
  "") ;;
  *) echo "usage: sh scripts/deps.sh [--dry-run]" >&2; exit 2 ;;
esac

# DEB_PACKAGES = a b \
#   c d
pkgs=$(awk '/^DEB_PACKAGES[ \t]*=/ { sub(/^[^=]*=/, ""); on = 1 }
            on { more = sub(/\\[ \t]*$/, ""); print; if (!more) exit }' Makefile)
pkgs=$(echo $pkgs)
if [ -z "$pkgs" ]; then
  echo "deps.sh: no DEB_PACKAGES line in the Makefile" >&2
  exit 1
fi

if [ -n "$dry" ]; then
  missing=$pkgs
elif ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: this is not a Debian or Ubuntu system (no dpkg-query or apt-get)." >&2
  echo "  Install the equivalents of these packages by hand: $pkgs" >&2
  exit 1
else
  missing=
  for p in $pkgs; do
    case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) in
      ii*) ;;
      *) missing="$missing $p" ;;
    esac
  done
  missing=$(echo $missing)
fi

n=$(echo "$pkgs" | wc -w)
if [ -z "$missing" ]; then
  echo "deps.sh: the $n Debian packages mlrec needs are installed"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  sudo=
elif command -v sudo >/dev/null 2>&1 || [ -n "$dry" ]; then
  sudo=sudo
else
  echo "deps.sh: installing packages needs root, and sudo is not installed." >&2
  echo "  Run this script as root (su -c 'sh scripts/deps.sh'), or install: $missing" >&2
  exit 1
fi

run() {
  echo "+ $*"
  [ -n "$dry" ] || "$@"
}
echo "deps.sh: installing $(echo "$missing" | wc -w) of $n packages: $missing"
run $sudo apt-get update
run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
