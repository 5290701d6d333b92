#!/usr/bin/env bash
# Print the directory that holds MovieLens ml-latest-small (ratings.csv, movies.csv, tags.csv).
# Looks, in order, at:
#   1. $MLREC_MOVIELENS_DIR
#   2. ../shared/data/ml-latest-small beside the checkout (this workplace and its CI)
#   3. data/cache/ml-latest-small, downloading the GroupLens zip there if needed
# If none works, prints one message on stderr (what is missing, the three ways to provide it)
# and exits non-zero, leaving no partial download: `make demo` stops there, and tests that need
# MovieLens fail loudly.  tests/movielens_missing.sh checks this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
sha_ratings=80da8b3393dae325bbba5a31f291a6ba55d8d4f4396de3c456f2c1635b1b70e8
url=https://files.grouplens.org/datasets/movielens/ml-latest-small.zip

usable() { [ -f "$1/ratings.csv" ] && [ -f "$1/movies.csv" ] && [ -f "$1/tags.csv" ]; }

# missing WHY: the message for "no MovieLens here", with the three ways to provide it; exits 1.
missing() {
  cat >&2 <<MSG
movielens.sh: MovieLens ml-latest-small is missing: $1.
Provide it in one of three ways, then run the command again:
  1. MLREC_MOVIELENS_DIR=/path/to/ml-latest-small make demo
     (a folder with ratings.csv, movies.csv and tags.csv: ml-latest-small.zip unzipped)
  2. put that folder at $(cd "$root/.." && pwd)/shared/data/ml-latest-small
  3. with network access, let this script download $url
     into $root/data/cache/ (or unzip that zip there yourself)
MSG
  exit 1
}

if [ -n "${MLREC_MOVIELENS_DIR:-}" ]; then
  usable "$MLREC_MOVIELENS_DIR" ||
    missing "MLREC_MOVIELENS_DIR=$MLREC_MOVIELENS_DIR has no ratings.csv, movies.csv and tags.csv"
  cd "$MLREC_MOVIELENS_DIR" && pwd; exit 0
fi
shared="$root/../shared/data/ml-latest-small"
if usable "$shared"; then cd "$shared" && pwd; exit 0; fi

# The download goes to a folder of its own, moved into place only when complete: a failed one
# leaves nothing behind.
cache="$root/data/cache"
if ! usable "$cache/ml-latest-small"; then
  echo "movielens.sh: not in MLREC_MOVIELENS_DIR nor ../shared; downloading $url" >&2
  tmp="$cache/download.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  why=
  if ! curl -fsSL --connect-timeout 30 -o "$tmp/ml-latest-small.zip" "$url" 2> "$tmp/curl.err"; then
    why="no MLREC_MOVIELENS_DIR, nothing in ../shared beside the checkout, and the download failed"
    why="$why ($(tr '\n' ' ' < "$tmp/curl.err" | sed 's/ *$//'))"
  elif ! (cd "$tmp" && unzip -qo ml-latest-small.zip) || ! usable "$tmp/ml-latest-small"; then
    why="the downloaded zip does not unpack into ml-latest-small/ with the three CSV files"
  fi
  if [ -n "$why" ]; then
    rm -rf "$tmp"
    rmdir "$cache" 2>/dev/null || true
    missing "$why"
  fi
  rm -rf "$cache/ml-latest-small"
  mv "$tmp/ml-latest-small" "$cache/ml-latest-small"
  rm -rf "$tmp"
  got=$(sha256sum "$cache/ml-latest-small/ratings.csv" | cut -d' ' -f1)
  if [ "$got" != "$sha_ratings" ]; then
    echo "movielens.sh: warning: ratings.csv differs from the 2018 release the tests expect (sha256 $got)" >&2
  fi
fi
cd "$cache/ml-latest-small" && pwd
