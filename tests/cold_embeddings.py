#!/usr/bin/env python3
"""cold_embeddings.py: new movies ranked from text embeddings, on the cold-movie protocol.

The notebook's Q4 proposes embeddings of what a movie is about, computed outside the database.
This computes them the classic way, with scikit-learn: LSA (TF-IDF of the title without its
year and of the genres, then TruncatedSVD to 64 dimensions), stores them as float32 blobs in a
TEMP movie_embeddings table, and runs the cold-movie protocol of sql/eval_cold.sql for five
seeds: 10% of the rated movies lose all their ratings and tags, and each user with a held-out
rating >= 4 of one of them gets the cold movies ranked by recommend(..., {"content":
"embedding"}).  NDCG@10 must be at least 4 times that of a random order (mlrec_evaluate's
ndcg_random) on every seed; TF-IDF content is checked the same way for comparison.
Nothing is written to the database file: every table is TEMP.
Prints "cold_embeddings.py: N passed, N failed"; exits 1 on any failure.
Usage: cold_embeddings.py path/to/mlrec path/to/movielens.db
"""
import re
import sqlite3
import sys

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

SEEDS = (42, 1, 2, 3, 7)
TARGET = 4.0


def lsa_embeddings(db):
    """(movieId, float32 blob) of every movie: LSA of its title and genres."""
    rows = db.execute("SELECT movieId, title, genres FROM movies ORDER BY movieId").fetchall()
    docs = [re.sub(r"\(\d{4}\)\s*$", "", title or "") + " " +
            " ".join("genre_" + re.sub(r"[^A-Za-z]", "", g) for g in (genres or "").split("|"))
            for _, title, genres in rows]
    tfidf = TfidfVectorizer().fit_transform(docs)
    vectors = TruncatedSVD(64, random_state=0).fit_transform(tfidf).astype(np.float32)
    return [(movie, vectors[i].tobytes()) for i, (movie, _, _) in enumerate(rows)
            if np.any(vectors[i])]


def cold_split(db, seed):
    """The cold-movie split of sql/eval_cold.sql for one seed, into TEMP tables."""
    db.executescript("""
      DROP TABLE IF EXISTS temp.cold; DROP TABLE IF EXISTS temp.ctrain;
      DROP TABLE IF EXISTS temp.ctest; DROP TABLE IF EXISTS temp.ctags;
    """)
    db.execute("CREATE TEMP TABLE cold AS SELECT DISTINCT movieId FROM ratings "
               "WHERE mlrec_split_hash(movieId, 0, ?) < 0.1", (seed,))
    db.executescript("""
      CREATE TEMP TABLE ctrain(userId INTEGER, movieId INTEGER, rating REAL, timestamp INTEGER,
                               PRIMARY KEY (userId, movieId));
      INSERT INTO ctrain SELECT userId, movieId, rating, timestamp FROM ratings
        WHERE movieId NOT IN cold;
      CREATE TEMP TABLE ctest AS SELECT userId, movieId, rating FROM ratings
        WHERE movieId IN cold;
      CREATE TEMP TABLE ctags AS SELECT * FROM tags WHERE movieId NOT IN cold;
    """)
    db.execute("SELECT mlrec_config('{\"ratings_table\": \"ctrain\", \"tags_table\": \"ctags\"}')")
    db.execute("SELECT train_mf()")
    db.execute("SELECT train_ranker()")


def main():
    lib, path = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.enable_load_extension(True)
    db.load_extension(lib)
    db.execute("CREATE TEMP TABLE movie_embeddings(movieId INTEGER PRIMARY KEY, embedding BLOB)")
    db.executemany("INSERT INTO temp.movie_embeddings VALUES (?, ?)", lsa_embeddings(db))
    passed = failed = 0
    for seed in SEEDS:
        cold_split(db, seed)
        for content in ("embedding", "tfidf"):
            options = f'{{"candidates": "test", "content": "{content}"}}'
            users, ndcg, rnd = db.execute(
                "SELECT json_extract(e, '$.users'), json_extract(e, '$.ndcg'), "
                "json_extract(e, '$.ndcg_random') FROM (SELECT mlrec_evaluate('ctest', ?) AS e)",
                (options,)).fetchone()
            ratio = ndcg / rnd
            ok = ratio >= TARGET and users > 500
            print(f"{'PASS' if ok else 'FAIL'} seed {seed}, {content}: {users} users, NDCG@10 "
                  f"{ndcg:.4f}, random order {rnd:.4f}: {ratio:.1f}x (target >= {TARGET}x)")
            passed, failed = passed + ok, failed + (not ok)
    print(f"cold_embeddings.py: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
