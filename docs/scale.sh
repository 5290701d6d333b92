#!/usr/bin/env bash
# scale.sh: the measurements of docs/performance.md's "Limits and scale", on a synthetic ratings
# table of any size (MovieLens ml-latest-small has only 100,836 ratings).
#   bash docs/scale.sh [ratings] [users] [movies]          default: 10000000 100000 20011
# Users rate a number of distinct movies spread over the catalogue (uniform, not MovieLens'
# long tail); ratings are half-stars.  Prints, for a fresh connection each time: seconds to
# read the table into memory (first similar_movies()), a similar_movies() and a recommend()
# query, and training, and the peak resident memory of each process.
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000000}
users=${2:-100000}
movies=${3:-20011}     # a prime: user u steps through the catalogue without repeating a movie
db=tests/tmp/scale_$n.db
mkdir -p tests/tmp
if [ ! -f "$db" ]; then
  rm -f "$db.tmp"
  sqlite3 "$db.tmp" <<SQL
CREATE TABLE ratings(userId INTEGER, movieId INTEGER, rating REAL);
WITH RECURSIVE
  u(id, k) AS (SELECT 1, 1 + (1 * 7919) % (2 * $n / $users)
               UNION ALL SELECT id + 1, 1 + ((id + 1) * 7919) % (2 * $n / $users) FROM u
               WHERE id < $users),
  j(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM j WHERE x < 2 * $n / $users)
INSERT INTO ratings
SELECT u.id, 1 + (u.id * 104729 + j.x * (1 + (u.id * 7919) % ($movies - 1))) % $movies,
       0.5 * (1 + (u.id * 31 + j.x * 17) % 10)
  FROM u JOIN j ON j.x < u.k;
SQL
  mv "$db.tmp" "$db"
fi
count=$(sqlite3 "$db" "SELECT count(*) FROM ratings")
echo "ratings: $count, users: $users, movies: $movies"

# measure LABEL SETUP QUERY: in a fresh sqlite3 process, run SETUP, then time QUERY; print the
# seconds QUERY took and the peak resident memory of the process.
measure() {
  local out
  out=$( { printf '.load ./mlrec\n%s\n.timer on\n%s\n' "$2" "$3" |
           /usr/bin/time -f 'peak %M' sqlite3 "$db" > "$db.out"; } 2>&1; cat "$db.out")
  printf '%-34s %8s s   peak memory %5s MB\n' "$1" \
    "$(printf '%s\n' "$out" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -n 1)" \
    "$(printf '%s\n' "$out" | sed -n 's/^peak \([0-9]*\)$/\1/p' | awk '{printf "%.0f", $1/1024}')"
}
measure "read the table into memory" "" "SELECT count(*) FROM similar_movies(1, 1);"
measure "similar_movies(1, 10)" "SELECT count(*) FROM similar_movies(1, 1);" \
  "SELECT count(*) FROM similar_movies(1, 10);"
measure "train_mf, 1 epoch" "SELECT count(*) FROM similar_movies(1, 1);" \
  "SELECT train_mf('{\"epochs\": 1}') IS NULL;"
measure "train_mf, 10 epochs" "SELECT count(*) FROM similar_movies(1, 1);" \
  "SELECT train_mf('{\"epochs\": 10}') IS NULL;"
measure "train_ranker" "SELECT count(*) FROM similar_movies(1, 1);" \
  "SELECT train_ranker() IS NULL;"
measure "recommend(1, 10)" "SELECT train_ranker('{\"iterations\": 1}') IS NULL;" \
  "SELECT count(*) FROM recommend(1, 10);"
rm -f "$db.out"
