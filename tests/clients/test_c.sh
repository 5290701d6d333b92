#!/usr/bin/env bash
# test_c.sh: mlrec linked statically into a C program, and `make install`.
#
#   1. build/example (tests/clients/example.c + build/libmlrec.a, made by `make example`) prints
#      exactly what the sqlite3 shell prints for example.sql, and needs no mlrec.so to run;
#   2. make install with DESTDIR and PREFIX puts mlrec.so, libmlrec.a and mlrec_static.h where
#      they belong; a program compiled against the installed header and library gives the same
#      output; the installed module loads in the shell; make uninstall removes them all;
#   3. the Makefile names the module mlrec.dylib on macOS and mlrec.dll on Windows;
#   4. a copy of the sources without git builds, and mlrec_debug() then says commit "unknown".
# Prints "clients/test_c.sh: N passed, N failed"; exits 1 on any failure.
# Usage (from the repository root, after make example): bash tests/clients/test_c.sh [movielens.db]
set -u
cd "$(dirname "$0")/../.."
db=${1:-movielens.db}
tmp=tests/tmp/clients_c
rm -rf "$tmp" && mkdir -p "$tmp"
pass=0
fail=0

# check NAME GOT EXPECTED
check() {
  if [ "$2" == "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL test_c.sh %s\n  expected: %s\n  got:      %s\n' "$1" "$3" "$2"
  fi
}

if [ ! -f "$db" ]; then
  echo "FAIL test_c.sh: MovieLens database $db is missing (make movielens.db)"
  echo "clients/test_c.sh: 0 passed, 1 failed"
  exit 1
fi
shell=$(sqlite3 "$db" < tests/clients/example.sql 2>&1)

# 1. The statically linked example.
check "1.1 example prints what the shell prints" "$(build/example "$db" 2>&1)" "$shell"
check "1.2 no mlrec.so needed" "$(ldd build/example | grep -c mlrec)" "0"
check "1.3 sqlite3_mlrec_init linked in" "$(nm build/example | grep -c ' T sqlite3_mlrec_init$')" "1"

# 2. make install / uninstall.
stage=$PWD/$tmp/stage
make -s install DESTDIR="$stage" PREFIX=/opt/mlrec > "$tmp/install.log" 2>&1
check "2.1 make install" "$?" "0"
check "2.2 installed files" \
  "$(cd "$stage" && find . -type f -printf '%p %m\n' | sort | tr '\n' ' ')" \
  "./opt/mlrec/include/mlrec_static.h 644 ./opt/mlrec/lib/libmlrec.a 644 ./opt/mlrec/lib/mlrec.so 755 "
cc -o "$tmp/installed_example" tests/clients/example.c -I"$stage/opt/mlrec/include" \
  -L"$stage/opt/mlrec/lib" -Wl,-Bstatic -lmlrec -Wl,-Bdynamic -lsqlite3 -lm -pthread 2> "$tmp/cc.log"
check "2.3 compiles against the installed header and library" "$(cat "$tmp/cc.log")" ""
check "2.4 same output" "$("$tmp/installed_example" "$db" 2>&1)" "$shell"
check "2.5 installed module loads" \
  "$(sqlite3 :memory: ".load $stage/opt/mlrec/lib/mlrec" "SELECT mlrec_debug() ->> 'build'" 2>&1)" \
  "loadable"
make -s install DESTDIR="$stage/default" > /dev/null 2>&1
check "2.6 PREFIX defaults to /usr/local" \
  "$(cd "$stage/default" && find . -type f | sort | tr '\n' ' ')" \
  "./usr/local/include/mlrec_static.h ./usr/local/lib/libmlrec.a ./usr/local/lib/mlrec.so "
make -s uninstall DESTDIR="$stage" PREFIX=/opt/mlrec > /dev/null 2>&1
check "2.7 make uninstall" "$(find "$stage/opt" -type f | wc -l)" "0"

# 3. Module names on other systems (make -n prints the commands without running them).
check "3.1 macOS" "$(make -n -B UNAME_S=Darwin all | grep -o -- '-o mlrec\.[a-z]*')" "-o mlrec.dylib"
check "3.2 Windows" "$(make -n -B OS=Windows_NT all | grep -o -- '-o mlrec\.[a-z]*')" "-o mlrec.dll"
check "3.3 Linux" "$(make -n -B UNAME_S=Linux all | grep -o -- '-o mlrec\.[a-z]*')" "-o mlrec.so"

# 4. A source tree without git (as from a tarball).
mkdir -p "$tmp/tarball"
cp -r Makefile ext "$tmp/tarball/"
make -s -C "$tmp/tarball" mlrec.so > "$tmp/tarball.log" 2>&1
check "4.1 builds without git" "$?" "0"
check "4.2 commit unknown" \
  "$(sqlite3 :memory: ".load $tmp/tarball/mlrec" "SELECT mlrec_debug() ->> 'commit'" 2>&1)" \
  "unknown"

echo "clients/test_c.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
