#!/usr/bin/env bash
# Print the directory that holds MovieLens ml-latest-small (ratings.csv, movies.csv, tags.csv).
# Looks, in order, at:
#   1. $MLREC_MOVIELENS_DIR
#   2. ../shared/data/ml-latest-small beside the checkout (this workplace and its CI)
#   3. data/cache/ml-latest-small, downloading the GroupLens zip there if needed
# Exits non-zero with a message on stderr if none works: tests that need MovieLens then fail loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
sha_ratings=80da8b3393dae325bbba5a31f291a6ba55d8d4f4396de3c456f2c1635b1b70e8
url=https://files.grouplens.org/datasets/movielens/ml-latest-small.zip

usable() { [ -f "$1/ratings.csv" ] && [ -f "$1/movies.csv" ]; }

if [ -n "${MLREC_MOVIELENS_DIR:-}" ]; then
  usable "$MLREC_MOVIELENS_DIR" || { echo "movielens.sh: MLREC_MOVIELENS_DIR=$MLREC_MOVIELENS_DIR has no ratings.csv and movies.csv" >&2; exit 1; }
  cd "$MLREC_MOVIELENS_DIR" && pwd; exit 0
fi
shared="$root/../shared/data/ml-latest-small"
if usable "$shared"; then cd "$shared" && pwd; exit 0; fi

cache="$root/data/cache"
if ! usable "$cache/ml-latest-small"; then
  echo "movielens.sh: downloading $url" >&2
  mkdir -p "$cache"
  if ! curl -fsSL -o "$cache/ml-latest-small.zip" "$url"; then
    echo "movielens.sh: MovieLens ml-latest-small not found (set MLREC_MOVIELENS_DIR) and the download failed" >&2
    exit 1
  fi
  (cd "$cache" && unzip -qo ml-latest-small.zip && rm -f ml-latest-small.zip)
  got=$(sha256sum "$cache/ml-latest-small/ratings.csv" | cut -d' ' -f1)
  if [ "$got" != "$sha_ratings" ]; then
    echo "movielens.sh: warning: ratings.csv differs from the 2018 release the tests expect (sha256 $got)" >&2
  fi
fi
cd "$cache/ml-latest-small" && pwd
