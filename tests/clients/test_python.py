#!/usr/bin/env python3
"""test_python.py: mlrec through Python's standard sqlite3 module (Debian's /usr/bin/python3).

Checks that example.py prints exactly what the sqlite3 shell prints for example.sql, then what a
Python application meets: parameters bound as int, float and str; errors raised as exceptions
with mlrec's message; Connection.interrupt() from another thread stopping train_mf() while the
previous model stays in service; connections and threads keeping separate state.
Prints "clients/test_python.py: N passed, N failed"; exits 1 on any failure.
Usage (from the repository root): /usr/bin/python3 tests/clients/test_python.py [movielens.db]
"""
import os
import sqlite3
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "movielens.db")
EXT = os.environ.get("MLREC_LIB", os.path.join(ROOT, "mlrec"))
passed = failed = 0


def check(name, got, expected):
    global passed, failed
    if got == expected:
        passed += 1
    else:
        failed += 1
        print(f"FAIL test_python.py {name}\n  expected: {expected!r}\n  got:      {got!r}")


def error_of(db, sql, args=()):
    """The message of the sqlite3.Error that sql raises, or None."""
    try:
        db.execute(sql, args).fetchall()
    except sqlite3.Error as e:
        return str(e)
    return None


def connect(path=DB, **kwargs):
    db = sqlite3.connect(path, **kwargs)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    return db


def ids(db, sql, args=()):
    return [row[0] for row in db.execute(sql, args)]


if not os.path.exists(DB):
    print(f"FAIL test_python.py: MovieLens database {DB} is missing (make movielens.db)")
    print("clients/test_python.py: 0 passed, 1 failed")
    sys.exit(1)

# 1. docs/clients.md's example prints what the sqlite3 shell prints.
with open(os.path.join(ROOT, "tests/clients/example.sql")) as f:
    shell = subprocess.run(["sqlite3", DB], stdin=f, capture_output=True, text=True, cwd=ROOT)
example = subprocess.run([sys.executable, "tests/clients/example.py", DB, EXT],
                         capture_output=True, text=True, cwd=ROOT)
check("1.1 shell runs example.sql", (shell.returncode, shell.stderr), (0, ""))
check("1.2 example.py runs", (example.returncode, example.stderr), (0, ""))
check("1.3 example.py prints what the shell prints", example.stdout, shell.stdout)
check("1.4 answers", example.stdout.splitlines()[2:4],
      [" 1  0.8324  Star Wars: Episode V - The Empire Strikes Back (1980)",
       " 2  0.7906  Star Wars: Episode VI - Return of the Jedi (1983)"])

# 2. Loading: only where enabled, errors as exceptions.
db = sqlite3.connect(":memory:")
check("2.1 not enabled", error_of(db, "SELECT load_extension(?)", (EXT,)), "not authorized")
db.enable_load_extension(True)
try:
    db.load_extension(os.path.join(ROOT, "no_such_extension"))
    check("2.2 missing file", "loaded", "error")
except sqlite3.OperationalError as e:
    check("2.2 missing file", "no_such_extension" in str(e), True)
db.load_extension(EXT)
check("2.3 loaded", db.execute("SELECT mlrec_version() IS NOT NULL").fetchone()[0], 1)
db.close()

# 3. Parameters as Python binds them.
db = connect()
sql = "SELECT movieId FROM similar_movies(?, ?)"
check("3.1 int", ids(db, sql, (260, 3)), [1196, 1210, 1198])
check("3.2 integral float", ids(db, sql, (260.0, 3.0)), [1196, 1210, 1198])
check("3.3 str", error_of(db, sql, ("260", 3)),
      "similar_movies: movie_id must be an integer id, not text '260' (use CAST(... AS INTEGER))")
check("3.4 fraction", error_of(db, "SELECT predict(?, ?)", (1, 260.5)),
      "predict: movie_id must be an integer id, not a real")
check("3.5 None", db.execute("SELECT predict(?, ?)", (None, 260)).fetchone()[0], None)
check("3.6 named", ids(db, "SELECT movieId FROM similar_movies WHERE movie_id = :m AND k = :k",
                       {"m": 260, "k": 2}), [1196, 1210])
db.row_factory = sqlite3.Row
row = db.execute("SELECT * FROM similar_movies(260, 1)").fetchone()
check("3.7 columns", row.keys(), ["movieId", "score", "rank", "corated"])
db.row_factory = None

# 4. Errors are exceptions carrying mlrec's message.
check("4.1 unknown option", (error_of(db, "SELECT train_mf(?)", ('{"factor": 3}',)) or "")
      .startswith('train_mf: unknown option "factor"; valid options are: factors, epochs'), True)
try:
    db.execute("SELECT train_mf('{\"factors\": 0}')")
    check("4.2 exception class", "none", "OperationalError")
except sqlite3.OperationalError as e:
    check("4.2 exception class", str(e),
          'train_mf: option "factors" must be an integer in [1, 1024], got 0')


# 5. Connection.interrupt() from another thread stops training; the old model stays.
def interrupt_until(db, done):
    # sqlite3_interrupt() is a no-op while no statement runs: repeat until training has stopped
    while not done.wait(0.05):
        db.interrupt()


db.execute("SELECT train_mf('{\"epochs\": 2}')")
before = db.execute("SELECT predict(1, 260)").fetchone()[0]
done = threading.Event()
interrupter = threading.Thread(target=interrupt_until, args=(db, done))
interrupter.start()
try:
    check("5.1 interrupted", error_of(db, "SELECT train_mf('{\"epochs\": 10000}')"),
          "train_mf: interrupted")
finally:
    done.set()
    interrupter.join()
check("5.2 old model kept", db.execute("SELECT predict(1, 260)").fetchone()[0], before)
check("5.3 its options", db.execute(
    "SELECT options ->> 'epochs' FROM mlrec_models WHERE model = 'mf'").fetchone()[0], 2)
db.close()

# 6. Connections keep separate state, also in threads running at the same time.
a, b = connect(), connect()
a.execute("SELECT train_mf('{\"factors\": 2, \"epochs\": 1}')")
b.execute("SELECT train_mf('{\"factors\": 3, \"epochs\": 1}')")
sql = "SELECT options ->> 'factors' FROM mlrec_models WHERE model = 'mf'"
check("6.1 separate models", (a.execute(sql).fetchone()[0], b.execute(sql).fetchone()[0]), (2, 3))
a.close()
check("6.2 other connection lives on", b.execute(sql).fetchone()[0], 3)
b.close()

sweep = ("SELECT group_concat(s.movieId) FROM (SELECT movieId FROM movies WHERE movieId <= 500) m,"
         " similar_movies(m.movieId, 3) s")
expected = ids(connect(), sweep)[0]
results = {}


def worker(n):
    db = connect(check_same_thread=False)
    results[n] = ids(db, sweep)[0]
    db.close()


threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check("6.3 four threads, four connections", [results.get(n) for n in range(4)], [expected] * 4)

print(f"clients/test_python.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
