-- sql/eval.sql: the measurements of the README's "Recommendation quality" section, and a PASS or
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
INSERT INTO evaluation SELECT mlrec_evaluate('test');
INSERT INTO results SELECT 'temporal', 'ranking model, the default ("ranking")', * FROM last; DELETE FROM evaluation;

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
.headers off
.mode list
SELECT CASE WHEN ndcg >= 0.115 THEN 'PASS' ELSE 'FAIL' END
       || ': NDCG@10 of recommend() on the temporal hold-out is ' || round(ndcg, 4) || ' (target >= 0.115)'
  FROM results WHERE model LIKE 'ranking model%';
SELECT CASE WHEN max(rmse) <= 0.850 THEN 'PASS' ELSE 'FAIL' END
       || ': held-out RMSE of predict() on random 80/20 splits is at most ' || round(max(rmse), 4)
       || ' over ' || count(*) || ' seeds (target <= 0.850)'
  FROM results WHERE model LIKE 'predict(), the default%';
