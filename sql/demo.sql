-- The demo: run from the repository root on a database made by sql/load_movielens.sql
--   sqlite3 movielens.db < sql/demo.sql        (or: make demo)
.bail on
.load ./mlrec
.headers on
.mode column --wrap 0

SELECT mlrec_version() AS version;

-- Movies most similar to Star Wars (1977), by cosine similarity of their rating vectors.
SELECT s.rank, s.movieId, m.title, round(s.score, 4) AS score
  FROM similar_movies(260, 10) s JOIN movies m USING (movieId)
 ORDER BY s.rank;

-- Train the matrix factorisation model (kept in memory for this connection).
SELECT train_mf() AS summary;

-- Predicted ratings of user 1 for two movies.
SELECT predict(1, 260) AS star_wars, predict(1, 1) AS toy_story;

-- Ten movies user 1 has not rated, best first, by the ranking model (trained on first use), with
-- the movie user 1 rated that weighed most.
SELECT r.rank, m.title, round(r.score, 2) AS score, b.title AS because
  FROM recommend(1, 10) r JOIN movies m USING (movieId) LEFT JOIN movies b ON b.movieId = r.because
 ORDER BY r.rank;

-- The same, comedies only.
SELECT r.rank, m.title
  FROM recommend(1, 5, '{"genre": "Comedy"}') r JOIN movies m USING (movieId)
 ORDER BY r.rank;

-- Movies like one nobody has rated yet, by genres and tags.
SELECT s.rank, m.title, round(s.score, 4) AS score
  FROM similar_movies(1076, 5, '{"method": "content"}') s JOIN movies m USING (movieId)
 ORDER BY s.rank;

-- What the connection holds in memory.
SELECT model, ratings, users, items, round(seconds, 3) AS seconds, round(rmse, 4) AS rmse, stale
  FROM mlrec_models;
