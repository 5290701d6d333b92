#!/usr/bin/python3
"""test_node.py: the Node.js package, installed the way a user installs it.

In fresh npm projects outside the checkout (tests/tmp/node-package-*), offline:
  1. `npm install build/node/mlrec-VERSION.tgz` (the tarball `make node` packed), then every
     ```js block of README.md and docs/node.md that requires mlrec runs there and prints what the
     page shows, with better-sqlite3 12 from tests/clients/node_modules (NODE_PATH; tests/run
     installs it once);
  2. the package's own checks: getLoadablePath() is the library installed with it, the package's
     version is the extension's, load() throws a TypeError for what is not a connection, a copy
     of the package without its library says so;
  3. `npm install /path/to/bindings/node` (a link to the checkout's folder) works the same.
Prints "packages/node: N passed, N failed"; exits 1 on any failure.
Usage (from the repository root): /usr/bin/python3 tests/packages/test_node.py [movielens.db]
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import docs_test  # noqa: E402  (with_outputs() and matches(): the docs' own rules)

passed = failed = 0
ENV = dict(os.environ, NODE_PATH=os.path.join(ROOT, "tests", "clients", "node_modules"),
           npm_config_audit="false", npm_config_fund="false", npm_config_update_notifier="false")

CHECKS = r"""
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const Database = require('better-sqlite3');
const mlrec = require('mlrec');
const out = [];
const rec = (name, ok, detail) => out.push([name, !!ok, String(detail === undefined ? '' : detail)]);
const file = mlrec.getLoadablePath();
const installed = path.join(process.cwd(), 'node_modules', 'mlrec');
rec('2.1 getLoadablePath() is the installed library',
    fs.realpathSync(file).startsWith(fs.realpathSync(installed)) && fs.existsSync(file) &&
    path.basename(file) === 'mlrec.so', file);
const db = new Database('movielens.db', { readonly: true });
mlrec.load(db);
const version = db.prepare('SELECT mlrec_version() AS v').get().v;
const pkg = require('mlrec/package.json');
rec('2.2 the package version is the extension\'s', pkg.version === version, `${pkg.version} ${version}`);
mlrec.load(db);
rec('2.3 load() twice', db.prepare('SELECT count(*) AS n FROM similar_movies(260, 3)').get().n === 3);
for (const [what, bad] of [['null', null], ['a file name', 'movielens.db'], ['{}', {}]]) {
  try { mlrec.load(bad); rec(`2.4 load(${what}): TypeError`, false, 'no error'); }
  catch (e) { rec(`2.4 load(${what}): TypeError`, e instanceof TypeError &&
                  /expected a better-sqlite3 Database/.test(e.message), e.message); }
}
const bare = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'mlrec-bare-'));
fs.copyFileSync(require.resolve('mlrec'), path.join(bare, 'index.js'));
try { require(path.join(bare, 'index.js')).getLoadablePath(); rec('2.5 no library', false, 'no error'); }
catch (e) { rec('2.5 a package without its library says so',
                /no extension library/.test(e.message) && /make node/.test(e.message), e.message); }
fs.rmSync(bare, { recursive: true });
for (const row of out) console.log(JSON.stringify(row));
"""


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL packages/node {name}" + (f"\n  {detail}".replace("\n", "\n  ")
                                                if detail else ""))


def project(work, name, db_path):
    app = os.path.join(work, name)
    os.makedirs(app)
    with open(os.path.join(app, "package.json"), "w") as f:
        json.dump({"name": name, "version": "1.0.0", "private": True}, f)
    os.symlink(db_path, os.path.join(app, "movielens.db"))
    return app


def npm_install(app, what, label):
    run = subprocess.run(["npm", "install", "--offline", "--no-audit", "--no-fund", what],
                         capture_output=True, text=True, cwd=app, env=ENV)
    check(f"{label} npm install {os.path.relpath(what, ROOT)}", run.returncode == 0,
          run.stdout + run.stderr)
    return run.returncode == 0


def examples(app, label):
    """Run the docs' js blocks that require mlrec in app; the number of blocks."""
    n = 0
    for doc in ("README.md", "docs/node.md"):
        for info, start, text, expected in docs_test.with_outputs(os.path.join(ROOT, doc)):
            if info != "js" or "require('mlrec')" not in text:
                continue
            n += 1
            script = os.path.join(app, f"block_{os.path.basename(doc)}_{start}.js")
            with open(script, "w", encoding="utf-8") as f:
                f.write(text)
            run = subprocess.run(["node", script], capture_output=True, text=True, cwd=app,
                                 env=ENV)
            check(f"{label} {doc}:{start} runs", run.returncode == 0, run.stderr)
            if expected is not None and run.returncode == 0:
                check(f"{label} {doc}:{start} prints what the page shows",
                      docs_test.matches(expected, run.stdout),
                      f"expected:\n{expected}got:\n{run.stdout}")
    return n


def main():
    db_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                              os.path.join(ROOT, "movielens.db"))
    tarballs = glob.glob(os.path.join(ROOT, "build", "node", "mlrec-*.tgz"))
    if not os.path.exists(db_path):
        check("0 movielens.db", False, f"{db_path} is missing (make movielens.db)")
    elif not os.path.isdir(os.path.join(ENV["NODE_PATH"], "better-sqlite3")):
        check("0 better-sqlite3", False, "no tests/clients/node_modules/better-sqlite3: "
              "npm ci --prefix tests/clients (tests/run does it)")
    elif len(tarballs) != 1:
        check("0 one tarball in build/node (make node)", False, tarballs)
    else:
        os.makedirs(os.path.join(ROOT, "tests", "tmp"), exist_ok=True)
        work = tempfile.mkdtemp(prefix="node-package-", dir=os.path.join(ROOT, "tests", "tmp"))
        try:
            app = project(work, "app", db_path)
            if npm_install(app, tarballs[0], "1.1"):
                n = examples(app, "1.2")
                check("1.3 README.md and docs/node.md have examples with require('mlrec')",
                      n >= 2, f"{n} blocks")
                with open(os.path.join(app, "checks.js"), "w") as f:
                    f.write(CHECKS)
                run = subprocess.run(["node", "checks.js"], capture_output=True, text=True,
                                     cwd=app, env=ENV)
                rows = [json.loads(line) for line in run.stdout.splitlines()
                        if line.startswith("[")]
                check("2.0 package checks run", run.returncode == 0 and len(rows) == 7,
                      run.stdout + run.stderr)
                for name, ok, detail in rows:
                    check(name, ok, detail)
            linked = project(work, "linked", db_path)
            if npm_install(linked, os.path.join(ROOT, "bindings", "node"), "3.1"):
                examples(linked, "3.2")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"packages/node: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
