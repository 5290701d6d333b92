#!/usr/bin/python3
"""web/server.py: a small web page on mlrec, with Python's standard library only.

Search a movie by title, rate a few, and see your recommendations, and the movie of yours each
one comes from ("because"), change at once: the ratings go into the ratings table of the
database as those of one user (--user, 0 by default: MovieLens' users start at 1), and
recommend() folds them in at query time, without retraining.  Every movie's page lists the
movies like it.  Server-rendered HTML, no JavaScript: forms, and a redirect after each POST.

    make serve                       # copies movielens.db to web.db once, then runs this
    /usr/bin/python3 web/server.py --db web.db --port 8000

Options: --db (default web.db), --host (127.0.0.1), --port (8000; 0 picks a free port),
--user (0), --connections (2).  The server prints its URL, then one line per request with its
time.  It needs a Python whose sqlite3 module can load extensions (Debian's /usr/bin/python3)
and the mlrec Python package: `make serve` builds it (make python) and puts it on PYTHONPATH.

How it works: a ThreadingHTTPServer; a pool of --connections SQLite connections, each with
mlrec loaded and its models trained once at start-up (train_ranker() for recommend(),
train_mf() for predict(), the similarity index for similar_movies()), since the models live in
the memory of the connection that trained them.  A request borrows one connection.  Every
value written into a page goes through html.escape, every value into SQL is a bound parameter,
and the pages are sent with a Content-Security-Policy that allows no script at all.
"""
import argparse
import contextlib
import html
import os
import queue
import sqlite3
import sys
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import mlrec
except ImportError:
    sys.exit("web/server.py: no mlrec Python package: run `make serve`, or `make python` and "
             "PYTHONPATH=build/python/src, or install the wheel (docs/python.md)")

HALVES = [n / 2 for n in range(1, 11)]           # 0.5, 1.0, ..., 5.0: MovieLens' scale
MAX_QUERY = 200                                  # characters of a title search
MAX_BODY = 10_000                                # bytes of a form
SEARCH_ROWS = 25
LIST_ROWS = 10


def e(value):
    """A value as HTML text (quotes escaped too: safe inside attribute values)."""
    return html.escape(str(value), quote=True)


def stars(r):
    return f"{r:.1f}"


class BadInput(Exception):
    """A request the page answers with a message: status, then the message (plain text)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Pool:
    """A few connections with mlrec loaded and trained, lent to one request at a time."""

    def __init__(self, path, size):
        self.connections = queue.Queue()
        for _ in range(size):
            self.connections.put(self.open(path))

    @staticmethod
    def open(path):
        if not os.path.exists(path):
            sys.exit(f"web/server.py: no database {path} (make serve copies movielens.db there)")
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        mlrec.load(db)
        db.execute("SELECT train_ranker()").fetchall()         # recommend()'s model
        db.execute("SELECT train_mf()").fetchall()             # predict()'s model
        db.execute("SELECT count(*) FROM similar_movies(1, 1)").fetchall()   # the index
        return db

    @contextlib.contextmanager
    def connection(self):
        db = self.connections.get()
        try:
            yield db
        finally:
            self.connections.put(db)


# ---- the pages ---------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 76em; padding: 0 1em 2em;
       color: #222; }
header { display: flex; gap: 1.5em; align-items: baseline; border-bottom: 1px solid #ccc;
         padding: .6em 0; margin-bottom: 1em; flex-wrap: wrap; }
header a.home { font-weight: 700; font-size: 1.2em; text-decoration: none; color: #222; }
h1 { font-size: 1.4em; margin: .4em 0; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { font-weight: 600; font-size: .9em; color: #555; }
td.n { text-align: right; font-variant-numeric: tabular-nums; width: 3em; }
.msg { padding: .5em .8em; border-radius: 4px; margin: .5em 0; }
.ok { background: #e7f5e7; border: 1px solid #9c9; }
.error { background: #fdeaea; border: 1px solid #d99; }
.note { color: #666; font-size: .9em; }
.cols { display: grid; grid-template-columns: minmax(0, 2.3fr) minmax(0, 1fr); gap: 2em; }
form.inline { display: inline; margin: 0; white-space: nowrap; }
footer { margin-top: 2em; color: #777; font-size: .85em; border-top: 1px solid #eee;
         padding-top: .5em; }
@media (max-width: 50em) { .cols { grid-template-columns: 1fr; } }
"""


def page(title, body, query=""):
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · mlrec</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<a class="home" href="/">mlrec movies</a>
<form action="/search" method="get" role="search">
<input type="search" name="q" value="{e(query)}" placeholder="a title, e.g. star wars"
 aria-label="Search a movie by title" maxlength="{MAX_QUERY}" size="32">
<button type="submit">Search</button>
</form>
<a href="/">Your recommendations</a>
</header>
<main>
{body}
</main>
<footer>mlrec {e(mlrec_version)}: the recommendations come from recommend() in SQLite, with
your ratings folded in at query time; the models were trained once, when the server started.
</footer>
</body>
</html>
"""


def message(kind, text):
    """A message box; text is plain text (escaped here)."""
    role = ' role="alert"' if kind == "error" else ' role="status"'
    return f'<p class="msg {kind}" id="message"{role}>{e(text)}</p>'


def movie_link(movie_id, title):
    return f'<a href="/movie?id={int(movie_id)}">{e(title)}</a>'


def rate_form(movie_id, current=None, label="Rate"):
    options = "".join(
        f'<option value="{stars(r)}"{" selected" if current == r else ""}>{stars(r)}</option>'
        for r in HALVES)
    return (f'<form class="inline rate" action="/rate" method="post">'
            f'<input type="hidden" name="movie" value="{int(movie_id)}">'
            f'<select name="rating" aria-label="Your rating, 0.5 to 5 stars">'
            f'<option value="">stars</option>{options}</select> '
            f'<button type="submit">{e(label)}</button></form>')


def my_ratings(db, user):
    return db.execute(
        "SELECT r.movieId, m.title, r.rating FROM ratings r JOIN movies m USING (movieId)"
        " WHERE r.userId = ? ORDER BY r.timestamp DESC, m.title", (user,)).fetchall()


def home(db, user, params):
    parts = []
    flash = params.get("done", [""])[0]
    movie = params.get("movie", [""])[0]
    title = None
    if movie.isdigit():
        row = db.execute("SELECT title FROM movies WHERE movieId = ?", (int(movie),)).fetchone()
        title = row[0] if row else None
    mine = my_ratings(db, user)
    rated = {m: r for m, _, r in mine}
    if flash == "rated" and title is not None and int(movie) in rated:
        parts.append(message("ok", f"You rated {title}: {stars(rated[int(movie)])} stars. "
                                   "The recommendations below count it already."))
    elif flash == "removed" and title is not None:
        parts.append(message("ok", f"Your rating of {title} is gone, and so is its weight in "
                                   "the recommendations."))
    elif flash == "cleared":
        parts.append(message("ok", "All your ratings are gone: you are a new user again."))

    t0 = time.perf_counter()
    recs = db.execute(
        "SELECT r.rank, r.movieId, m.title, r.because, b.title FROM recommend(?, ?) r"
        " JOIN movies m USING (movieId) LEFT JOIN movies b ON b.movieId = r.because"
        " ORDER BY r.rank", (user, LIST_ROWS)).fetchall()
    ms = (time.perf_counter() - t0) * 1000
    personal = any(r[3] is not None for r in recs)
    rows = "".join(
        f'<tr><td class="n">{rank}</td><td>{movie_link(mid, t)}</td>'
        f'<td>{movie_link(bid, bt) if bid is not None else "<span class=note>most rated</span>"}'
        f'</td><td>{rate_form(mid)}</td></tr>'
        for rank, mid, t, bid, bt in recs)
    if personal:
        intro = ("The movies you have not rated that the ranking model puts first for you, and "
                 "the movie you rated that weighed most for each (because).")
    else:
        intro = ("You have rated no movie yet, so these are the most rated ones. Rate a few "
                 "(search a title above, or rate one of these) and this list becomes yours, "
                 "at once.")
    parts.append(f"""<div class="cols">
<section>
<h1>Recommended for you</h1>
<p class="note">{e(intro)}</p>
<table id="recommendations">
<thead><tr><th>#</th><th>movie</th><th>because you rated</th><th>rate it</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<p class="note">recommend({int(user)}, {LIST_ROWS}): {ms:.1f} ms.</p>
</section>
""")
    if mine:
        rows = "".join(
            f'<tr><td>{movie_link(mid, t)}</td><td class="n">{stars(r)}</td>'
            f'<td><form class="inline" action="/unrate" method="post">'
            f'<input type="hidden" name="movie" value="{int(mid)}">'
            f'<button type="submit">Remove</button></form></td></tr>'
            for mid, t, r in mine)
        parts.append(f"""<section>
<h2>Your ratings ({len(mine)})</h2>
<table id="my-ratings">
<thead><tr><th>movie</th><th>stars</th><th></th></tr></thead>
<tbody>{rows}</tbody>
</table>
<form action="/reset" method="post"><p><button type="submit">Forget all my ratings</button></p>
</form>
</section>
</div>""")
    else:
        parts.append("""<section>
<h2>Your ratings</h2>
<p class="note" id="my-ratings">None yet.</p>
</section>
</div>""")
    return page("Recommended for you", "\n".join(parts))


def search(db, user, params):
    q = params.get("q", [""])[0]
    if len(q) > MAX_QUERY:
        raise BadInput(HTTPStatus.BAD_REQUEST,
                       f"That search is {len(q)} characters long: at most {MAX_QUERY}, please.")
    words = q.strip()
    if not words:
        return page("Search", message("error", "Type a part of a title to search, e.g. "
                                               "star wars."), q)
    like = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = db.execute(
        "SELECT m.movieId, m.title, m.genres,"
        "       (SELECT count(*) FROM ratings r WHERE r.movieId = m.movieId) AS n,"
        "       (SELECT rating FROM ratings r WHERE r.userId = ? AND r.movieId = m.movieId)"
        "  FROM movies m WHERE m.title LIKE ? ESCAPE '\\'"
        " ORDER BY n DESC, m.title LIMIT ?", (user, like, SEARCH_ROWS + 1)).fetchall()
    if not rows:
        body = message("error", f"No movie title contains “{words}”. Try fewer words, or "
                                "part of one.")
        return page("Search", body, q)
    more = len(rows) > SEARCH_ROWS
    rows = rows[:SEARCH_ROWS]
    table = "".join(
        f'<tr><td>{movie_link(mid, t)}<br><span class="note">{e(g.replace("|", ", "))}'
        f'</span></td><td class="n">{n}</td>'
        f'<td>{rate_form(mid, mine, "Change" if mine is not None else "Rate")}'
        f'{f" <span class=note>you: {stars(mine)}</span>" if mine is not None else ""}</td></tr>'
        for mid, t, g, n, mine in rows)
    note = (f"The {SEARCH_ROWS} most rated of the titles that contain it." if more else
            f"{len(rows)} title{'s' if len(rows) != 1 else ''}, most rated first.")
    body = f"""<h1>Titles with “{e(words)}”</h1>
<p class="note">{e(note)}</p>
<table id="results">
<thead><tr><th>movie</th><th>ratings</th><th>your rating</th></tr></thead>
<tbody>{table}</tbody>
</table>"""
    return page(f"Search: {words}", body, q)


def parse_movie_id(db, raw):
    """The id of a movie of the movies table, from a form or URL value; BadInput otherwise."""
    raw = raw.strip()
    if not raw:
        raise BadInput(HTTPStatus.BAD_REQUEST, "Which movie? The request names none.")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BadInput(HTTPStatus.BAD_REQUEST,
                       f"A movie id is a whole number, such as 260; “{raw[:60]}” is not one.")
    row = db.execute("SELECT movieId, title, genres FROM movies WHERE movieId = ?",
                     (int(raw),)).fetchone()
    if row is None:
        raise BadInput(HTTPStatus.NOT_FOUND, f"There is no movie {int(raw)} in the database.")
    return row


def movie(db, user, params):
    mid, title, genres = parse_movie_id(db, params.get("id", [""])[0])
    n, mean = db.execute("SELECT count(*), avg(rating) FROM ratings WHERE movieId = ?",
                         (mid,)).fetchone()
    mine = db.execute("SELECT rating FROM ratings WHERE userId = ? AND movieId = ?",
                      (user, mid)).fetchone()
    predicted = db.execute("SELECT predict(?, ?)", (user, mid)).fetchone()[0]
    similar = db.execute(
        "SELECT s.rank, s.movieId, m.title, s.score, s.corated FROM similar_movies(?, ?) s"
        " JOIN movies m USING (movieId) ORDER BY s.rank", (mid, LIST_ROWS)).fetchall()
    how = ("Rated alike: the cosine of the two movies' ratings (1: the same users, rating "
           "alike), and how many users rated both.")
    if not similar:
        similar = db.execute(
            "SELECT s.rank, s.movieId, m.title, s.score, NULL FROM similar_movies(?, ?, "
            "'{\"method\": \"content\"}') s JOIN movies m USING (movieId) ORDER BY s.rank",
            (mid, LIST_ROWS)).fetchall()
        how = ("Nobody has rated this movie yet, so these share its genres and tags (the "
               "cosine of their genre and tag vectors).")
    rows = "".join(
        f'<tr><td class="n">{rank}</td><td>{movie_link(sid, t)}</td>'
        f'<td class="n">{score:.3f}</td><td class="n">{"" if c is None else c}</td></tr>'
        for rank, sid, t, score, c in similar)
    stats = (f"{n} rating{'s' if n != 1 else ''}, {mean:.2f} stars on average" if n else
             "no rating yet")
    yours = (f"You rated it {stars(mine[0])} stars." if mine else
             f"mlrec predicts you would give it {predicted:.1f} stars (predict()).")
    body = f"""<h1 id="title">{e(title)}</h1>
<p>{e(genres.replace("|", ", "))} · {e(stats)}</p>
<p>{e(yours)} {rate_form(mid, mine[0] if mine else None, "Change" if mine else "Rate")}</p>
<h2>Movies like this</h2>
<p class="note">{e(how)}</p>
<table id="similar">
<thead><tr><th>#</th><th>movie</th><th>score</th><th>rated both</th></tr></thead>
<tbody>{rows}</tbody>
</table>
{"" if rows else '<p class="note">None found.</p>'}"""
    return page(title, body)


def parse_rating(raw):
    raw = raw.strip()
    if not raw:
        raise BadInput(HTTPStatus.BAD_REQUEST, "Choose a rating first: 0.5 to 5 stars.")
    try:
        r = float(raw)
    except ValueError:
        r = None
    if r is None or r not in HALVES:
        raise BadInput(HTTPStatus.BAD_REQUEST,
                       f"A rating is 0.5 to 5 stars, in half stars (0.5, 1, 1.5, ... 5); "
                       f"“{raw[:60]}” is not one.")
    return r


def rate(db, user, form):
    mid = parse_movie_id(db, form.get("movie", [""])[0])[0]
    r = parse_rating(form.get("rating", [""])[0])
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM ratings WHERE userId = ? AND movieId = ?", (user, mid))
        db.execute("INSERT INTO ratings (userId, movieId, rating, timestamp) VALUES (?, ?, ?, ?)",
                   (user, mid, r, int(time.time())))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return "/?" + urllib.parse.urlencode({"done": "rated", "movie": mid})


def unrate(db, user, form):
    mid = parse_movie_id(db, form.get("movie", [""])[0])[0]
    db.execute("DELETE FROM ratings WHERE userId = ? AND movieId = ?", (user, mid))
    return "/?" + urllib.parse.urlencode({"done": "removed", "movie": mid})


def reset(db, user, form):
    db.execute("DELETE FROM ratings WHERE userId = ?", (user,))
    return "/?done=cleared"


GET = {"/": home, "/search": search, "/movie": movie}
POST = {"/rate": rate, "/unrate": unrate, "/reset": reset}


class Handler(BaseHTTPRequestHandler):
    server_version = "mlrec-web"
    pool = None
    user = 0

    def send(self, status, body=b"", content_type="text/html; charset=utf-8", location=None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                         "base-uri 'none'; frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def failure(self, status, text, query=""):
        body = message("error", text) + '\n<p><a href="/">Back to your recommendations</a></p>'
        self.send(status, page(HTTPStatus(status).phrase, body, query).encode())

    def handle_request(self, routes, form):
        self.t0 = time.perf_counter()
        url = urllib.parse.urlsplit(self.path)
        route = routes.get(url.path)
        if route is None:
            other = POST if routes is GET else GET
            if url.path in other:
                self.failure(HTTPStatus.METHOD_NOT_ALLOWED,
                             f"{url.path} takes a {'POST' if other is POST else 'GET'} request.")
            else:
                self.failure(HTTPStatus.NOT_FOUND, f"There is no page {url.path} here.")
            return
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            with self.pool.connection() as db:
                if form is None:
                    self.send(HTTPStatus.OK, route(db, self.user, params).encode())
                else:   # POST, then redirect to a page (GET): reloading it posts nothing again
                    self.send(HTTPStatus.SEE_OTHER, location=route(db, self.user, form))
        except BadInput as bad:
            self.failure(bad.status, bad.message, params.get("q", [""])[0][:MAX_QUERY])
        except sqlite3.Error as err:
            self.log_error("sqlite3: %s", err)
            self.failure(HTTPStatus.INTERNAL_SERVER_ERROR, f"The database failed: {err}")

    def do_GET(self):
        self.handle_request(GET, None)

    def do_HEAD(self):
        self.handle_request(GET, None)

    def do_POST(self):
        self.t0 = time.perf_counter()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.failure(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         f"A form of at most {MAX_BODY} bytes, please.")
            return
        raw = self.rfile.read(length).decode("utf-8", "replace")
        self.handle_request(POST, urllib.parse.parse_qs(raw, keep_blank_values=True))

    def log_request(self, code="-", size="-"):
        ms = (time.perf_counter() - getattr(self, "t0", time.perf_counter())) * 1000
        code = getattr(code, "value", code)
        sys.stdout.write(f"{self.command} {self.path} {code} {ms:.1f} ms\n")
        sys.stdout.flush()


mlrec_version = "?"


def main():
    global mlrec_version
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="web.db", help="the database (default web.db)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ap.add_argument("--port", type=int, default=8000, help="port (8000; 0: any free port)")
    ap.add_argument("--user", type=int, default=0, help="the userId of your ratings (0)")
    ap.add_argument("--connections", type=int, default=2, help="connections in the pool (2)")
    args = ap.parse_args()
    if args.connections < 1:
        ap.error("--connections must be at least 1")
    t0 = time.perf_counter()
    Handler.pool = Pool(args.db, args.connections)
    Handler.user = args.user
    with Handler.pool.connection() as db:
        mlrec_version = db.execute("SELECT mlrec_version()").fetchone()[0]
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"mlrec web: http://{host}:{port}/ (database {args.db}, your ratings as user "
          f"{args.user}; {args.connections} connections trained in "
          f"{time.perf_counter() - t0:.1f} s; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
