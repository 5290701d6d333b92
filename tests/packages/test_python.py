#!/usr/bin/python3
"""test_python.py: the Python package, installed the way a user installs it.

Takes the wheel `make python` built (build/python/dist/mlrec-*.whl), installs it with pip, offline,
into a fresh venv made from Debian's /usr/bin/python3 (--system-site-packages: pip comes from
Debian's python3-pip), and from a folder outside the checkout (so that no ./mlrec.so is at hand):
  1. runs every ```python block of README.md and docs/python.md that imports mlrec, and checks
     that it prints what the page shows;
  2. checks the package (this file run by the venv's Python with --inside): the library is the
     one installed with it, its version is the extension's, mlrec.load() switches extension
     loading off again, loads twice and into an APSW connection, loadable_path() serves the
     sqlite3 shell; a sqlite3 module without extension loading gets LoadError with the way out
     (simulated; and for real with a pyenv python3 on the PATH, where there is one), anything
     else TypeError, a package without its library LoadError;
  3. pip uninstall takes the library away with the package.
Prints "packages/python: N passed, N failed"; exits 1 on any failure.
Usage (from the repository root): /usr/bin/python3 tests/packages/test_python.py [movielens.db]
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL packages/python {name}" + (f"\n  {detail}".replace("\n", "\n  ")
                                                  if detail else ""))


def inside(db_path):
    """Run by the venv's Python: the package's own checks, as JSON [name, ok, detail] lines."""
    import sqlite3
    import mlrec
    out = []

    def rec(name, ok, detail=""):
        out.append([name, bool(ok), str(detail)])

    site = os.path.join(sys.prefix, "lib")
    path = mlrec.loadable_path()
    rec("2.1 package and library come from the venv", mlrec.__file__.startswith(site) and
        path.startswith(site) and os.path.isfile(path), (mlrec.__file__, path))
    db = sqlite3.connect(db_path)
    mlrec.load(db)
    version = db.execute("SELECT mlrec_version()").fetchone()[0]
    rec("2.2 __version__ is the extension's", mlrec.__version__ == version,
        (mlrec.__version__, version))
    try:
        db.execute("SELECT load_extension(?)", (path,)).fetchall()
        rec("2.3 extension loading is off again after load()", False, "load_extension ran")
    except sqlite3.OperationalError as e:
        rec("2.3 extension loading is off again after load()", str(e) == "not authorized", e)
    mlrec.load(db)
    rec("2.4 load() twice", db.execute("SELECT count(*) FROM similar_movies(260, 3)")
        .fetchone()[0] == 3)

    class NoLoading(sqlite3.Connection):
        """A sqlite3 connection as a Python built without extension loading has it."""
        def __getattribute__(self, name):
            if name in ("enable_load_extension", "load_extension"):
                raise AttributeError(f"'sqlite3.Connection' object has no attribute '{name}'")
            return super().__getattribute__(name)

    try:
        mlrec.load(sqlite3.connect(":memory:", factory=NoLoading))
        rec("2.5 no extension loading: LoadError", False, "no error")
    except mlrec.LoadError as e:
        msg = str(e)
        rec("2.5 no extension loading: LoadError", all(s in msg for s in (
            "cannot load extensions", "--enable-loadable-sqlite-extensions", "/usr/bin/python3",
            "pyenv install", "apsw", sys.executable)), msg)
    try:
        mlrec.load("movielens.db")
        rec("2.6 not a connection: TypeError", False, "no error")
    except TypeError as e:
        rec("2.6 not a connection: TypeError", "expected a sqlite3.Connection" in str(e), e)
    import apsw
    a = apsw.Connection(db_path)
    mlrec.load(a)
    rec("2.7 APSW connection", list(a.execute("SELECT movieId FROM similar_movies(260, 3)")) ==
        [(1196,), (1210,), (1198,)])
    shell = subprocess.run(["sqlite3", db_path, f".load {path}", "SELECT mlrec_version()"],
                           capture_output=True, text=True)
    rec("2.8 loadable_path() in the sqlite3 shell", shell.stdout.strip() == version,
        shell.stdout + shell.stderr)
    bare = tempfile.mkdtemp()
    os.mkdir(os.path.join(bare, "mlrec"))
    shutil.copy(mlrec.__file__, os.path.join(bare, "mlrec"))
    probe = subprocess.run(
        [sys.executable, "-c", "import mlrec\ntry:\n  mlrec.loadable_path()\n"
         "except mlrec.LoadError as e:\n  print(e)"],
        capture_output=True, text=True, cwd=bare, env=dict(os.environ, PYTHONPATH=bare))
    shutil.rmtree(bare)
    rec("2.9 package without its library: LoadError", "no extension library" in probe.stdout and
        "make python" in probe.stdout, probe.stdout + probe.stderr)
    for row in out:
        print(json.dumps(row))


def outside(db_path):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import docs_test      # with_outputs() and matches(): the docs' own rules
    wheels = glob.glob(os.path.join(ROOT, "build", "python", "dist", "mlrec-*.whl"))
    check("1.0 one wheel in build/python/dist (make python)", len(wheels) == 1, wheels)
    if len(wheels) != 1:
        return
    os.makedirs(os.path.join(ROOT, "tests", "tmp"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="python-package-", dir=os.path.join(ROOT, "tests", "tmp"))
    try:
        venv, app = os.path.join(work, "venv"), os.path.join(work, "app")
        py = os.path.join(venv, "bin", "python")
        os.mkdir(app)
        os.symlink(db_path, os.path.join(app, "movielens.db"))
        made = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                               "--without-pip", venv], capture_output=True, text=True)
        check("1.1 venv", made.returncode == 0, made.stderr)
        pip = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet",
                              "--disable-pip-version-check", wheels[0]],
                             capture_output=True, text=True, cwd=app)
        check("1.2 pip install the wheel, offline", pip.returncode == 0, pip.stdout + pip.stderr)
        if made.returncode or pip.returncode:
            return
        blocks = 0
        for doc in ("README.md", "docs/python.md"):
            for info, start, text, expected in docs_test.with_outputs(os.path.join(ROOT, doc)):
                if info != "python" or "import mlrec" not in text:
                    continue
                blocks += 1
                script = os.path.join(app, f"block_{os.path.basename(doc)}_{start}.py")
                with open(script, "w", encoding="utf-8") as f:
                    f.write(text)
                run = subprocess.run([py, script], capture_output=True, text=True, cwd=app,
                                     env=dict(os.environ, PYTHONPATH=""))
                check(f"1.3 {doc}:{start} runs in the venv", run.returncode == 0, run.stderr)
                if expected is not None and run.returncode == 0:
                    check(f"1.4 {doc}:{start} prints what the page shows",
                          docs_test.matches(expected, run.stdout),
                          f"expected:\n{expected}got:\n{run.stdout}")
        check("1.5 README.md and docs/python.md have examples with import mlrec", blocks >= 3,
              f"{blocks} blocks")
        run = subprocess.run([py, os.path.abspath(__file__), "--inside", db_path],
                             capture_output=True, text=True, cwd=app,
                             env=dict(os.environ, PYTHONPATH=""))
        rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("[")]
        check("2.0 package checks run", run.returncode == 0 and len(rows) == 9,
              run.stdout + run.stderr)
        for name, ok, detail in rows:
            check(name, ok, detail)
        # A real Python without extension loading, where there is one (pyenv's, on some
        # machines; not on CI): the same LoadError, through the installed package.
        other = shutil.which("python3")
        if other and os.path.realpath(other) != os.path.realpath("/usr/bin/python3"):
            site = subprocess.run([py, "-c", "import mlrec, os; "
                                   "print(os.path.dirname(os.path.dirname(mlrec.__file__)))"],
                                  capture_output=True, text=True, cwd=app).stdout.strip()
            probe = subprocess.run(
                [other, "-c", "import sqlite3, mlrec\ntry:\n  mlrec.load(sqlite3.connect("
                 "'movielens.db'))\n  print('loaded')\nexcept mlrec.LoadError as e:\n  print(e)"],
                capture_output=True, text=True, cwd=app, env=dict(os.environ, PYTHONPATH=site))
            if "loaded" not in probe.stdout:
                check("2.10 a real Python without extension loading: LoadError",
                      "--enable-loadable-sqlite-extensions" in probe.stdout,
                      probe.stdout + probe.stderr)
        gone = subprocess.run([py, "-m", "pip", "uninstall", "--yes", "--quiet", "mlrec"],
                              capture_output=True, text=True, cwd=app)
        left = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "mlrec*"))
        check("3.1 pip uninstall removes the package and its library",
              gone.returncode == 0 and not left, gone.stderr + str(left))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return 0
    db_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                              os.path.join(ROOT, "movielens.db"))
    if not os.path.exists(db_path):
        check("0 movielens.db", False, f"{db_path} is missing (make movielens.db)")
    else:
        outside(db_path)
    print(f"packages/python: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
