-- SQL tests through the sqlite3 shell, on the hand-made fixture: every line prints "label|1".
-- Run by tests/run as: sqlite3 :memory: < tests/sql/fixture.sql (from the repository root).
.bail on
.load ./mlrec
.read data/fixture.sql
SELECT 'knn_order', (SELECT group_concat(movieId) FROM similar_movies(10, 5)) = '20,50,60,30,40';
SELECT 'knn_score', (SELECT abs(score - 23 / sqrt(41 * 14)) < 1e-12 FROM similar_movies(10, 1));
SELECT 'knn_tie', (SELECT group_concat(movieId) FROM similar_movies(10, 3) WHERE rank > 1) = '50,60';
SELECT 'knn_zero', (SELECT group_concat(score) FROM similar_movies(40, 5) WHERE rank > 3) = '0.0,0.0';
SELECT 'knn_unrated', (SELECT count(*) FROM similar_movies(70)) = 0;
SELECT 'knn_hidden', (SELECT count(*) FROM similar_movies WHERE movie_id = 10 AND k = 2) = 2;
SELECT 'mf_train', json_extract(train_mf('{"factors": 3, "seed": 1}'), '$.ratings') = 11;
SELECT 'mf_mean', abs(predict(0, 0) - 36.0 / 11) < 1e-6;
SELECT 'mf_clip', (SELECT min(predict(u.userId, m.movieId)) >= 1 AND max(predict(u.userId, m.movieId)) <= 5
                     FROM (SELECT DISTINCT userId FROM ratings) u, movies m);
SELECT 'rec_unseen', (SELECT group_concat(movieId) FROM recommend(1)) = '40,70';
SELECT 'models', (SELECT group_concat(model) FROM mlrec_models) = 'knn,mf,ranker';
SELECT 'version', mlrec_version() GLOB '[0-9]*.[0-9]*.[0-9]*';
-- the shell's .load replaces the functions; the fresh state has no model yet
.load ./mlrec
SELECT 'reload', (SELECT count(*) FROM mlrec_models) = 0 AND
                 (SELECT group_concat(movieId) FROM similar_movies(10, 2)) = '20,50';
