#!/usr/bin/env bash
# tests/dqlite/test.sh: a model saved on a dqlite leader is served, identical, by the next leader
# (docs/persistence.md, "Replicated with dqlite").
#
#   1. three dqlite nodes (build/dqlite-node: libdqlite with mlrec linked in) on 127.0.0.1, free
#      ports; node 1 bootstraps the cluster, then adds nodes 2 and 3 and makes them voters;
#   2. MovieLens (movies, ratings, tags of the database given, default movielens.db) is loaded
#      into the replicated database through the leader, 1,000 rows an INSERT, and reads back
#      the same (counts and sums);
#   3. on the leader, on one connection: train_ranker(), train_mf(), mlrec_save_model('default'),
#      then the answers: recommend(u, 10) (the default ranking model), recommend(u, 10,
#      '{"model":"rating"}') and predict(u, m) for a few users, every real printed with %.17g;
#      the same script on a copy of the database with plain SQLite gives the same answers;
#   4. a follower refuses writes (and reads) as dqlite does: error 10250, "not leader";
#   5. the leader is killed (SIGKILL); the two others elect a new leader, on which the saved
#      tables and the ratings have the same rows, mlrec_load_model('default') loads both models
#      (mlrec_models says so), and the answers are identical to the last bit; the cluster still takes writes;
#   6. everything is stopped: the nodes exit on SIGTERM, no process is left.
# Prints the times of the load, the training and the failover, and
# "dqlite: N passed, N failed"; exits 1 on any failure.  A missing libdqlite (build/dqlite-node
# not built) is a failure, not a skip: sh scripts/deps.sh installs libdqlite-dev.
# Usage (from the repository root, after make dqlite): bash tests/dqlite/test.sh [movielens.db]
set -u
cd "$(dirname "$0")/../.."
db=${1:-movielens.db}
tmp=tests/tmp/dqlite
node=build/dqlite-node
client=build/dqlite-client
latency_ms=${MLREC_DQLITE_LATENCY_MS:-500}   # Raft election timeout: 15 times this (7.5 s)
pass=0
fail=0

# check NAME GOT EXPECTED
check() {
  if [ "$2" == "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL dqlite %s\n  expected: %s\n  got:      %s\n' "$1" "$3" "$2"
  fi
}

finish() {
  echo "dqlite: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

give_up() {
  echo "FAIL dqlite: $1"
  fail=$((fail + 1))
  finish
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for f in "$node" "$client"; do
  [ -x "$f" ] || give_up "$f is missing: make dqlite (it needs libdqlite-dev: sh scripts/deps.sh)"
done
ldd "$node" | grep -q 'libdqlite\.so' || give_up "$node is not linked with libdqlite"
[ -f "$db" ] || give_up "MovieLens database $db is missing (make movielens.db)"

rm -rf "$tmp" && mkdir -p "$tmp"

# Three free ports on the loopback interface (the kernel's choice; closed again at once).
ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
') || give_up "no free ports"
read -r p1 p2 p3 <<< "$ports"
addr=([1]=127.0.0.1:$p1 [2]=127.0.0.1:$p2 [3]=127.0.0.1:$p3)
pid=()

# stop_nodes: SIGTERM to every node still running, SIGKILL after 15 s.
stop_nodes() {
  local i t
  for i in 1 2 3; do
    [ -n "${pid[$i]:-}" ] && kill -TERM "${pid[$i]}" 2>/dev/null
  done
  for t in $(seq 150); do
    alive=0
    for i in 1 2 3; do
      [ -n "${pid[$i]:-}" ] && kill -0 "${pid[$i]}" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for i in 1 2 3; do
    [ -n "${pid[$i]:-}" ] && kill -KILL "${pid[$i]}" 2>/dev/null
  done
  wait 2>/dev/null
}
trap stop_nodes EXIT

# start_node ID: start node ID in the background, wait until it accepts connections.
start_node() {
  local id=$1 t
  mkdir -p "$tmp/node$id"
  "$node" "$id" "${addr[$id]}" "$tmp/node$id" "$latency_ms" 900 > "$tmp/node$id.log" 2>&1 &
  pid[$id]=$!
  for t in $(seq 100); do
    grep -q '^ready' "$tmp/node$id.log" && return 0
    kill -0 "${pid[$id]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/node$id.log"
  give_up "node $id did not start"
}

# dq ARGS...: the client, commands on stdin; no session lasts more than 5 minutes.
dq() { timeout 300 "$client" -t 60 "$@"; }

# 1. The cluster.
t0=$(now)
start_node 1
start_node 2
start_node 3
out=$(printf 'add 2 %s\nassign 2 0\nadd 3 %s\nassign 3 0\ncluster\n' "${addr[2]}" "${addr[3]}" |
      dq -leader "${addr[1]}" 2>&1)
check "1.1 three voters" "$out" "$(printf '1|%s|0\n2|%s|0\n3|%s|0' "${addr[1]}" "${addr[2]}" "${addr[3]}")"
echo "  cluster of 3 formed in $(since "$t0") s"

# 2. MovieLens into the replicated database, through the leader.
{
  echo "exec CREATE TABLE movies(movieId INTEGER PRIMARY KEY, title TEXT NOT NULL, genres TEXT NOT NULL)"
  echo "exec CREATE TABLE ratings(userId INTEGER NOT NULL, movieId INTEGER NOT NULL, rating REAL NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (userId, movieId)) WITHOUT ROWID"
  echo "exec CREATE TABLE tags(userId INTEGER NOT NULL, movieId INTEGER NOT NULL, tag TEXT NOT NULL, timestamp INTEGER NOT NULL)"
  sqlite3 "$db" "
    SELECT 'exec INSERT INTO movies VALUES ' || group_concat(format('(%d,%Q,%Q)', movieId, title, genres), ',')
      FROM (SELECT *, (row_number() OVER (ORDER BY movieId) - 1) / 1000 AS b FROM movies) GROUP BY b ORDER BY b;
    SELECT 'exec INSERT INTO ratings VALUES ' || group_concat(format('(%d,%d,%!.17g,%d)', userId, movieId, rating, timestamp), ',')
      FROM (SELECT *, (row_number() OVER (ORDER BY userId, movieId) - 1) / 1000 AS b FROM ratings) GROUP BY b ORDER BY b;
    SELECT 'exec INSERT INTO tags VALUES ' || group_concat(format('(%d,%d,%Q,%d)', userId, movieId, tag, timestamp), ',')
      FROM (SELECT *, (row_number() OVER (ORDER BY rowid) - 1) / 1000 AS b FROM tags) GROUP BY b ORDER BY b;"
} > "$tmp/load.txt"
t0=$(now)
out=$(dq -leader "${addr[1]},${addr[2]},${addr[3]}" < "$tmp/load.txt" 2>&1)
check "2.1 load" "$out" ""
echo "  loaded $(grep -c '^exec INSERT' "$tmp/load.txt") INSERTs ($(sqlite3 "$db" 'SELECT count(*) FROM ratings') ratings) in $(since "$t0") s"
cat > "$tmp/sums.txt" <<'EOF'
query SELECT count(*), sum(userId), sum(movieId), sum(rating), sum(timestamp) FROM ratings
query SELECT count(*), sum(length(title)), sum(length(genres)) FROM movies
query SELECT count(*), sum(length(tag)) FROM tags
EOF
local_sums=$("$client" -sqlite "$db" < "$tmp/sums.txt" 2>&1)
out=$(dq -leader "${addr[1]},${addr[2]},${addr[3]}" < "$tmp/sums.txt" 2>&1)
check "2.2 the replicated tables hold the same rows" "$out" "$local_sums"
long='query SELECT * FROM ratings WHERE userId <= 20 ORDER BY userId, movieId'
out=$(echo "$long" | dq -leader "${addr[1]},${addr[2]},${addr[3]}" 2>&1)
check "2.3 a long result (many ROWS responses): $(printf '%s\n' "$out" | wc -l) rows" "$out" \
  "$(echo "$long" | "$client" -sqlite "$db" 2>&1)"

# 3. Train and save on the leader, then the answers, on one connection.
users="1 42 414 610"
{
  for u in $users; do
    echo "query SELECT 'recommend($u, 10)', movieId, score, rank, because FROM recommend($u, 10)"
  done
  for u in $users; do
    echo "query SELECT 'recommend($u, 10, rating)', movieId, score, rank FROM recommend($u, 10, '{\"model\":\"rating\"}')"
  done
  for u in $users; do
    for m in 1 260 318 2571 79132; do
      echo "query SELECT 'predict($u, $m)', predict($u, $m)"
    done
  done
} > "$tmp/answers.txt"
{
  echo "query SELECT train_ranker() ->> 'ratings'"
  echo "query SELECT train_mf() ->> 'ratings'"
  echo "exec SELECT mlrec_save_model('default')"
  echo "query SELECT 'saved', name, kind, users, items, factors FROM mlrec_saved_models"
  cat "$tmp/answers.txt"
} > "$tmp/train.txt"
t0=$(now)
leader_out=$(dq -leader "${addr[1]},${addr[2]},${addr[3]}" < "$tmp/train.txt" 2>&1)
echo "  trained, saved and answered on the leader in $(since "$t0") s"
check "3.1 trained on every rating" "$(printf '%s\n' "$leader_out" | head -n 2 | tr '\n' ' ')" \
  "100836 100836 "
check "3.2 saved" "$(printf '%s\n' "$leader_out" | grep '^saved|')" "saved|default|mf|610|9724|32"
answers=$(printf '%s\n' "$leader_out" | grep -E '^(recommend|predict)\(')
check "3.3 answers: 80 rows of recommend(), 20 of predict()" \
  "$(printf '%s\n' "$answers" | grep -c '^recommend') $(printf '%s\n' "$answers" | grep -c '^predict')" \
  "80 20"
check "3.4 no errors" "$(printf '%s\n' "$leader_out" | grep -v -E '^(100836|saved\||recommend\(|predict\()')" ""
cp "$db" "$tmp/plain.db"
plain_out=$("$client" -sqlite "$tmp/plain.db" < "$tmp/train.txt" 2>&1)
check "3.5 plain SQLite gives the same answers" \
  "$(printf '%s\n' "$plain_out" | grep -E '^(recommend|predict)\(')" "$answers"
vectors=$(printf 'query SELECT count(*), sum(length(factors)) FROM mlrec_saved_vectors\n' |
          dq -leader "${addr[1]},${addr[2]},${addr[3]}" 2>&1)
check "3.6 saved vectors" "$vectors" "10334|1322752"

# Which node leads (node 1, which bootstrapped the cluster, unless an election happened).
leader=$(printf 'leader\n' | dq -leader "${addr[1]},${addr[2]},${addr[3]}" 2>&1)
old_id=${leader%%|*}
case $old_id in
  1|2|3) ;;
  *) give_up "no leader: $leader" ;;
esac
followers=$(for i in 1 2 3; do [ "$i" != "$old_id" ] && printf '%s ' "$i"; done)
read -r f1 f2 <<< "$followers"

# 4. A follower refuses writes, and reads: only the leader runs statements.
out=$(printf 'exec INSERT INTO ratings VALUES (1, 2, 4.0, 0)\nquery SELECT count(*) FROM ratings\n' |
      dq -node "${addr[$f1]}" 2>&1)
check "4.1 a follower refuses a write and a read" "$out" \
  "$(printf 'error 10250: not leader\nerror 10250: not leader')"

# 5. The leader crashes; the next one serves the saved model.
kill -KILL "${pid[$old_id]}"
wait "${pid[$old_id]}" 2>/dev/null
pid[$old_id]=
t0=$(now)
leader=$(printf 'leader\n' | dq -leader "${addr[$f1]},${addr[$f2]}" 2>&1)
new_id=${leader%%|*}
echo "  node $old_id killed; node $new_id leads $(since "$t0") s later"
check "5.1 a new leader" "$(case $new_id in "$f1"|"$f2") echo yes ;; *) echo "no: $leader" ;; esac)" "yes"
{
  cat "$tmp/sums.txt"
  echo "query SELECT 'saved', name, kind, users, items, factors FROM mlrec_saved_models"
  echo "query SELECT count(*), sum(length(factors)) FROM mlrec_saved_vectors"
  echo "query SELECT mlrec_load_model('default')"
  cat "$tmp/answers.txt"
  echo "query SELECT 'origin', model, origin FROM mlrec_models WHERE model IN ('mf', 'ranker') ORDER BY model"
} > "$tmp/failover.txt"
t0=$(now)
new_out=$(dq -leader "${addr[$f1]},${addr[$f2]}" < "$tmp/failover.txt" 2>&1)
echo "  loaded and answered on the new leader in $(since "$t0") s"
check "5.2 the ratings, movies and tags replicated" "$(printf '%s\n' "$new_out" | head -n 3)" \
  "$local_sums"
check "5.3 the saved model replicated" "$(printf '%s\n' "$new_out" | sed -n '4,5p')" \
  "$(printf 'saved|default|mf|610|9724|32\n%s' "$vectors")"
check "5.4 mlrec_load_model" "$(printf '%s\n' "$new_out" | sed -n '6p')" \
  '{"name":"default","mf":{"users":610,"items":9724,"factors":32},"ranker":{"users":610,"items":9724,"factors":32}}'
check "5.5 the same answers, to the last bit" \
  "$(printf '%s\n' "$new_out" | grep -E '^(recommend|predict)\(')" "$answers"
# both models of the new leader, the rating model and the ranking model, say they were loaded
# from the saved tables, not trained there (mlrec_models.origin)
check "5.6 the new leader's models were loaded" \
  "$(printf '%s\n' "$new_out" | grep '^origin|')" \
  "$(printf 'origin|mf|loaded\norigin|ranker|loaded')"
out=$(printf 'exec INSERT INTO ratings VALUES (611, 1, 4.0, 0)\nquery SELECT count(*) FROM ratings\n' |
      dq -leader "${addr[$f1]},${addr[$f2]}" 2>&1)
check "5.7 two nodes of three still take writes" "$out" "100837"
other=$([ "$new_id" = "$f1" ] && echo "$f2" || echo "$f1")
out=$(printf 'exec DELETE FROM ratings WHERE userId = 611\n' | dq -node "${addr[$other]}" 2>&1)
check "5.8 the other one is a follower" "$out" "error 10250: not leader"

# 6. Stop the nodes: each exits 0 on SIGTERM (within 15 s), and no process is left.
kill -TERM "${pid[$f1]}" "${pid[$f2]}"
for t in $(seq 150); do
  kill -0 "${pid[$f1]}" 2>/dev/null || kill -0 "${pid[$f2]}" 2>/dev/null || break
  sleep 0.1
done
kill -KILL "${pid[$f1]}" "${pid[$f2]}" 2>/dev/null
status=
for i in "$f1" "$f2"; do
  wait "${pid[$i]}"
  status="$status$? "
done
check "6.1 the nodes stop on SIGTERM" "$status" "0 0 "
left=0
for i in 1 2 3; do
  [ -n "${pid[$i]}" ] && kill -0 "${pid[$i]}" 2>/dev/null && left=$((left + 1))
done
check "6.2 no node left running" "$left" "0"
pid=()
finish
