-- tests/model_hash.sql: a fingerprint of every model mlrec trains on MovieLens, to prove that a
-- change of the code is not a change of behaviour.  Run by tests/run on a scratch copy of
-- movielens.db (sqlite3 shell: sha3_query() is the shell's own):
--   sqlite3 copy.db < tests/model_hash.sql
-- Each line is "label|sha3 of a query's rows"; tests/model_hash.expected holds the lines of the
-- code as it was last changed on purpose.  A change that moves a model on purpose (a new
-- default, a new kernel) updates that file in the same commit and says why.
--   mf_T        every parameter of train_mf() (saved vectors and header, but the data's hash),
--               T threads
--   predict_T   predict() of one rating in a hundred or so (the blend with the neighbourhood half)
--   ranker_T    recommend() rows, scores and because of every user (train_ranker(), T threads)
--   rating_T    recommend() of every user with the rating model
--   similar     similar_movies() of every movie (the sweep), scores and corated counts
.bail on
.load ./mlrec
.mode list
SELECT json_extract(train_mf('{"threads": 1}'), '$.rmse') IS NOT NULL;
SELECT json_extract(mlrec_save_model('hash'), '$.users') > 0;
SELECT 'mf_1', hex(sha3_query('SELECT side, id, bias, factors FROM mlrec_saved_vectors
  WHERE model = ''hash'' ORDER BY side, id;
  SELECT users, items, factors, ratings, mean, rating_min, rating_max
  FROM mlrec_saved_models WHERE name = ''hash'''));
SELECT 'predict_1', hex(sha3_query('SELECT userId, movieId, predict(userId, movieId)
  FROM ratings WHERE (userId + movieId) % 101 = 0'));
SELECT 'rating_1', hex(sha3_query('SELECT u.userId, r.movieId, r.score, r.rank
  FROM (SELECT DISTINCT userId FROM ratings) u, recommend(u.userId, 20, ''{"model":"rating"}'') r'));
SELECT json_extract(train_mf('{"threads": 2}'), '$.rmse') IS NOT NULL;
SELECT json_extract(mlrec_save_model('hash'), '$.users') > 0;
SELECT 'mf_2', hex(sha3_query('SELECT side, id, bias, factors FROM mlrec_saved_vectors
  WHERE model = ''hash'' ORDER BY side, id;
  SELECT users, items, factors, ratings, mean, rating_min, rating_max
  FROM mlrec_saved_models WHERE name = ''hash'''));
SELECT 'predict_2', hex(sha3_query('SELECT userId, movieId, predict(userId, movieId)
  FROM ratings WHERE (userId + movieId) % 101 = 0'));
SELECT json_extract(train_ranker('{"threads": 1}'), '$.items') > 0;
SELECT 'ranker_1', hex(sha3_query('SELECT u.userId, r.movieId, r.score, r.rank, r.because
  FROM (SELECT DISTINCT userId FROM ratings) u, recommend(u.userId, 20) r'));
SELECT json_extract(train_ranker('{"threads": 2}'), '$.items') > 0;
SELECT 'ranker_2', hex(sha3_query('SELECT u.userId, r.movieId, r.score, r.rank, r.because
  FROM (SELECT DISTINCT userId FROM ratings) u, recommend(u.userId, 20) r'));
SELECT 'similar', hex(sha3_query('SELECT m.movieId, s.movieId, s.score, s.corated
  FROM (SELECT DISTINCT movieId FROM ratings ORDER BY movieId) m, similar_movies(m.movieId, 10) s'));
