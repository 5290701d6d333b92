-- example.sql: the clients' example through the sqlite3 shell, the reference every client's
-- output is compared with (tests/clients/run_tests.sh).  Same queries, same printed lines.
--   sqlite3 movielens.db < tests/clients/example.sql      (from the repository root)
.bail on
.load ./mlrec
SELECT 'mlrec ' || mlrec_version();
SELECT 'Movies like ' || title || ':' FROM movies WHERE movieId = 260;
SELECT printf('%2d  %.4f  %s', s.rank, s.score, m.title)
  FROM similar_movies(260, 10) s JOIN movies m USING (movieId);
SELECT printf('Model trained on %d ratings, training RMSE %.4f', s ->> 'ratings', s ->> 'rmse')
  FROM (SELECT train_mf('{"seed": 42}') AS s);
SELECT printf('User 1 would rate %s %.2f', title, predict(1, 260)) FROM movies WHERE movieId = 260;
SELECT 'Recommended for user 1:';
SELECT printf('%2d  %.2f  %s', r.rank, r.score, m.title)
  FROM recommend(1, 10) r JOIN movies m USING (movieId);
