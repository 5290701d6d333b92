-- The demo: run from the repository root on a database made by sql/load_movielens.sql
--   sqlite3 movielens.db < sql/demo.sql        (or: make demo)
-- Each section prints a title, the query's result and what its numbers mean.
.bail on
.load ./mlrec
.mode list
.headers off
SELECT printf('mlrec %s: %,d ratings by %,d users of %,d movies', mlrec_version(),
              (SELECT count(*) FROM ratings), (SELECT count(DISTINCT userId) FROM ratings),
              (SELECT count(DISTINCT movieId) FROM ratings));
.headers on
.mode column --wrap 0

.print
.print == 1. Movies like Star Wars (1977): similar_movies(260, 10)
.print score: cosine similarity of the two movies' ratings, 0 to 1 (1: the same users, rating
.print alike); corated: users who rated both. Exactly scikit-learn's NearestNeighbors(cosine).
SELECT s.rank, m.title, round(s.score, 3) AS score, s.corated
  FROM similar_movies(260, 10) s JOIN movies m USING (movieId);

.print
.print == 2. Train the rating model: train_mf()
.print A matrix factorisation blended with an item kNN, kept in this connection's memory.
.print Its JSON summary, in a few rows (rmse: error on the ratings it trained on, in stars):
CREATE TEMP TABLE demo_mf AS SELECT train_mf() AS summary;
WITH k(n, key, what, meaning) AS (VALUES
       (1, 'users', 'users', ''), (2, 'items', 'movies', 'movies with a rating'),
       (3, 'ratings', 'ratings', ''), (4, 'factors', 'factors', 'latent factors per user and movie'),
       (5, 'epochs_run', 'epochs', 'passes over the ratings'),
       (6, 'rmse', 'rmse', 'root mean squared error, in stars'), (7, 'seconds', 'seconds', ''))
SELECT k.what, CASE WHEN k.what IN ('rmse', 'seconds') THEN round(j.value, 3) ELSE j.value END
         AS value, k.meaning
  FROM k JOIN json_each((SELECT summary FROM demo_mf)) j USING (key)
 ORDER BY k.n;

.print
.print == 3. User 1's favourites: the last 10 movies they rated 4 or 5 stars
.mode list
.headers off
SELECT printf('User 1 rated %d movies, %.2f stars on average, %d of them 5 stars.',
              count(*), avg(rating), sum(rating = 5))
  FROM ratings WHERE userId = 1;
.headers on
.mode column --wrap 0
SELECT r.rating AS stars, m.title, m.genres
  FROM ratings r JOIN movies m USING (movieId)
 WHERE r.userId = 1 AND r.rating >= 4
 ORDER BY r.timestamp DESC, r.movieId DESC LIMIT 10;

.print
.print == 4. Predicted ratings of user 1: predict(1, movieId)
.print predicted: the rating the model expects user 1 to give, on the 0.5 to 5 star scale;
.print rated: what user 1 gave, where they rated the movie.
SELECT m.title, r.rating AS rated, round(predict(1, m.movieId), 2) AS predicted
  FROM movies m LEFT JOIN ratings r ON r.userId = 1 AND r.movieId = m.movieId
 WHERE m.movieId IN (1, 296, 318, 4993, 79132)
 ORDER BY r.rating IS NULL, m.movieId;

.print
.print == 5. Recommendations for user 1: recommend(1, 10)
.print Movies user 1 has not rated, best first, by the ranking model (trained on first use, about
.print a second). score: a blend of standardised scores (0: an average unrated movie); only the
.print order matters, it is not a rating. because: the movie user 1 rated that weighed most
.print (recent ratings weigh more than old ones).
SELECT r.rank, m.title, round(r.score, 1) AS score, b.title AS because
  FROM recommend(1, 10) r JOIN movies m USING (movieId) LEFT JOIN movies b ON b.movieId = r.because;

.print
.print "== 6. The same, comedies only: recommend(1, 5, '{\"genre\": \"Comedy\"}')"
SELECT r.rank, m.title, m.genres
  FROM recommend(1, 5, '{"genre": "Comedy"}') r JOIN movies m USING (movieId);

.print
.print "== 7. Movies like one nobody has rated: similar_movies(1076, 5, '{\"method\": \"content\"}')"
.print The Innocents (1961), Drama|Horror|Thriller, has no rating. score: cosine similarity of the
.print movies' genres and tags (TF-IDF), 0 to 1. These five have its three genres and no tag:
.print equal scores, in movieId order.
SELECT s.rank, m.title, m.genres, round(s.score, 3) AS score
  FROM similar_movies(1076, 5, '{"method": "content"}') s JOIN movies m USING (movieId);

.print
.print == 8. What this connection holds in memory: mlrec_models
.print knn: the ratings snapshot behind similar_movies; mf: train_mf's model; ranker: recommend's.
SELECT model, ratings, users, items, round(seconds, 2) AS seconds, round(rmse, 3) AS rmse, stale
  FROM mlrec_models;

.print
.print Next: sqlite3 movielens.db, then .load ./mlrec and .mode column (.headers on) for tables
.print like these. Every function: README.md and docs/.
