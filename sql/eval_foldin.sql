-- sql/eval_foldin.sql: newcomers folded into the rating model, read by sql/eval.sql with $known:
-- how many of each newcomer's later ratings are inserted after training (1000000: all).
-- predict() and recommend(..., '{"model": "rating"}') are measured on the newcomers' test ratings
-- before the insert (the model does not know them: mean + movie bias) and after it (folded in);
-- before, the movies the newcomer is about to rate are left out of the list, as after.  The
-- ranking model (train_ranker(), folding users in at query time) is measured after.
DELETE FROM ftrain WHERE userId IN newcomers;
DELETE FROM fknown;
INSERT INTO fknown SELECT userId, movieId, rating, timestamp FROM (
  SELECT *, row_number() OVER (PARTITION BY userId ORDER BY mlrec_split_hash(userId, movieId, 8)) AS n
    FROM flater) WHERE n <= $known;
DELETE FROM frows;
DELETE FROM frecs;
INSERT INTO frows SELECT 'before', t.userId, t.movieId, t.rating, predict(t.userId, t.movieId) FROM ftest t;
INSERT INTO frecs SELECT 'before', u.userId, r.movieId, r.rank
  FROM (SELECT DISTINCT userId FROM ftest WHERE rating >= 4) u,
       recommend(u.userId, 10 + (SELECT count(*) FROM fknown k WHERE k.userId = u.userId),
                 '{"model": "rating"}') r
 WHERE r.movieId NOT IN (SELECT movieId FROM fknown k WHERE k.userId = u.userId);
INSERT INTO ftrain SELECT * FROM fknown;
INSERT INTO frows SELECT 'after', t.userId, t.movieId, t.rating, predict(t.userId, t.movieId) FROM ftest t;
INSERT INTO frecs SELECT 'after', u.userId, r.movieId, r.rank
  FROM (SELECT DISTINCT userId FROM ftest WHERE rating >= 4) u, recommend(u.userId, 10, '{"model": "rating"}') r;
INSERT INTO frecs SELECT 'ranking', u.userId, r.movieId, r.rank
  FROM (SELECT DISTINCT userId FROM ftest WHERE rating >= 4) u, recommend(u.userId, 10) r;
INSERT INTO fresults
  SELECT $known, n.phase, (SELECT avg(n) FROM (SELECT count(*) AS n FROM fknown GROUP BY userId)),
         r.rmse, n.ndcg
    FROM fndcg n LEFT JOIN (SELECT phase, sqrt(avg((p - rating) * (p - rating))) AS rmse
                              FROM frows GROUP BY phase) r USING (phase);
