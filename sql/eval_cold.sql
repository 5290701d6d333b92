-- sql/eval_cold.sql: one cold-movie split (seed $seed), read by sql/eval.sql.  10% of the rated
-- movies (mlrec_split_hash(movieId, 0, $seed) < 0.1) lose all their ratings and tags; each user
-- with a held-out rating >= 4 of one of them gets the cold movies ranked (candidates: "test").
DELETE FROM cold;
DELETE FROM ctrain;
DELETE FROM ctest;
DELETE FROM ctags;
INSERT INTO cold SELECT DISTINCT movieId FROM ratings WHERE mlrec_split_hash(movieId, 0, $seed) < 0.1;
INSERT INTO ctrain SELECT userId, movieId, rating, timestamp FROM ratings WHERE movieId NOT IN cold;
INSERT INTO ctest SELECT userId, movieId, rating FROM ratings WHERE movieId IN cold;
INSERT INTO ctags SELECT * FROM tags WHERE movieId NOT IN cold;
SELECT train_mf();
SELECT train_ranker();
INSERT INTO evaluation SELECT mlrec_evaluate('ctest', '{"candidates": "test"}');
INSERT INTO cresults SELECT $seed, json_extract(e, '$.users'), json_extract(e, '$.ndcg'),
                            json_extract(e, '$.ndcg_random') FROM evaluation;
DELETE FROM evaluation;
