-- sql/eval.sql: the measurements of docs/quality.md, and a PASS or
-- FAIL line per target.  `make eval` runs it on movielens.db (nothing is written to the file:
-- every table is TEMP).  About a minute on 2 cores.
--   sqlite3 movielens.db < sql/eval.sql      (from the repository root)
.bail on
.load ./mlrec
.headers on
.mode column
CREATE TEMP TABLE results(split TEXT, model TEXT, users INT, ndcg REAL, precision REAL,
                          recall REAL, coverage REAL, rmse REAL, mae REAL);
CREATE TEMP VIEW last AS SELECT json_extract(e, '$.users') AS users, json_extract(e, '$.ndcg') AS ndcg,
  json_extract(e, '$.precision') AS precision, json_extract(e, '$.recall') AS recall,
  json_extract(e, '$.coverage') AS coverage, json_extract(e, '$.rmse') AS rmse,
  json_extract(e, '$.mae') AS mae FROM evaluation;
CREATE TEMP TABLE evaluation(e TEXT);

-- 1. Top-N on a per-user temporal hold-out: each user's latest 20% of ratings (by timestamp, ties
--    by movieId) are the test set; relevant = rating >= 4; k = 10; candidates = the movies the
--    user has not rated in training.
CREATE TEMP TABLE split AS
  SELECT userId, movieId, rating, timestamp,
         row_number() OVER (PARTITION BY userId ORDER BY timestamp DESC, movieId DESC)
           <= count(*) OVER (PARTITION BY userId) / 5 AS is_test
    FROM ratings;
CREATE TEMP TABLE train AS SELECT userId, movieId, rating, timestamp FROM split WHERE NOT is_test;
CREATE TEMP TABLE test AS SELECT userId, movieId, rating FROM split WHERE is_test;
CREATE INDEX temp.train_user ON train(userId, movieId);
.output /dev/null
SELECT mlrec_config('{"ratings_table": "train"}');
SELECT train_mf();
INSERT INTO evaluation SELECT mlrec_evaluate('test', '{"model": "popular"}');
INSERT INTO results SELECT 'temporal', 'most rated unseen ("popular")', * FROM last; DELETE FROM evaluation;
INSERT INTO evaluation SELECT mlrec_evaluate('test', '{"model": "rating"}');
INSERT INTO results SELECT 'temporal', 'rating model, train_mf ("rating")', * FROM last; DELETE FROM evaluation;
SELECT train_ranker('{"sequence_weight": 0, "recency": 1e12}');
INSERT INTO evaluation SELECT mlrec_evaluate('test');
INSERT INTO results SELECT 'temporal', 'implicit ALS alone', * FROM last; DELETE FROM evaluation;
SELECT train_ranker('{"sequence_weight": 0}');
INSERT INTO evaluation SELECT mlrec_evaluate('test');
INSERT INTO results SELECT 'temporal', 'implicit ALS, recent ratings weigh more', * FROM last; DELETE FROM evaluation;
SELECT train_ranker('{"als_weight": 0}');
INSERT INTO evaluation SELECT mlrec_evaluate('test');
INSERT INTO results SELECT 'temporal', 'sequences alone', * FROM last; DELETE FROM evaluation;
SELECT train_ranker();
INSERT INTO evaluation SELECT mlrec_evaluate('test', '{"content": "none"}');
INSERT INTO results SELECT 'temporal', 'ranking model, its own movies only', * FROM last; DELETE FROM evaluation;
INSERT INTO evaluation SELECT mlrec_evaluate('test');
INSERT INTO results SELECT 'temporal', 'ranking model, the default ("ranking")', * FROM last; DELETE FROM evaluation;

-- 1b. Audiences, on the same split and the same default ranking model: for each movie rated in
--     both periods, how many of the users who rated it in the test period are in its
--     audience(movie, 50) computed on training, against the 50 most active training users who
--     had not rated it (ties by userId; a user's rank among them is their rank by activity minus
--     the raters ahead of them).
CREATE INDEX temp.train_movie ON train(movieId, userId);
CREATE TEMP TABLE amovies AS SELECT DISTINCT movieId FROM test WHERE movieId IN (SELECT movieId FROM train);
CREATE TEMP TABLE aresults(model TEXT, movies INT, raters INT, hits INT);
CREATE TEMP TABLE active AS SELECT userId, row_number() OVER (ORDER BY count(*) DESC, userId) - 1 AS pos
  FROM train GROUP BY userId;
INSERT INTO aresults SELECT 'audience(movie_id, 50)', (SELECT count(*) FROM amovies),
       (SELECT count(*) FROM test JOIN amovies USING (movieId)), count(*)
  FROM (SELECT m.movieId, a.userId FROM amovies m, audience(m.movieId, 50) a) JOIN test USING (movieId, userId);
INSERT INTO aresults SELECT 'the 50 most active users who had not rated it', (SELECT count(*) FROM amovies),
       (SELECT count(*) FROM test JOIN amovies USING (movieId)), count(*)
  FROM test t JOIN amovies USING (movieId) JOIN active a USING (userId)
 WHERE a.pos - (SELECT count(*) FROM train r JOIN active b USING (userId)
                 WHERE r.movieId = t.movieId AND b.pos < a.pos) < 50;

-- 2. Rating error of predict() on random 80/20 splits made with mlrec_split_hash(), five seeds.
CREATE TEMP TABLE rtrain(userId INTEGER, movieId INTEGER, rating REAL, PRIMARY KEY (userId, movieId));
CREATE TEMP TABLE rtest(userId INTEGER, movieId INTEGER, rating REAL);
SELECT mlrec_config('{"ratings_table": "rtrain"}');
.parameter set $seed 42
.read sql/eval_random.sql
.parameter set $seed 1
.read sql/eval_random.sql
.parameter set $seed 2
.read sql/eval_random.sql
.parameter set $seed 3
.read sql/eval_random.sql
.parameter set $seed 4
.read sql/eval_random.sql

-- 3. New movies: the cold-movie protocol of sql/eval_cold.sql, five seeds; NDCG@10 of the
--    default recommend() (TF-IDF content) against the same candidates in random order.
CREATE TEMP TABLE cold(movieId INTEGER PRIMARY KEY);
CREATE TEMP TABLE ctrain(userId INTEGER, movieId INTEGER, rating REAL, timestamp INTEGER,
                         PRIMARY KEY (userId, movieId));
CREATE TEMP TABLE ctest(userId INTEGER, movieId INTEGER, rating REAL);
CREATE TEMP TABLE ctags AS SELECT * FROM tags WHERE 0;
CREATE TEMP TABLE cresults(seed INTEGER, users INTEGER, ndcg REAL, ndcg_random REAL);
SELECT mlrec_config('{"ratings_table": "ctrain", "tags_table": "ctags"}');
.parameter set $seed 42
.read sql/eval_cold.sql
.parameter set $seed 1
.read sql/eval_cold.sql
.parameter set $seed 2
.read sql/eval_cold.sql
.parameter set $seed 3
.read sql/eval_cold.sql
.parameter set $seed 7
.read sql/eval_cold.sql
SELECT mlrec_config('{"tags_table": "tags"}');

-- 4. Newcomers: 10% of the users (mlrec_split_hash(userId, 0, 7) < 0.1) are left out of training;
--    after it, 1, 3, 10 or all of 80% of their ratings are inserted, and predict() and the rating
--    model of recommend() are measured on the other 20% (relevant = rating >= 4, k = 10), with the
--    ranking model (which folds users in too) for comparison.
CREATE TEMP TABLE newcomers AS SELECT DISTINCT userId FROM ratings WHERE mlrec_split_hash(userId, 0, 7) < 0.1;
CREATE TEMP TABLE ftrain(userId INTEGER, movieId INTEGER, rating REAL, timestamp INTEGER,
                         PRIMARY KEY (userId, movieId));
INSERT INTO ftrain SELECT userId, movieId, rating, timestamp FROM ratings WHERE userId NOT IN newcomers;
CREATE TEMP TABLE flater AS SELECT userId, movieId, rating, timestamp FROM ratings
  WHERE userId IN newcomers AND mlrec_split_hash(userId, movieId, 7) >= 0.2;
CREATE TEMP TABLE ftest AS SELECT userId, movieId, rating FROM ratings
  WHERE userId IN newcomers AND mlrec_split_hash(userId, movieId, 7) < 0.2;
CREATE TEMP TABLE fknown(userId INTEGER, movieId INTEGER, rating REAL, timestamp INTEGER);
CREATE TEMP TABLE frows(phase TEXT, userId INTEGER, movieId INTEGER, rating REAL, p REAL);
CREATE TEMP TABLE frecs(phase TEXT, userId INTEGER, movieId INTEGER, rank INTEGER);
CREATE TEMP TABLE fresults(known INTEGER, phase TEXT, per_user REAL, rmse REAL, ndcg REAL);
CREATE TEMP VIEW fndcg AS
  WITH pos(i) AS (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)),
  ranked AS (SELECT phase, userId, movieId,
                    row_number() OVER (PARTITION BY phase, userId ORDER BY rank) AS i FROM frecs),
  rel AS (SELECT userId, count(*) AS n FROM ftest WHERE rating >= 4 GROUP BY userId),
  phases AS (SELECT DISTINCT phase FROM frecs)
  SELECT p.phase, avg(
      (SELECT coalesce(sum(1.0 / log2(r.i + 1)), 0) FROM ranked r JOIN ftest t USING (userId, movieId)
        WHERE r.phase = p.phase AND r.userId = rel.userId AND r.i <= 10 AND t.rating >= 4)
      / (SELECT sum(1.0 / log2(i + 1)) FROM pos WHERE i <= rel.n)) AS ndcg
    FROM phases p, rel GROUP BY p.phase;
SELECT mlrec_config('{"ratings_table": "ftrain"}');
SELECT train_mf();
SELECT train_ranker();
.parameter set $known 1
.read sql/eval_foldin.sql
.parameter set $known 3
.read sql/eval_foldin.sql
.parameter set $known 10
.read sql/eval_foldin.sql
.parameter set $known 1000000
.read sql/eval_foldin.sql
-- for reference: retrained with all of the newcomers' ratings
SELECT train_mf();
INSERT INTO fresults SELECT -1, 'retrained', NULL, sqrt(avg((p - rating) * (p - rating))), NULL
  FROM (SELECT rating, predict(userId, movieId) AS p FROM ftest);
SELECT mlrec_config('{"ratings_table": "ratings"}');
.output stdout

SELECT model, users, round(ndcg, 4) AS "NDCG@10", round(precision, 4) AS "P@10",
       round(recall, 4) AS "R@10", round(coverage, 4) AS coverage
  FROM results WHERE split = 'temporal' ORDER BY rowid;
SELECT model, count(*) AS splits, round(avg(rmse), 4) AS "mean RMSE", round(max(rmse), 4) AS "worst RMSE",
       round(avg(mae), 4) AS "mean MAE",
       round((SELECT rmse FROM results r WHERE r.model = results.model AND split = 'random seed 42'), 4)
         AS "RMSE, seed 42"
  FROM results WHERE split LIKE 'random%' GROUP BY model ORDER BY min(rowid);
SELECT seed AS "cold split, seed", users, round(ndcg, 4) AS "NDCG@10, new movies",
       round(ndcg_random, 4) AS "NDCG@10, random order", round(ndcg / ndcg_random, 1) AS "x random"
  FROM cresults ORDER BY rowid;
SELECT CASE WHEN b.known = 1000000 THEN 'all (' || round(b.per_user) || ' on average)' ELSE b.known END
         AS "ratings per newcomer",
       round(b.rmse, 4) AS "RMSE, unknown", round(a.rmse, 4) AS "RMSE, folded in",
       round(b.ndcg, 4) AS "NDCG@10, unknown", round(a.ndcg, 4) AS "NDCG@10, folded in",
       round(r.ndcg, 4) AS "NDCG@10, ranking model"
  FROM fresults b JOIN fresults a ON a.known = b.known AND a.phase = 'after'
  JOIN fresults r ON r.known = b.known AND r.phase = 'ranking'
 WHERE b.phase = 'before' ORDER BY b.known;
SELECT 'predict() retrained with all of their ratings: RMSE ' || round(rmse, 4) AS "for reference"
  FROM fresults WHERE phase = 'retrained';
SELECT model AS "audience of a movie (temporal hold-out)", movies, raters AS "next raters",
       hits AS "found in top 50", round(100.0 * hits / raters, 1) AS "% found"
  FROM aresults ORDER BY rowid;
.headers off
.mode list
SELECT CASE WHEN ndcg >= 0.118 THEN 'PASS' ELSE 'FAIL' END
       || ': NDCG@10 of recommend() on the temporal hold-out is ' || round(ndcg, 4) || ' (target >= 0.118)'
  FROM results WHERE model LIKE 'ranking model, the default%';
SELECT CASE WHEN min(ndcg / ndcg_random) >= 4 THEN 'PASS' ELSE 'FAIL' END
       || ': NDCG@10 of new movies (cold-movie protocol, TF-IDF content) is '
       || round(min(ndcg / ndcg_random), 1) || 'x to ' || round(max(ndcg / ndcg_random), 1)
       || 'x random over ' || count(*) || ' seeds (target >= 4x)'
  FROM cresults;
SELECT CASE WHEN a.rmse <= b.rmse - 0.05 THEN 'PASS' ELSE 'FAIL' END
       || ': RMSE of predict() for newcomers folded in is ' || round(a.rmse, 4) || ', unknown '
       || round(b.rmse, 4) || ' (target: 0.05 lower)'
  FROM fresults a JOIN fresults b USING (known)
 WHERE known = 1000000 AND a.phase = 'after' AND b.phase = 'before';
SELECT CASE WHEN max(rmse) <= 0.850 THEN 'PASS' ELSE 'FAIL' END
       || ': held-out RMSE of predict() on random 80/20 splits is at most ' || round(max(rmse), 4)
       || ' over ' || count(*) || ' seeds (target <= 0.850)'
  FROM results WHERE model LIKE 'predict(), the default%';
SELECT CASE WHEN a.hits > b.hits THEN 'PASS' ELSE 'FAIL' END
       || ': audience(movie, 50) finds ' || a.hits || ' of the ' || a.raters || ' next raters of '
       || a.movies || ' movies, the 50 most active users ' || b.hits || ': ratio '
       || round(1.0 * a.hits / b.hits, 3) || ' (target > 1)'
  FROM aresults a, aresults b WHERE a.rowid = 1 AND b.rowid = 2;
