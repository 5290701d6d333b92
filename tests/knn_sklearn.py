#!/usr/bin/env python3
"""knn_sklearn.py: similar_movies() against the notebook's method on every movie of MovieLens,
and similar_users() on every user.

The notebook ranks neighbours with scikit-learn's NearestNeighbors(metric="cosine",
algorithm="brute") on the movie x user matrix of raw ratings.  For every rated movie this checks
that similar_movies(movie, 10) returns the same scores (1 - distance) to 1e-9, rank by rank,
and the same movies; with --users, for every user, similar_users(user, 10) against the same
search on the user x movie matrix.  Where scores tie (within 1e-9) scikit-learn's order among them is arbitrary
(an unstable sort): a tie inside the list must hold the same movies in any order, and a tie that
runs past the k-th place must hold the first tied movies in mlrec's documented order (score to
12 decimals, then smaller movieId), found from the full row of true cosines.
Prints "knn_sklearn.py: N passed, N failed"; exits 1 on any failure.
Usage: knn_sklearn.py [--users] path/to/mlrec path/to/movielens.db
"""
import sqlite3
import sys

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.neighbors import NearestNeighbors

K = 10
TIE = 1e-9


class Sklearn:
    """The notebook's model: the movie x user matrix and scikit-learn's brute cosine kNN."""

    def __init__(self, db, users=False):
        rows = db.execute("SELECT userId, movieId, rating FROM ratings" if users else
                          "SELECT movieId, userId, rating FROM ratings").fetchall()
        self.movies = sorted({r[0] for r in rows})
        users = sorted({r[1] for r in rows})
        self.index = {m: i for i, m in enumerate(self.movies)}
        ui = {u: i for i, u in enumerate(users)}
        self.X = csr_matrix(([r[2] for r in rows],
                             ([self.index[r[0]] for r in rows], [ui[r[1]] for r in rows])),
                            shape=(len(self.movies), len(users)))
        norms = np.sqrt(np.asarray(self.X.multiply(self.X).sum(axis=1)).ravel())
        self.Xn = csr_matrix(self.X.multiply(1.0 / norms[:, None]))

    def neighbours(self):
        """{movie: [(neighbour, score)]}, k+1 of them to see ties across the k-th place."""
        nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(self.X)
        dist, idx = nn.kneighbors(self.X, n_neighbors=K + 2)
        out = {}
        for i, m in enumerate(self.movies):
            hits = [(self.movies[j], 1.0 - d) for j, d in zip(idx[i], dist[i]) if j != i]
            out[m] = hits[:K + 1]
        return out

    def tied_with(self, movie, score, n):
        """The n movies that rank first among those whose cosine with movie is score (within
        TIE), under mlrec's documented order: score to 12 decimals, then smaller movieId."""
        i = self.index[movie]
        sims = (self.Xn @ self.Xn[i].T).toarray().ravel()
        cands = [(-round(sims[j] * 1e12), self.movies[j]) for j in np.flatnonzero(np.abs(sims - score) <= TIE)
                 if j != i]
        return [m for _, m in sorted(cands)[:n]]


def mlrec_neighbours(db, users=False):
    sql = ("SELECT r.userId, s.userId, s.score FROM (SELECT DISTINCT userId FROM ratings) r,"
           " similar_users(r.userId, 10) s ORDER BY r.userId, s.rank" if users else
           "SELECT r.movieId, s.movieId, s.score FROM (SELECT DISTINCT movieId FROM ratings) r,"
           " similar_movies(r.movieId, 10) s ORDER BY r.movieId, s.rank")
    out = {}
    for q, m, s in db.execute(sql):
        out.setdefault(q, []).append((m, s))
    return out


def tie_groups(scores):
    """Split positions 0..n-1 into runs of scores equal within TIE."""
    groups, start = [], 0
    for p in range(1, len(scores) + 1):
        if p == len(scores) or abs(scores[p] - scores[p - 1]) > TIE:
            groups.append((start, p))
            start = p
    return groups


def compare(query, ours, theirs, model):
    """None if the lists agree, else a description of the difference."""
    if len(ours) != min(K, len(theirs)):
        return f"{len(ours)} rows, scikit-learn has {len(theirs)}"
    for p, ((m, s), (_, t)) in enumerate(zip(ours, theirs)):
        if abs(s - t) > TIE:
            return f"rank {p + 1}: score {s!r} for {m}, scikit-learn {t!r}"
    for a, b in tie_groups([t for _, t in theirs]):
        if a >= K:
            break
        mine = [m for m, _ in ours[a:min(b, K)]]
        if b < len(theirs):
            # the whole group is in scikit-learn's list: the same movies, in any order
            expected = sorted(m for m, _ in theirs[a:b])
            mine = sorted(mine)
        else:
            # the group may go on past the list: mlrec must pick the first of all tied movies
            expected = model.tied_with(query, theirs[a][1], len(mine))
        if mine != expected:
            return f"ranks {a + 1}-{min(b, K)}: {mine} vs {expected}"
    return None


def main():
    users = sys.argv[1] == "--users"
    lib, path = sys.argv[1 + users], sys.argv[2 + users]
    db = sqlite3.connect(path)
    db.enable_load_extension(True)
    db.load_extension(lib)
    model = Sklearn(db, users)
    theirs = model.neighbours()
    ours = mlrec_neighbours(db, users)
    passed = failed = 0
    for q in sorted(theirs):
        why = compare(q, ours.get(q, []), theirs[q], model)
        if why:
            failed += 1
            if failed <= 10:
                print(f"FAIL knn_sklearn.py {'user' if users else 'movie'} {q}: {why}")
        else:
            passed += 1
    print(f"knn_sklearn.py: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
