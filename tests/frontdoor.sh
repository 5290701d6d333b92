#!/usr/bin/env bash
# tests/frontdoor.sh: the first commands a newcomer runs, on copies in a scratch folder.
#   - data/movielens.sh and `make movielens.db` with MovieLens missing and no network (curl
#     fails): one message saying what is missing and the three ways to provide it, a non-zero
#     exit, and no movielens.db, movielens.db.tmp or data/cache left behind; the same for a
#     wrong MLREC_MOVIELENS_DIR and for a download that is not the zip; then a tiny data set
#     given by MLREC_MOVIELENS_DIR and by a (fake) download loads.
#   - scripts/deps.sh: the package list it reads is the Makefile's DEB_PACKAGES; as root it runs
#     apt-get without sudo (even where sudo is absent), as another user through sudo, and says
#     what to do when it is not root and sudo is missing; nothing when all is installed.
#     apt-get, dpkg-query, sudo and id are stand-ins on PATH: nothing is installed.
#   - make demo's script, sql/demo.sql, runs on movielens.db ($MLREC_DB) and prints its sections.
# Prints "frontdoor: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
src=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() {   # check NAME CONDITION-STATUS [DETAIL]
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL frontdoor: $1"; [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/  /'
  fi
}

# A checkout with only what these steps read, in $work/<name>/root, with no ../shared beside it.
fresh() {
  local r=$work/$1/root
  mkdir -p "$r/data" "$r/sql" "$r/scripts" "$work/$1/bin"
  cp "$src/Makefile" "$r/"
  cp "$src/data/movielens.sh" "$r/data/"
  cp "$src/sql/load_movielens.sql" "$r/sql/"
  cp "$src/scripts/deps.sh" "$r/scripts/"
  echo "$r"
}

# A tiny MovieLens-shaped data set in folder $1.
tiny() {
  mkdir -p "$1"
  printf 'movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n2,Jumanji (1995),Adventure\n' > "$1/movies.csv"
  printf 'userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,3.5,11\n2,1,5.0,12\n' > "$1/ratings.csv"
  printf 'userId,movieId,tag,timestamp\n1,1,pixar,13\n' > "$1/tags.csv"
}

# no_data NAME ROOT OUTPUT STATUS: the one clear message, a failure, nothing left behind.
no_data() {
  local name=$1 r=$2 out=$3 rc=$4
  check "$name: exits non-zero" "$([ "$rc" -ne 0 ]; echo $?)" "$out"
  check "$name: says MovieLens is missing, once" \
    "$([ "$(grep -c 'MovieLens ml-latest-small is missing' <<< "$out")" = 1 ]; echo $?)" "$out"
  check "$name: gives the three ways" "$(grep -q 'MLREC_MOVIELENS_DIR=/path' <<< "$out" &&
    grep -q 'shared/data/ml-latest-small' <<< "$out" && grep -q 'download' <<< "$out"; echo $?)" "$out"
  check "$name: no other error" "$(! grep -qiE 'cannot open|no such|Error: ' <<< "$out"; echo $?)" "$out"
  check "$name: leaves no movielens.db, .tmp or data/cache" \
    "$([ ! -e "$r/movielens.db" ] && [ ! -e "$r/movielens.db.tmp" ] && [ ! -e "$r/data/cache" ]; echo $?)" \
    "$(ls -a "$r" "$r/data")"
}

# 1. No MovieLens, no network.
r=$(fresh offline); bin=$work/offline/bin
printf '#!/bin/sh\necho "curl: (6) Could not resolve host: files.grouplens.org" >&2\nexit 6\n' > "$bin/curl"
chmod +x "$bin/curl"
out=$(cd "$r" && env -u MLREC_MOVIELENS_DIR PATH="$bin:$PATH" bash data/movielens.sh 2>&1); rc=$?
no_data "movielens.sh offline" "$r" "$out" "$rc"
out=$(cd "$r" && env -u MLREC_MOVIELENS_DIR PATH="$bin:$PATH" make -s movielens.db 2>&1); rc=$?
no_data "make movielens.db offline" "$r" "$out" "$rc"
check "the curl error is in the message" "$(grep -q 'Could not resolve host' <<< "$out"; echo $?)" "$out"

# 2. MLREC_MOVIELENS_DIR set to a folder without the files.
mkdir -p "$work/empty"
out=$(cd "$r" && MLREC_MOVIELENS_DIR=$work/empty PATH="$bin:$PATH" make -s movielens.db 2>&1); rc=$?
no_data "make movielens.db with a wrong MLREC_MOVIELENS_DIR" "$r" "$out" "$rc"
check "the wrong MLREC_MOVIELENS_DIR is named" "$(grep -q "MLREC_MOVIELENS_DIR=$work/empty has no" <<< "$out"; echo $?)" "$out"

# 3. A download that is not the zip (a captive portal's page, say).
r=$(fresh garbage); bin=$work/garbage/bin
cat > "$bin/curl" <<'SH'
#!/bin/sh
while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done
echo '<html>sign in</html>' > "$out"
SH
chmod +x "$bin/curl"
out=$(cd "$r" && env -u MLREC_MOVIELENS_DIR PATH="$bin:$PATH" make -s movielens.db 2>&1); rc=$?
no_data "make movielens.db with a download that is no zip" "$r" "$out" "$rc"

# 4. A tiny data set through MLREC_MOVIELENS_DIR, then through a download.
tiny "$work/tiny/ml-latest-small"
r=$(fresh given)
out=$(cd "$r" && MLREC_MOVIELENS_DIR=$work/tiny/ml-latest-small make -s movielens.db 2>&1); rc=$?
check "make movielens.db from MLREC_MOVIELENS_DIR" \
  "$([ "$rc" -eq 0 ] && [ "$(sqlite3 "$r/movielens.db" 'SELECT count(*) FROM ratings')" = 3 ] &&
     [ ! -e "$r/movielens.db.tmp" ]; echo $?)" "$out"
r=$(fresh download); bin=$work/download/bin
(cd "$work/tiny" && /usr/bin/python3 -c '
import zipfile, sys
with zipfile.ZipFile("ml.zip", "w") as z:
    for f in ("movies.csv", "ratings.csv", "tags.csv"):
        z.write("ml-latest-small/" + f)')
cat > "$bin/curl" <<SH
#!/bin/sh
while [ \$# -gt 1 ]; do [ "\$1" = -o ] && out=\$2; shift; done
cp "$work/tiny/ml.zip" "\$out"
SH
chmod +x "$bin/curl"
out=$(cd "$r" && env -u MLREC_MOVIELENS_DIR PATH="$bin:$PATH" make -s movielens.db 2>&1); rc=$?
check "make movielens.db from a download" \
  "$([ "$rc" -eq 0 ] && [ "$(sqlite3 "$r/movielens.db" 'SELECT count(*) FROM movies')" = 2 ] &&
     [ -f "$r/data/cache/ml-latest-small/ratings.csv" ] && [ ! -e "$r/data/cache/download.tmp" ]; echo $?)" "$out"

# 5. scripts/deps.sh with stand-ins: dpkg-query says which packages are installed
#    ($FAKE_INSTALLED: "all" or "none"), apt-get and sudo log their arguments, id says $FAKE_UID.
r=$(fresh deps); bin=$work/deps/bin; log=$work/deps/log
cat > "$bin/dpkg-query" <<'SH'
#!/bin/sh
[ "$FAKE_INSTALLED" = all ] && printf 'ii ' || printf 'un '
SH
cat > "$bin/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >> "$log"
SH
cat > "$bin/sudo" <<SH
#!/bin/sh
echo "sudo \$1" >> "$log"
exec "\$@"
SH
cat > "$bin/id" <<'SH'
#!/bin/sh
echo "$FAKE_UID"
SH
chmod +x "$bin"/*
make_list=$(cd "$r" && make -pn -f Makefile 2>/dev/null | sed -n 's/^DEB_PACKAGES = //p' | head -n 1)
dry=$(cd "$r" && sh scripts/deps.sh --dry-run 2>&1)
check "deps.sh installs exactly the Makefile's DEB_PACKAGES" \
  "$(grep -qF -- "--no-install-recommends $make_list" <<< "$dry" && [ -n "$make_list" ]; echo $?)" \
  "make: $make_list"$'\n'"deps.sh: $dry"
deps() {   # deps UID INSTALLED [PATH]: run deps.sh with the stand-ins, output and log in $out
  : > "$log"
  out=$(cd "$r" && FAKE_UID=$1 FAKE_INSTALLED=$2 PATH=${3:-$bin:$PATH} sh scripts/deps.sh 2>&1); rc=$?
  out="$out"$'\n'"log:"$'\n'"$(cat "$log")"
}
nosudo=$work/deps/nosudo
mkdir -p "$nosudo"
for t in dpkg-query apt-get id; do ln -s "$bin/$t" "$nosudo/$t"; done
for t in sh awk sed wc tr cat dirname env; do ln -s "$(command -v $t)" "$nosudo/$t"; done
deps 0 none "$nosudo"
check "deps.sh as root without sudo: apt-get update, then install" \
  "$([ "$rc" -eq 0 ] && [ "$(head -n 1 "$log")" = "apt-get update" ] &&
     grep -q '^apt-get install -y --no-install-recommends build-essential' "$log" &&
     ! grep -q sudo "$log"; echo $?)" "$out"
deps 1000 none
check "deps.sh as a user: apt-get through sudo" \
  "$([ "$rc" -eq 0 ] && [ "$(grep -c '^sudo' "$log")" = 2 ] && grep -q '^apt-get update' "$log"; echo $?)" "$out"
deps 1000 none "$nosudo"
check "deps.sh as a user without sudo: fails and says to run it as root" \
  "$([ "$rc" -ne 0 ] && grep -q 'as root' <<< "$out" && [ ! -s "$log" ]; echo $?)" "$out"
deps 1000 all
check "deps.sh with everything installed: no apt-get, no sudo" \
  "$([ "$rc" -eq 0 ] && [ ! -s "$log" ] && grep -q 'are installed' <<< "$out"; echo $?)" "$out"

# 6. The demo's queries.
db=${MLREC_DB:-$src/movielens.db}
out=$(sqlite3 "$db" < sql/demo.sql 2>&1); rc=$?
check "sql/demo.sql runs and prints its 8 sections" \
  "$([ "$rc" -eq 0 ] && [ "$(grep -c '^== [1-8]\. ' <<< "$out")" = 8 ] &&
     grep -q '^1  *Star Wars: Episode V' <<< "$out" && ! grep -qE '^(Parse error|Runtime error|Error)' <<< "$out"; echo $?)" "$out"

echo "frontdoor: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
