#!/usr/bin/python3
"""bench.py: how fast mlrec is, against the notebook's method, on datasets of several sizes.

    make bench                     # ml-latest-small and the synthetic 2.5M preset
    make bench BENCH_25M=1         # and the synthetic 25M preset (ML-25M shape)
    /usr/bin/python3 tests/bench/bench.py [--csv FILE] [--sklearn-max N] NAME=DB ...

For each database, in a fresh process (so that its peak memory is its own):
  scan      SQLite reading the three columns of the ratings table (its floor for any reader)
  load      mlrec reading the ratings table into memory: id maps, rows by user and by movie,
            norms.  This is also the kNN index: similar_movies needs nothing else
  query     one similar_movies(movie, 10), median and 99th percentile over random movies
  sweep     SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) r,
                                 similar_movies(r.movieId, 10)
            the best of 3 runs (1 above 3 million ratings), as for scikit-learn's below
  train     train_mf('{"epochs": 20}') (32 factors) on one thread and on all of them,
            seconds and rating updates per second; the training RMSE of both (equal: the
            model does not depend on the number of threads)
  recommend one recommend(user, 10, '{"model": "rating"}') (the factor model of train_mf: every
            movie scored, the best 10 kept), median and 99th percentile over random users
  ranker    train_ranker() (all threads), seconds; then one recommend(user, 10), the default
            ranking model (the user folded in, ALS and sequence scores for every movie),
            median and 99th percentile over random users
  save      mlrec_save_model() of both models (the last train_mf, train_ranker)
  deploy    in a fresh process: connect, load the extension, mlrec_load_model(), the first
            recommend(user, 10) and a predict(): each step, the total, and the process's peak
            memory (what serving a saved model costs a new worker, a replica, a restart)
  8 conns   peak memory of a process whose 1 or 8 connections each load the saved models and
            serve the same users: above what the process held before connecting, and the
            ratio (one copy of the model per process: close to 1)
  peak      peak resident memory of the process (Python and SQLite included)
  pipeline  in a fresh process: train_mf() and train_ranker() with their default options, then
            recommend(user, 10) for random users: both training times, their ratio (train_ranker
            / train_mf, the same process on the same data) and the process's peak memory
  free cores how much faster two busy processes get through twice the work of one, just
            before: about 2 on an idle 2-core machine, 1 when something else holds a core (then
            no multi-threaded speed-up can show)
Then, in another process, scikit-learn's NearestNeighbors(metric="cosine", algorithm="brute")
(the notebook's method) computes the same sweep: its time, the ratio, and how many movies get
the same 10 scores (to 1e-9) from both.  Databases with more ratings than --sklearn-max skip
scikit-learn.  Benchmarks report; they never fail on a time.  Prints a table and writes it as
CSV (default build/bench/results.csv).
"""
import argparse
import csv
import itertools
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "mlrec")
K = 10
SWEEP = ("SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) r, "
         "similar_movies(r.movieId, 10)")
SWEEP_ROWS = ("SELECT r.movieId, s.score FROM (SELECT DISTINCT movieId FROM ratings) r, "
              "similar_movies(r.movieId, 10) s ORDER BY r.movieId, s.rank")


def repeats(n_ratings):
    """Runs of a sweep whose best time counts: machines are noisy, and one run can be unlucky."""
    return 3 if n_ratings <= 3000000 else 1


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def percentiles(times):
    times = sorted(times)
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def time_queries(db, sql, args):
    return percentiles([timed(lambda a=a: db.execute(sql, (a,)).fetchall())[0] for a in args])


def busy(n):
    x = 0
    for i in range(n):
        x += i
    return x


def free_cores(n=2000000):
    """Work done per unit of time by two busy processes, relative to one."""
    with multiprocessing.Pool(2) as pool:
        pool.map(busy, [1, 1])
        one = timed(lambda: pool.map(busy, [n]))[0]
        two = timed(lambda: pool.map(busy, [n, n]))[0]
    return 2 * one / two


def mlrec_worker(path, scores_file, n_queries):
    """Everything about mlrec on one database; prints a JSON object."""
    db = sqlite3.connect(path)
    db.enable_load_extension(True)
    db.load_extension(LIB)
    out = {"baseline_mib": peak_rss_mib()}
    scan = "SELECT max(userId), max(movieId), max(rating) FROM ratings"
    db.execute(scan).fetchone()    # warm the OS cache: every reader below reads it warm
    out["scan_s"] = timed(lambda: db.execute(scan).fetchone())[0]
    out["load_s"] = timed(lambda: db.execute(
        "SELECT count(*) FROM similar_movies((SELECT min(movieId) FROM ratings), 1)").fetchone())[0]
    out["ratings"], out["users"], out["movies"] = db.execute(
        "SELECT ratings, users, items FROM mlrec_models WHERE model = 'knn'").fetchone()
    rnd = random.Random(1)
    movies = [r[0] for r in db.execute("SELECT DISTINCT movieId FROM ratings")]
    users = [r[0] for r in db.execute("SELECT DISTINCT userId FROM ratings")]
    out["query_p50_ms"], out["query_p99_ms"] = (1e3 * t for t in time_queries(
        db, "SELECT movieId, score FROM similar_movies(?, 10)",
        rnd.sample(movies, min(n_queries, len(movies)))))
    out["sweep_s"] = min(timed(lambda: db.execute(SWEEP).fetchone())[0]
                         for _ in range(repeats(out["ratings"])))
    if scores_file:
        with open(scores_file, "w") as f:
            for movie, rows in itertools.groupby(db.execute(SWEEP_ROWS), key=lambda r: r[0]):
                f.write("%d %s\n" % (movie, " ".join(repr(s) for _, s in rows)))
    for name, opts in (("1t", '{"epochs": 20, "threads": 1}'), ("nt", '{"epochs": 20}')):
        summary = json.loads(db.execute("SELECT train_mf(?)", (opts,)).fetchone()[0])
        out["train_%s_s" % name] = summary["seconds"]
        out["threads_%s" % name] = summary["threads"]
        out["rmse_%s" % name] = summary["rmse"]
        out["updates_%s_m" % name] = summary["ratings"] * summary["epochs"] / summary["seconds"] / 1e6
    out["recommend_p50_ms"], out["recommend_p99_ms"] = (1e3 * t for t in time_queries(
        db, """SELECT movieId, score FROM recommend(?, 10, '{"model": "rating"}')""",
        rnd.sample(users, min(n_queries, len(users)))))
    out["ranker_s"] = json.loads(db.execute("SELECT train_ranker()").fetchone()[0])["seconds"]
    out["ranking_p50_ms"], out["ranking_p99_ms"] = (1e3 * t for t in time_queries(
        db, "SELECT movieId, score FROM recommend(?, 10)",
        rnd.sample(users, min(n_queries, len(users)))))
    out["save_s"] = timed(lambda: db.execute(
        "SELECT mlrec_save_model('bench')").fetchone())[0]
    out["serve_users"] = rnd.sample(users, min(5, len(users)))
    out["peak_mib"] = peak_rss_mib()
    print(json.dumps(out))


def connect(path):
    db = sqlite3.connect(path)
    db.enable_load_extension(True)
    db.load_extension(LIB)
    return db


def serve(db, user):
    """The first recommend(user, 10) and a predict() of its best movie; their seconds."""
    t0 = time.perf_counter()
    best = db.execute("SELECT movieId FROM recommend(?, 10)", (user,)).fetchall()[0][0]
    t1 = time.perf_counter()
    db.execute("SELECT predict(?, ?)", (user, best)).fetchone()
    return t1 - t0, time.perf_counter() - t1


def deploy_worker(path, user):
    """A fresh process serving the saved models: load, first recommend, first predict."""
    t0 = time.perf_counter()
    db = connect(path)
    t1 = time.perf_counter()
    db.execute("SELECT mlrec_load_model('bench')").fetchone()
    t2 = time.perf_counter()
    recommend_s, predict_s = serve(db, user)
    print(json.dumps({"deploy_connect_s": t1 - t0, "deploy_load_s": t2 - t1,
                      "deploy_recommend_ms": 1e3 * recommend_s, "deploy_predict_ms": 1e3 * predict_s,
                      "deploy_total_s": time.perf_counter() - t0, "deploy_peak_mib": peak_rss_mib()}))


def connections_worker(path, n, users):
    """n connections of one process, each loading the saved models and serving users."""
    base = peak_rss_mib()
    dbs = [connect(path) for _ in range(n)]
    for db in dbs:
        db.execute("SELECT mlrec_load_model('bench')").fetchone()
        for user in users:
            serve(db, user)
    print(json.dumps({"serving_%d_mib" % n: peak_rss_mib() - base}))


def pipeline_worker(path, n_queries):
    """train_mf() and train_ranker() with default options, then recommend(): a process's peak."""
    db = connect(path)
    mf = json.loads(db.execute("SELECT train_mf()").fetchone()[0])["seconds"]
    ranker = json.loads(db.execute("SELECT train_ranker()").fetchone()[0])["seconds"]
    users = [r[0] for r in db.execute("SELECT DISTINCT userId FROM ratings")]
    for user in random.Random(2).sample(users, min(n_queries, len(users))):
        db.execute("SELECT movieId, score FROM recommend(?, 10)", (user,)).fetchall()
    print(json.dumps({"pipeline_mf_s": mf, "pipeline_ranker_s": ranker,
                      "pipeline_ratio": ranker / mf, "pipeline_peak_mib": peak_rss_mib()}))


def sklearn_worker(path, scores_file):
    """The notebook's sweep: scikit-learn's brute cosine kNN on the movie x user matrix."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.neighbors import NearestNeighbors
    db = sqlite3.connect(path)
    n = db.execute("SELECT count(*) FROM ratings").fetchone()[0]
    flat = np.fromiter(itertools.chain.from_iterable(
        db.execute("SELECT movieId, userId, rating FROM ratings")), dtype=np.float64, count=3 * n)
    movie_ids, movie_idx = np.unique(flat[0::3].astype(np.int64), return_inverse=True)
    _, user_idx = np.unique(flat[1::3].astype(np.int64), return_inverse=True)
    X = csr_matrix((flat[2::3], (movie_idx, user_idx)))
    del flat

    def sweep():
        nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(X)
        return nn.kneighbors(X, n_neighbors=min(K + 1, X.shape[0]))
    runs = [timed(sweep) for _ in range(repeats(n))]
    seconds, (dist, idx) = min(runs, key=lambda r: r[0])
    with open(scores_file, "w") as f:
        for i, movie in enumerate(movie_ids):
            scores = [1.0 - d for j, d in zip(idx[i], dist[i]) if j != i][:K]
            f.write("%d %s\n" % (movie, " ".join(repr(float(s)) for s in scores)))
    print(json.dumps({"sklearn_sweep_s": seconds, "sklearn_peak_mib": peak_rss_mib()}))


def read_scores(path):
    with open(path) as f:
        return {int(p[0]): [float(s) for s in p[1:]] for p in (line.split() for line in f)}


def same_answers(ours_file, theirs_file):
    """Movies whose 10 scores agree to 1e-9, rank by rank (robust to the order of ties)."""
    ours, theirs = read_scores(ours_file), read_scores(theirs_file)
    same = sum(1 for m, t in theirs.items()
               if len(ours.get(m, [])) == len(t) and all(abs(a - b) <= 1e-9 for a, b in zip(ours[m], t)))
    return "%d/%d" % (same, len(theirs))


def run_worker(args):
    out = subprocess.run([sys.executable, os.path.abspath(__file__)] + args,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench(name, path, tmp, sklearn_max, n_queries):
    print("bench: %s (%s)" % (name, path), file=sys.stderr, flush=True)
    n = sqlite3.connect(path).execute("SELECT count(*) FROM ratings").fetchone()[0]
    with_sklearn = n <= sklearn_max
    ours = os.path.join(tmp, name + ".mlrec.scores")
    row = {"dataset": name, "cores": os.cpu_count(), "load_avg": "%.1f" % os.getloadavg()[0],
           "free_cores": free_cores()}
    # mlrec saves its models into the database: a copy, deleted after, leaves yours as it was
    work = os.path.join(tmp, name + ".work.db")
    shutil.copyfile(path, work)
    try:
        row.update(run_worker(["mlrec", work, ours if with_sklearn else "", str(n_queries)]))
        users = json.dumps(row.pop("serve_users"))
        row.update(run_worker(["deploy", work, users]))
        for n_conn in (1, 8):
            row.update(run_worker(["connections", work, str(n_conn), users]))
        row.update(run_worker(["pipeline", work, str(n_queries)]))
    finally:
        os.remove(work)
    row["serving_ratio"] = row["serving_8_mib"] / row["serving_1_mib"]
    if with_sklearn:
        theirs = os.path.join(tmp, name + ".sklearn.scores")
        row.update(run_worker(["sklearn", path, theirs]))
        row["sweep_ratio"] = row["sklearn_sweep_s"] / row["sweep_s"]
        row["same_answers"] = same_answers(ours, theirs)
    row["train_speedup"] = row["train_1t_s"] / row["train_nt_s"]
    return row


# (label, key, format) of the table, one line per measure
LINES = [
    ("ratings", "ratings", "{:,}"), ("users", "users", "{:,}"), ("movies", "movies", "{:,}"),
    ("scan ratings (SQLite) s", "scan_s", "{:.3f}"), ("load = kNN index s", "load_s", "{:.3f}"),
    ("similar_movies p50 ms", "query_p50_ms", "{:.3f}"), ("similar_movies p99 ms", "query_p99_ms", "{:.3f}"),
    ("sweep s", "sweep_s", "{:.3f}"), ("sweep scikit-learn s", "sklearn_sweep_s", "{:.3f}"),
    ("sweep speed-up", "sweep_ratio", "{:.1f}x"), ("same 10 scores", "same_answers", "{}"),
    ("train_mf 1 thread s", "train_1t_s", "{:.3f}"), ("train_mf N threads s", "train_nt_s", "{:.3f}"),
    ("threads", "threads_nt", "{}"), ("thread speed-up", "train_speedup", "{:.2f}x"),
    ("M updates/s, 1 thread", "updates_1t_m", "{:.1f}"), ("M updates/s, N threads", "updates_nt_m", "{:.1f}"),
    ("train RMSE 1 / N threads", None, None),
    ("recommend p50 ms", "recommend_p50_ms", "{:.3f}"), ("recommend p99 ms", "recommend_p99_ms", "{:.3f}"),
    ("train_ranker s", "ranker_s", "{:.3f}"),
    ("recommend ranking p50 ms", "ranking_p50_ms", "{:.3f}"),
    ("recommend ranking p99 ms", "ranking_p99_ms", "{:.3f}"),
    ("mlrec_save_model s", "save_s", "{:.3f}"),
    ("deploy: connect s", "deploy_connect_s", "{:.3f}"),
    ("deploy: mlrec_load_model s", "deploy_load_s", "{:.3f}"),
    ("deploy: first recommend ms", "deploy_recommend_ms", "{:.1f}"),
    ("deploy: first predict ms", "deploy_predict_ms", "{:.1f}"),
    ("deploy: total s", "deploy_total_s", "{:.3f}"),
    ("deploy: peak memory MiB", "deploy_peak_mib", "{:.0f}"),
    ("serving, 1 connection MiB", "serving_1_mib", "{:.0f}"),
    ("serving, 8 connections MiB", "serving_8_mib", "{:.0f}"),
    ("8 connections / 1", "serving_ratio", "{:.2f}x"),
    ("peak memory MiB", "peak_mib", "{:.0f}"), ("  of which Python+SQLite", "baseline_mib", "{:.0f}"),
    ("pipeline: train_mf() s", "pipeline_mf_s", "{:.3f}"),
    ("pipeline: train_ranker() s", "pipeline_ranker_s", "{:.3f}"),
    ("pipeline: train_ranker / train_mf", "pipeline_ratio", "{:.2f}x"),
    ("pipeline: peak memory MiB", "pipeline_peak_mib", "{:.0f}"),
    ("scikit-learn peak MiB", "sklearn_peak_mib", "{:.0f}"),
    ("cores / load average", None, None), ("free cores (2 busy processes)", "free_cores", "{:.2f}"),
]


def cell(row, key, fmt, label):
    if label.startswith("train RMSE"):
        return "%.6f / %.6f" % (row["rmse_1t"], row["rmse_nt"])
    if label.startswith("cores"):
        return "%s / %s" % (row["cores"], row["load_avg"])
    return fmt.format(row[key]) if key in row else "-"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "mlrec":
        return mlrec_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if len(sys.argv) > 1 and sys.argv[1] == "sklearn":
        return sklearn_worker(sys.argv[2], sys.argv[3])
    if len(sys.argv) > 1 and sys.argv[1] == "deploy":
        return deploy_worker(sys.argv[2], json.loads(sys.argv[3])[0])
    if len(sys.argv) > 1 and sys.argv[1] == "pipeline":
        return pipeline_worker(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) > 1 and sys.argv[1] == "connections":
        return connections_worker(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", default=os.path.join(ROOT, "build", "bench", "results.csv"))
    ap.add_argument("--sklearn-max", type=int, default=3000000,
                    help="skip scikit-learn on databases with more ratings (default 3000000)")
    ap.add_argument("--queries", type=int, default=1000, help="random queries timed (default 1000)")
    ap.add_argument("datasets", nargs="+", metavar="NAME=DB")
    a = ap.parse_args()
    tmp = os.path.dirname(os.path.abspath(a.csv))
    os.makedirs(tmp, exist_ok=True)
    rows = [bench(*d.split("=", 1), tmp, a.sklearn_max, a.queries) for d in a.datasets]
    width = max(len(l) for l, _, _ in LINES)
    cols = [[cell(r, k, f, l) for l, k, f in LINES] for r in rows]
    colw = [max(len(r["dataset"]), *(len(c) for c in col)) for r, col in zip(rows, cols)]
    print("%-*s  %s" % (width, "", "  ".join("%*s" % (w, r["dataset"]) for w, r in zip(colw, rows))))
    for i, (label, _, _) in enumerate(LINES):
        print("%-*s  %s" % (width, label, "  ".join("%*s" % (w, col[i]) for w, col in zip(colw, cols))))
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(a.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print("wrote %s" % a.csv)


if __name__ == "__main__":
    main()
