#!/usr/bin/python3
"""test_web.py: the web page (web/server.py) in headless Chromium, driven through ChromeDriver.

Starts web/server.py on a scratch copy of movielens.db (with one more movie, whose title holds
quotes, angle brackets and markup), and Debian's chromium through chromedriver's WebDriver HTTP
API (Python's urllib: no package to install), then, as a user does it, with clicks and forms:
  1. the home page loads: the most rated movies (no ratings yet), no "because";
  2. a title search through the search form, a movie's page with its similar movies;
  3. a rating posted through a movie's form: back on the home page (POST, then redirect) the
     message says so, the list has changed and no longer holds the movie, and "because" names it;
     a second rating from the list's own form changes it again; the ratings are in the database;
  4. bad input, each with a clear message and nothing changed: a rating of 7 and an unknown movie
     posted through tampered forms, an unknown movie's page, an empty search and the search
     "><script>alert(1)</script>; the quoted title in search results, on its page and in the
     ratings: shown as text, no element injected (no script, b, img in the DOM, no alert);
  5. removing a rating and forgetting them all bring the lists back;
  6. without the browser: status codes (303, 400, 404, 405), no <script> in any page, the
     Content-Security-Policy, and page times (printed).
A screenshot of the home page with three ratings is saved (tests/tmp/web/web.png, or the path
of --screenshot: `--screenshot docs/web.png` redraws the docs' picture).
Fails, never skips, when chromium or chromedriver is missing (sh scripts/deps.sh installs them).
Prints "web: N passed, N failed"; exits 1 on any failure.
Usage (from the repository root, after make python):
  /usr/bin/python3 tests/web/test_web.py [movielens.db] [--screenshot PATH]
"""
import base64
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,1000", "--lang=en-US"]
USER = 0
EVIL_ID = 9000001
EVIL = 'The "Quoted" <b>Bold</b> & <script>alert(\'title\')</script> <img src=x onerror=alert(2)> (2024)'
ATTACK = '"><script>alert(1)</script>'
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL web {name}" + (f"\n  {detail}".replace("\n", "\n  ") if detail else ""))
    return ok


class WebDriver:
    """The few WebDriver commands the test needs, over HTTP."""

    def __init__(self, port, profile):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": CHROMIUM,
                                   "args": FLAGS + [f"--user-data-dir={profile}"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as err:
            value = json.loads(err.read() or b"{}").get("value", {})
            raise RuntimeError(f"WebDriver {method} {path}: {value.get('error')}: "
                               f"{str(value.get('message', ''))[:300]}") from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def find(self, css, within=None):
        where = f"/element/{within}" if within else ""
        return self.s("POST", f"{where}/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s("POST", "/elements",
                                            {"using": "css selector", "value": css})]

    def text(self, element):
        return self.s("GET", f"/element/{element}/text")

    def click(self, element):
        self.s("POST", f"/element/{element}/click", {})

    def follow(self, element):
        """Click a link or a form's button, and wait for the new page to load."""
        self.js("window.mlrecOldPage = true;")
        self.click(element)
        for _ in range(400):
            if self.js("return !window.mlrecOldPage && document.readyState === 'complete';"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no new page 20 s after a click, at {self.url()}")

    def type(self, element, text):
        self.s("POST", f"/element/{element}/clear", {})
        self.s("POST", f"/element/{element}/value", {"text": text})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        except Exception:
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(url, form=None):
    """(status, headers, body) of a GET, or of a POST of form, without following redirects."""
    data = None if form is None else urllib.parse.urlencode(form).encode()
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, data=data, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


# The page's lists, read from the DOM: [(movieId, title, because title or None)].
LISTS = """
const rows = document.querySelectorAll(arguments[0]);
return Array.from(rows, tr => {
  const links = tr.querySelectorAll('a');
  return [Number(new URL(links[0].href).searchParams.get('id')), links[0].textContent,
          links.length > 1 ? links[1].textContent : null];
});
"""
INJECTED = "return document.querySelectorAll('script, b, img, iframe, [onerror]').length;"


def recommendations(wd):
    return wd.js(LISTS, "#recommendations tbody tr")


def message(wd):
    found = wd.find_all("#message")
    return wd.text(found[0]) if found else None


def rate_on_movie_page(wd, stars):
    form = wd.find("form.rate")
    wd.click(wd.find(f'option[value="{stars}"]', form))
    wd.follow(wd.find("button", form))


def my_ratings(db_path):
    with sqlite3.connect(db_path) as db:
        return sorted(db.execute("SELECT movieId, rating FROM ratings WHERE userId = ?",
                                 (USER,)).fetchall())


def browser_tests(wd, base, db_path, shot):
    # 1. The home page, before any rating.
    wd.go(base)
    title = wd.s("GET", "/title")
    check("1.1 the home page loads", "Recommended for you" in title, title)
    before = recommendations(wd)
    check("1.2 ten movies, the most rated first, no because",
          len(before) == 10 and before[0][1] == "Forrest Gump (1994)" and
          all(b is None for _, _, b in before), before)
    check("1.3 no ratings yet", wd.text(wd.find("#my-ratings")) == "None yet.")

    # 2. Search through the form, then a movie's page and its similar movies.
    wd.type(wd.find('input[name="q"]'), "star wars")
    wd.follow(wd.find('form[role="search"] button'))
    check("2.1 the search form leads to /search", "/search?q=star+wars" in wd.url(), wd.url())
    results = wd.js(LISTS, "#results tbody tr")
    check("2.2 the Star Wars films, most rated first",
          len(results) >= 5 and results[0][:2] == [260, "Star Wars: Episode IV - A New Hope (1977)"],
          results)
    wd.follow(wd.find('#results a[href="/movie?id=260"]'))
    check("2.3 the movie's page", wd.text(wd.find("#title")) ==
          "Star Wars: Episode IV - A New Hope (1977)", wd.url())
    similar = wd.js(LISTS, "#similar tbody tr")
    check("2.4 similar movies", len(similar) == 10 and similar[0][:2] ==
          [1196, "Star Wars: Episode V - The Empire Strikes Back (1980)"], similar)

    # 3. Rate it: the list changes at once (fold-in, no retraining).
    rate_on_movie_page(wd, "5.0")
    check("3.1 POST, then redirected home", urllib.parse.urlsplit(wd.url()).path == "/", wd.url())
    check("3.2 the message says so", message(wd) == "You rated Star Wars: Episode IV - A New Hope "
          "(1977): 5.0 stars. The recommendations below count it already.", message(wd))
    after = recommendations(wd)
    check("3.3 the recommendations changed", [m for m, _, _ in after] !=
          [m for m, _, _ in before], after)
    check("3.4 the rated movie is not among them", 260 not in [m for m, _, _ in after], after)
    check("3.5 because names the rated movie", len(after) == 10 and all(
        b == "Star Wars: Episode IV - A New Hope (1977)" for _, _, b in after), after)
    check("3.6 the rating is in the database", my_ratings(db_path) == [(260, 5.0)],
          my_ratings(db_path))
    # A second rating, from the list's own form: the second movie of the list, 4.5 stars.
    second = after[1][0]
    row = wd.find_all("#recommendations tbody tr")[1]
    wd.click(wd.find('option[value="4.5"]', row))
    wd.follow(wd.find("button", row))
    after2 = recommendations(wd)
    check("3.7 rated from the list: the list changes again", second not in
          [m for m, _, _ in after2] and [m for m, _, _ in after2] != [m for m, _, _ in after],
          after2)
    mine = [t for _, t, _ in wd.js(LISTS, "#my-ratings tbody tr")]
    check("3.8 the ratings table on the page", sorted(mine) == sorted(
        [after[1][1], "Star Wars: Episode IV - A New Hope (1977)"]), mine)
    wd.go(base + "movie?id=1196")
    rate_on_movie_page(wd, "4.0")
    after3 = recommendations(wd)
    becauses = {b for _, _, b in after3}
    # (three alike movies: the one rated highest weighs most in every score)
    check("3.9 three ratings: because names the user's own, the 5-star one among them",
          "Star Wars: Episode IV - A New Hope (1977)" in becauses and
          becauses <= {"Star Wars: Episode IV - A New Hope (1977)", after[1][1],
                       "Star Wars: Episode V - The Empire Strikes Back (1980)"}, after3)
    wd.screenshot(shot)
    with open(shot, "rb") as f:
        png = f.read()
    check("3.10 screenshot", png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, len(png))
    rated = my_ratings(db_path)
    other = [m for m in (318, 356, 296, 593) if m not in dict(rated)][0]     # not rated yet

    # 4. Bad input: a clear message, nothing changed, nothing injected.
    wd.go(base + f"movie?id={other}")
    wd.js("const o = document.querySelector('form.rate option[value=\"5.0\"]');"
          "o.value = '7'; o.selected = true;")
    wd.follow(wd.find("form.rate button"))
    check("4.1 rating 7: a clear message", message(wd) == "A rating is 0.5 to 5 stars, in half "
          "stars (0.5, 1, 1.5, ... 5); “7” is not one.", message(wd))
    wd.go(base + f"movie?id={other}")
    wd.follow(wd.find('form.rate button'))
    check("4.2 no rating chosen: a clear message",
          message(wd) == "Choose a rating first: 0.5 to 5 stars.", message(wd))
    wd.go(base + f"movie?id={other}")
    wd.js("document.querySelector('form.rate input[name=movie]').value = '99999999';")
    rate_on_movie_page(wd, "4.0")
    check("4.3 rating an unknown movie: a clear message",
          message(wd) == "There is no movie 99999999 in the database.",
          f"{message(wd)} at {wd.url()}: {wd.text(wd.find('body'))[:300]}")
    check("4.4 nothing was rated", my_ratings(db_path) == rated, my_ratings(db_path))
    wd.go(base + "movie?id=99999999")
    check("4.5 an unknown movie's page", message(wd) ==
          "There is no movie 99999999 in the database.", message(wd))
    wd.go(base + "movie?id=abc")
    check("4.6 a movie id that is no number", message(wd) ==
          "A movie id is a whole number, such as 260; “abc” is not one.", message(wd))
    wd.go(base)
    wd.type(wd.find('input[name="q"]'), "   ")
    wd.follow(wd.find('form[role="search"] button'))
    check("4.7 an empty search", message(wd) ==
          "Type a part of a title to search, e.g. star wars.", message(wd))
    wd.type(wd.find('input[name="q"]'), ATTACK)
    wd.follow(wd.find('form[role="search"] button'))
    check("4.8 the search " + ATTACK + ": a clear message", message(wd) ==
          f"No movie title contains “{ATTACK}”. Try fewer words, or part of one.", message(wd))
    check("4.9 ... nothing injected", wd.js(INJECTED) == 0)
    check("4.10 ... the search box holds it as typed",
          wd.js("return document.querySelector('input[name=q]').value;") == ATTACK)
    wd.type(wd.find('input[name="q"]'), '"Quoted" <b>')
    wd.follow(wd.find('form[role="search"] button'))
    results = wd.js(LISTS, "#results tbody tr")
    check("4.11 a title with quotes and markup, found and shown as text",
          results == [[EVIL_ID, EVIL, None]], results)
    check("4.12 ... nothing injected", wd.js(INJECTED) == 0)
    wd.follow(wd.find(f'#results a[href="/movie?id={EVIL_ID}"]'))
    check("4.13 its page, its title as text", wd.text(wd.find("#title")) == EVIL and
          wd.js(INJECTED) == 0 and EVIL in wd.s("GET", "/title"), wd.s("GET", "/title"))
    check("4.14 no rating yet: similar by genres and tags",
          len(wd.js(LISTS, "#similar tbody tr")) == 10 and
          "Nobody has rated this movie yet" in wd.text(wd.find("main")))
    rate_on_movie_page(wd, "3.5")
    check("4.15 rated: the message and the ratings show the title as text",
          message(wd).startswith(f"You rated {EVIL}: 3.5 stars.") and
          EVIL in [t for _, t, _ in wd.js(LISTS, "#my-ratings tbody tr")] and
          wd.js(INJECTED) == 0, message(wd))

    # 5. Remove one rating, then all: the lists follow.
    row = [r for r in wd.find_all("#my-ratings tbody tr") if EVIL in wd.text(r)][0]
    wd.follow(wd.find("button", row))
    check("5.1 removed", message(wd) == f"Your rating of {EVIL} is gone, and so is its weight in "
          "the recommendations." and my_ratings(db_path) == rated, message(wd))
    check("5.2 the list is the one of the three ratings again", recommendations(wd) == after3,
          recommendations(wd))
    wd.follow(wd.find('form[action="/reset"] button'))
    check("5.3 all forgotten: the most rated movies again", message(wd) ==
          "All your ratings are gone: you are a new user again." and
          recommendations(wd) == before and my_ratings(db_path) == [], recommendations(wd))


def plain_http_tests(base, db_path):
    status, headers, body = http(base + "rate", {"movie": "2571", "rating": "4.5"})
    check("6.1 POST /rate: 303 to the home page", status == 303 and
          headers["Location"] == "/?done=rated&movie=2571", (status, headers.get("Location")))
    for path, form, code in [("rate", {"movie": "2571", "rating": "7"}, 400),
                             ("rate", {"movie": "2571", "rating": "nan"}, 400),
                             ("rate", {"movie": "99999999", "rating": "4"}, 404),
                             ("rate", {"rating": "4"}, 400),
                             ("movie?id=99999999", None, 404), ("movie?id=-1", None, 400),
                             ("nothing-here", None, 404), ("rate", None, 405),
                             ("search?q=" + "x" * 300, None, 400)]:
        status, _, body = http(base + path, form)
        check(f"6.2 {'POST' if form else 'GET'} /{path[:40]} {form or ''}: {code}",
              status == code and 'class="msg error"' in body, (status, body[-300:]))
    pages = ["", "search?q=matrix", "movie?id=2571", f"movie?id={EVIL_ID}",
             "search?q=" + urllib.parse.quote(ATTACK)]
    for path in pages:
        status, headers, body = http(base + path)
        check(f"6.3 /{path}: no script, a CSP without scripts", status == 200 and
              "<script" not in body.lower() and "default-src 'none'" in
              headers.get("Content-Security-Policy", ""), (status, dict(headers)))
    # Page times: warm, and the first request on each connection after a rating.
    times = {}
    for path in ["", "search?q=star", "movie?id=260"]:
        samples = []
        for _ in range(15):
            t0 = time.perf_counter()
            http(base + path)
            samples.append((time.perf_counter() - t0) * 1000)
        times[path or "home"] = statistics.median(samples)
    after_rating = []
    for stars in ("4.0", "3.5", "4.0"):
        http(base + "rate", {"movie": "2571", "rating": stars})
        t0 = time.perf_counter()
        http(base)
        after_rating.append((time.perf_counter() - t0) * 1000)
    print("web: page times, median of 15 (ms): " +
          ", ".join(f"{k} {v:.1f}" for k, v in times.items()) +
          "; the home page right after a rating: " + ", ".join(f"{t:.0f}" for t in after_rating))
    check("6.4 pages in under a second", max(list(times.values()) + after_rating) < 1000, times)


def main():
    args = sys.argv[1:]
    shot = os.path.join(ROOT, "tests", "tmp", "web", "web.png")
    if "--screenshot" in args:
        i = args.index("--screenshot")
        shot = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    db_src = os.path.abspath(args[0] if args else os.path.join(ROOT, "movielens.db"))
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        check("0 chromium", False, f"no {' and no '.join(missing)}: install Debian's chromium "
              "and chromium-driver (sh scripts/deps.sh does)")
    elif not os.path.exists(db_src):
        check("0 movielens.db", False, f"{db_src} is missing (make movielens.db)")
    elif not os.path.isfile(os.path.join(ROOT, "build", "python", "src", "mlrec", "__init__.py")):
        check("0 the mlrec Python package", False, "build/python/src is missing (make python)")
    else:
        run(db_src, shot)
    print(f"web: {passed} passed, {failed} failed")
    return 1 if failed else 0


def run(db_src, shot):
    os.makedirs(os.path.dirname(shot), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "tests", "tmp"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="web-", dir=os.path.join(ROOT, "tests", "tmp"))
    db_path = os.path.join(work, "web.db")
    shutil.copyfile(db_src, db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO movies VALUES (?, ?, 'Comedy|Drama')", (EVIL_ID, EVIL))
    server = driver = wd = None
    try:
        server = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "web", "server.py"), "--db", db_path,
             "--port", "0", "--user", str(USER)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python", "src")))
        first = server.stdout.readline()
        if not check("0.1 the server starts and prints its URL", "http://127.0.0.1:" in first,
                     first + (server.stdout.read() if server.poll() is not None else "")):
            return
        base = first.split()[2]
        print("web: " + first.strip())
        log = []      # the server's lines, one per request: read, so that its pipe never fills
        threading.Thread(target=lambda: log.extend(server.stdout), daemon=True).start()
        port = free_port()
        driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as r:
                    if json.loads(r.read())["value"]["ready"]:
                        break
            except OSError:
                time.sleep(0.1)
        wd = WebDriver(port, os.path.join(work, "profile"))
        try:
            browser_tests(wd, base, db_path, shot)
        except Exception:     # a WebDriver command failed (no such element, an alert), or worse
            check("browser tests ran to the end", False, traceback.format_exc())
        plain_http_tests(base, db_path)
    finally:
        if wd:
            wd.quit()
        for p in (driver, server):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
