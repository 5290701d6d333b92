#!/usr/bin/env python3
"""example.py: the notebook's answers from Python, with the standard sqlite3 module.

    /usr/bin/python3 tests/clients/example.py [movielens.db] [./mlrec]

Movies similar to Star Wars, a model trained on the ratings, then user 1's predicted rating
for Star Wars and the ten movies recommended to user 1.  The Python must be one whose sqlite3
module can load extensions (Debian's /usr/bin/python3 can; some builds, e.g. pyenv's by
default, have no enable_load_extension).
"""
import sqlite3
import sys

db_path = sys.argv[1] if len(sys.argv) > 1 else "movielens.db"
extension = sys.argv[2] if len(sys.argv) > 2 else "./mlrec"

db = sqlite3.connect(db_path)
db.enable_load_extension(True)
db.load_extension(extension)
db.enable_load_extension(False)   # no SQL may load extensions from here on
print("mlrec", db.execute("SELECT mlrec_version()").fetchone()[0])

movie, user = 260, 1
(title,) = db.execute("SELECT title FROM movies WHERE movieId = ?", (movie,)).fetchone()
print(f"Movies like {title}:")
for rank, score, similar in db.execute(
        "SELECT s.rank, s.score, m.title FROM similar_movies(?, 10) s JOIN movies m USING (movieId)",
        (movie,)):
    print(f"{rank:2d}  {score:.4f}  {similar}")

ratings, rmse = db.execute(
    "SELECT s ->> 'ratings', s ->> 'rmse' FROM (SELECT train_mf('{\"seed\": 42}') AS s)").fetchone()
print(f"Model trained on {ratings} ratings, training RMSE {rmse:.4f}")
(rating,) = db.execute("SELECT predict(?, ?)", (user, movie)).fetchone()
print(f"User {user} would rate {title} {rating:.2f}")

print(f"Recommended for user {user}:")
for rank, score, recommended in db.execute(
        "SELECT r.rank, r.score, m.title FROM recommend(?, 10) r JOIN movies m USING (movieId)",
        (user,)):
    print(f"{rank:2d}  {score:.2f}  {recommended}")
db.close()
