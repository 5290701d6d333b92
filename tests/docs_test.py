#!/usr/bin/env python3
"""docs_test.py: every example in the documentation runs, and shows what it prints.

The documentation is README.md, ARCHITECTURE.md and every docs/*.md page.  Its conventions
(docs/testing.md, "Writing docs", says the same for writers):

1. Every ```sql block is executed, in document order, in ONE sqlite3 shell session per page, on a
   fresh scratch copy of movielens.db, with mlrec already loaded (a `.load ./mlrec` line is
   harmless).  State carries over from block to block of a page: a model trained in one block
   serves the next, but nothing carries over from one page to another.  So examples must run as
   written: create the tables they use (TEMP tables are best), train what they need, and undo
   what would disturb later blocks (e.g. mlrec_config back to the defaults).
2. A statement must not fail, unless it ends with `--> error: <message>` (the error code the
   shell adds in parentheses does not count).
3. `--> <output>` after a statement's `;` (same line) states what it prints in the shell's list
   mode: columns joined by `|`, rows joined by one space.  `...` matches any text.
4. A ```output block right after a code block states what its LAST statement prints (sql) or what
   the whole program prints (python, js): as the sqlite3 shell shows it in list mode, or in
   column mode with headers when the block's second line is made of dashes.  Trailing spaces
   do not count; `...` matches any text (timings, dates, the middle of a long line).
5. ```python blocks run with Debian's /usr/bin/python3 and ```js blocks with node (better-sqlite3
   from tests/clients/node_modules), from the repository root with movielens.db there; they must
   exit with status 0.  `import mlrec` and `require('mlrec')` find the packages that `make python`
   and `make node` build (PYTHONPATH=build/python/src, NODE_PATH adds build/node/modules).
6. Blocks in any other language (sh, c, tcl, text, ...) are not run.  Use ```text for output
   that is only an illustration.

7. Every error message of the C sources (ext/ and its sub-folders: the format strings of
   mlrecSetError(), and those of sqlite3_mprintf() and sqlite3_str_appendf() that read
   "name: message") must appear in docs/errors.md, as an example (`--> error: ...`) or in the
   text.  A new error message needs its line there.

8. Every link leads somewhere: `[text](#anchor)` to a heading of the same page, and a relative
   link (`docs/x.md`, `x.md#anchor`, `../README.md`, `../ARCHITECTURE.md#tests`, a picture or a
   folder) to a file or folder of the repository and, with an anchor, to a heading of that
   page (anchors as GitHub makes them: lower case, punctuation dropped, spaces turned into
   hyphens).  Links with a scheme (https:) are not followed.

Each statement, program, output block, error message and link is one test.  Two more: the
scripts of docs/ run: learning_curve.sh, which draws docs/train_mf.md's picture, writes an SVG,
and scale.sh, which measures docs/performance.md's "Limits and scale" numbers, runs on a small
table.
Prints "docs: N passed, N failed".
Usage (from the repository root): /usr/bin/python3 tests/docs_test.py [movielens.db]
"""
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "movielens.db"))
TMP = os.path.join(ROOT, "tests", "tmp", "docs")
RUN = {"sql", "python", "js"}
ERRORS_PAGE = "docs/errors.md"
passed = failed = 0


def report(ok, where, what, expected=None, got=None):
    global passed, failed
    if ok:
        passed += 1
        return
    failed += 1
    print(f"FAIL docs {where}: {what}")
    if expected is not None:
        print("  expected: " + expected.replace("\n", "\n            "))
        print("  got:      " + got.replace("\n", "\n            "))


def blocks(path):
    """[(info, first line number, text)] of the fenced code blocks of a Markdown file."""
    out = []
    info = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            fence = re.match(r"^```\s*([\w+-]*)\s*$", line)
            if info is None and fence:
                info, start, text = fence.group(1).lower(), n + 1, []
            elif info is not None and line.rstrip() == "```":
                out.append((info, start, "".join(text)))
                info = None
            elif info is not None:
                text.append(line)
    return out


def with_outputs(path):
    """[(info, line, text, expected output or None)] of the runnable blocks of a document."""
    bs = blocks(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    for i, (info, start, text) in enumerate(bs):
        if info not in RUN:
            continue
        expected = None
        if i + 1 < len(bs) and bs[i + 1][0] == "output":
            # only blank lines may separate the code from its output
            end = start + text.count("\n")          # line of the closing fence
            between = lines[end:bs[i + 1][1] - 2]
            if all(not s.strip() for s in between):
                expected = bs[i + 1][2]
        out.append((info, start, text, expected))
    return out


def matches(expected, got):
    """expected (with `...` wildcards) equals got, ignoring trailing spaces on each line."""
    def norm(s):
        return "\n".join(line.rstrip() for line in s.strip("\n").split("\n"))
    pattern = ".*".join(re.escape(part) for part in norm(expected).split("..."))
    return re.fullmatch(pattern, norm(got), re.S) is not None


def statements(text, first_line):
    """[(line number, text)]: the statements and dot-commands of a sql block."""
    out, buf, start = [], "", None
    for n, line in enumerate(text.split("\n"), first_line):
        if not buf:
            stripped = line.strip()
            if not stripped or stripped.startswith("--"):
                continue
            start = n
            if stripped.startswith("."):
                out.append((n, line))
                continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append((start, buf))
            buf = ""
    if buf:
        out.append((start, buf))   # incomplete: run_sql reports it
    return out


def run_sql(doc, items):
    """Run the sql blocks of one document in one shell session and check them."""
    db = os.path.join(TMP, "docs.db")
    shutil.copyfile(DB, db)
    script, checks, line_of = [], [], []
    for start, text, expected in items:
        stmts = statements(text, start)
        for k, (line, stmt) in enumerate(stmts):
            if stmt.lstrip().startswith("."):
                script.append(stmt)
                continue
            if not sqlite3.complete_statement(stmt):
                report(False, f"{doc}:{line}", f"statement without its final ';': {stmt.strip()}")
                continue
            column = expected is not None and k == len(stmts) - 1 and \
                re.fullmatch(r"[- ]*-[- ]*", (expected.split("\n") + ["", ""])[1].strip()) is not None
            script.append(".headers on\n.mode column --wrap 0" if column else ".headers off\n.mode list")
            script.append(f".print @@{len(checks)}")
            first = len("\n".join(script).split("\n")) + 1
            script.append(stmt.rstrip("\n"))
            last = len("\n".join(script).split("\n"))
            inline = re.search(r"-->\s*(.*?)\s*$", stmt.rstrip("\n").split("\n")[-1])
            checks.append({"where": f"{doc}:{line}", "stmt": stmt.strip(),
                           "inline": inline.group(1) if inline else None,
                           "output": expected if k == len(stmts) - 1 else None})
            line_of.append((first, last))
    script_text = "\n".join(script) + "\n"
    proc = subprocess.run(["sqlite3", "-cmd", ".load ./mlrec", db], input=script_text,
                          capture_output=True, text=True, cwd=ROOT)
    outputs = {}
    current = None
    for line in proc.stdout.split("\n"):
        m = re.fullmatch(r"@@(\d+)", line)
        if m:
            current = int(m.group(1))
            outputs[current] = []
        elif current is not None:
            outputs[current].append(line)
    errors = {}
    for line in proc.stderr.split("\n"):
        m = re.match(r"(?:Parse|Runtime) error near line (\d+): (.*)", line)
        if m:
            n = int(m.group(1))
            for i, (first, last) in enumerate(line_of):
                if first <= n <= last:
                    # the shell adds "(code)" for codes other than SQLITE_ERROR
                    errors[i] = re.sub(r" \(\d+\)$", "", m.group(2))
        elif line.startswith("Error:"):
            report(False, doc, f"shell: {line}")
    for i, c in enumerate(checks):
        got = "\n".join(outputs.get(i, [])).strip("\n")
        error = errors.get(i)
        inline = c["inline"]
        if inline is not None and inline.startswith("error:"):
            report(error is not None and matches(inline[6:].strip(), error), c["where"],
                   c["stmt"], inline[6:].strip(), str(error))
            continue
        if error is not None:
            report(False, c["where"], f"{c['stmt']}\n  error: {error}")
            continue
        if inline is not None:
            report(matches(inline, got.replace("\n", " ")), c["where"], c["stmt"], inline,
                   got.replace("\n", " "))
        elif c["output"] is not None:
            report(matches(c["output"], got), c["where"], c["stmt"], c["output"].rstrip("\n"), got)
        else:
            report(True, c["where"], "")


def run_program(doc, info, start, text, expected):
    """Run a python or js block as a program and check its exit status and output."""
    ext = {"python": "py", "js": "js"}[info]
    path = os.path.join(TMP, f"block_{start}.{ext}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python", "src"),
               NODE_PATH=os.pathsep.join([os.path.join(ROOT, "tests", "clients", "node_modules"),
                                          os.path.join(ROOT, "build", "node", "modules")]))
    cmd = ["/usr/bin/python3", path] if info == "python" else ["node", path]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    where = f"{doc}:{start}"
    if proc.returncode != 0:
        report(False, where, f"{info} block exited with status {proc.returncode}\n{proc.stderr}")
    elif expected is not None:
        report(matches(expected, proc.stdout), where, f"output of the {info} block",
               expected.rstrip("\n"), proc.stdout.rstrip("\n"))
    else:
        report(True, where, "")


def error_formats():
    """[(where, format)]: the error messages of ext/**/*.c, as printf formats."""
    out = []
    literal = r'"(?:[^"\\]|\\.)*"'
    call = re.compile(r"(mlrecSetError\(\s*\w+\s*,|sqlite3_mprintf\(|sqlite3_str_appendf\(\s*\w+\s*,)"
                      r"\s*((?:" + literal + r"\s*)+)")
    for path in sorted(glob.glob(os.path.join(ROOT, "ext", "**", "*.c"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        for m in call.finditer(src):
            fmt = re.sub(r'\\(.)', r"\1", "".join(
                piece[1:-1] for piece in re.findall(literal, m.group(2))))
            if m.group(1).startswith("mlrecSetError") or re.match(r"(%s|[a-z_]+): |mlrec ", fmt):
                line = src.count("\n", 0, m.start()) + 1
                out.append((f"{os.path.relpath(path, ROOT)}:{line}", fmt))
    return out


def check_error_messages():
    """Every error format of the sources matches some text of docs/errors.md."""
    path = os.path.join(ROOT, ERRORS_PAGE)
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = " ".join(f.read().split())
    conv = re.compile(r"%[-+ #0!]*\d*(?:\.\d+)?(?:ll|l)?[a-zA-Z%]")
    formats = error_formats()
    report(len(formats) > 0, "ext/", "no error message found in the C sources")
    for where, fmt in formats:
        parts = conv.split(fmt)
        pattern = ".+?".join(r"\s+".join(re.escape(w) for w in part.split(" ")) for part in parts)
        report(re.search(pattern, text) is not None, where,
               f"error message not in {ERRORS_PAGE}: {fmt}")


def anchors_of(doc):
    """The anchors of the headings of a Markdown file, as GitHub makes them."""
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        text = outside_code(f.read())
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
            for h in re.findall(r"^#+\s+(.*?)\s*$", text, re.M)}


def outside_code(text):
    """text without its fenced code blocks and HTML comments."""
    return re.sub(r"^```.*?^```|<!--.*?-->", "", text, flags=re.S | re.M)


def check_links(doc):
    """Every link of doc leads to a heading of doc, or to a file (and heading) of the repository."""
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        text = outside_code(f.read())
    for target in re.findall(r"\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)", text):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue                                  # https:, mailto:: not followed
        path, _, anchor = target.partition("#")
        if path:
            dest = os.path.normpath(os.path.join(os.path.dirname(doc), path))
            full = os.path.join(ROOT, dest)
            if dest.startswith("..") or not os.path.exists(full):
                report(False, doc, f"link to {target}: no file {dest} in the repository")
                continue
        else:
            dest = doc
        if anchor:
            ok = dest.endswith(".md") and os.path.isfile(os.path.join(ROOT, dest)) and \
                anchor in anchors_of(dest)
            report(ok, doc, f"link to {target}: no heading #{anchor} in {dest}")
        else:
            report(True, doc, "")


def main():
    if not os.path.exists(DB):
        print(f"FAIL docs: MovieLens database {DB} is missing (make movielens.db)")
        print("docs: 0 passed, 1 failed")
        return 1
    os.makedirs(TMP, exist_ok=True)
    docs = [d for d in ("README.md", "ARCHITECTURE.md") if os.path.exists(os.path.join(ROOT, d))]
    docs += sorted(glob.glob("docs/*.md", root_dir=ROOT))
    for doc in docs:
        items = with_outputs(os.path.join(ROOT, doc))
        run_sql(doc, [(s, t, e) for info, s, t, e in items if info == "sql"])
        for info, start, text, expected in items:
            if info != "sql":
                run_program(doc, info, start, text, expected)
    for doc in docs:
        check_links(doc)
    check_error_messages()
    svg = os.path.join(TMP, "learning_curve.svg")
    proc = subprocess.run(["bash", "docs/learning_curve.sh", DB, svg], capture_output=True,
                          text=True, cwd=ROOT)
    head = open(svg, encoding="utf-8").read(300) if os.path.exists(svg) else ""
    report(proc.returncode == 0 and "<svg" in head, "docs/learning_curve.sh",
           f"status {proc.returncode}: {proc.stderr}")
    proc = subprocess.run(["bash", "docs/scale.sh", "20000", "200", "101"], capture_output=True,
                          text=True, cwd=ROOT)
    report(proc.returncode == 0 and proc.stdout.count("peak memory") == 6, "docs/scale.sh",
           f"status {proc.returncode}: {proc.stdout}{proc.stderr}")
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
