-- SQL tests through the sqlite3 shell, on MovieLens: every line prints "label|1".
-- Run by tests/run as: sqlite3 movielens.db < tests/sql/movielens.sql (from the repository root).
.bail on
.load ./mlrec
SELECT 'knn_260', (SELECT group_concat(movieId) FROM similar_movies(260, 10))
                  = '1196,1210,1198,2571,1291,1270,2628,1240,858,2028';
SELECT 'knn_1407', (SELECT group_concat(movieId) FROM similar_movies(1407, 10))
                  = '1717,2710,1387,1573,2115,3499,1517,2502,1994,1393';
SELECT 'knn_4993', (SELECT group_concat(movieId) FROM similar_movies(4993, 10))
                  = '7153,5952,6539,2571,4306,2959,4226,5349,3578,33794';
SELECT 'knn_titles', (SELECT m.title FROM similar_movies(260, 1) s JOIN movies m USING (movieId))
                  = 'Star Wars: Episode V - The Empire Strikes Back (1980)';
SELECT 'sweep', (SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) r,
                 similar_movies(r.movieId, 10)) = 97240;
SELECT 'train', json_extract(train_mf(), '$.ratings') = 100836;
SELECT 'recommend', (SELECT count(*) FROM recommend(1, 10) r JOIN movies USING (movieId)) = 10;
SELECT 'recommend_unseen', (SELECT count(*) FROM recommend(1, 10)
                            WHERE movieId IN (SELECT movieId FROM ratings WHERE userId = 1)) = 0;
SELECT 'predict', predict(1, 260) BETWEEN 0.5 AND 5.0;
