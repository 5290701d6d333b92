-- sql/eval_random.sql: one random 80/20 split (seed $seed), read by sql/eval.sql.
DELETE FROM rtrain;
DELETE FROM rtest;
INSERT INTO rtrain SELECT userId, movieId, rating FROM ratings WHERE mlrec_split_hash(userId, movieId, $seed) >= 0.2;
INSERT INTO rtest SELECT userId, movieId, rating FROM ratings WHERE mlrec_split_hash(userId, movieId, $seed) < 0.2;
SELECT train_mf('{"knn_weight": 0}');
INSERT INTO evaluation SELECT mlrec_evaluate('rtest', '{"k": 0}');
INSERT INTO results SELECT 'random seed ' || $seed, 'matrix factorisation alone', * FROM last; DELETE FROM evaluation;
SELECT train_mf('{"knn_weight": 1}');
INSERT INTO evaluation SELECT mlrec_evaluate('rtest', '{"k": 0}');
INSERT INTO results SELECT 'random seed ' || $seed, 'item kNN, baseline-corrected, alone', * FROM last; DELETE FROM evaluation;
SELECT train_mf();
INSERT INTO evaluation SELECT mlrec_evaluate('rtest', '{"k": 0}');
INSERT INTO results SELECT 'random seed ' || $seed, 'predict(), the default (0.5 each)', * FROM last; DELETE FROM evaluation;
