-- A tiny hand-made fixture with answers worked out by hand (tests/fixture.test checks them).
--
-- ratings (user: movie=rating)           movie vectors over users (u1, u2, u3) and squared norms
--   u1: 10=5 20=3 30=4 50=2 60=4          m10 = (5,4,0)  41      m40 = (0,5,4)  41
--   u2: 10=4 20=2 40=5                    m20 = (3,2,1)  14      m50 = (2,0,0)   4
--   u3: 20=1 30=2 40=4                    m30 = (4,0,2)  20      m60 = (4,0,0)  16
--
-- cosines dot/(|a||b|):
--   10,20: 23/sqrt(41*14) = 0.960012      20,30: 14/sqrt(14*20) = 0.836660
--   10,30: 20/sqrt(41*20) = 0.698430      20,40: 14/sqrt(14*41) = 0.584349
--   10,40: 20/41          = 0.487805      20,50 = 20,60: 3/sqrt(14) = 0.801784
--   10,50 = 10,60: 5/sqrt(41) = 0.780869  30,40:  8/sqrt(20*41) = 0.279372
--   30,50 = 30,60: 4/sqrt(20) = 0.894427  40,50 = 40,60: 0       50,60: 1
--
-- so similar_movies(10, 5) = 20, 50, 60, 30, 40   (50 and 60 tie: the smaller id first)
--    similar_movies(40, 5) = 20, 10, 30, 50, 60   (50 and 60 share no user with 40: score 0)
--    similar_movies(50, 2) = 60, 30
--    similar_movies(70, 5) = no rows              (movie 70 has no ratings)
-- mean rating = (5+3+4+2+4 + 4+2+5 + 1+2+4)/11 = 36/11 = 3.272727...: predict() of an unknown
-- user for an unknown movie.  Ratings range over [1, 5]: every prediction is clipped to it.
-- recommend(1, 10) can only return movie 40, the one movie user 1 has not rated, and movie 70,
-- which has no ratings (placed by its content, just below 40: 40 is all there is to compare).
CREATE TABLE movies(movieId INTEGER PRIMARY KEY, title TEXT, genres TEXT);
INSERT INTO movies VALUES
  (10, 'Ten', 'Drama'), (20, 'Twenty', 'Comedy'), (30, 'Thirty', 'Drama|Comedy'),
  (40, 'Forty', 'Horror'), (50, 'Fifty', 'Drama'), (60, 'Sixty', 'Drama'),
  (70, 'Seventy', 'Documentary');
CREATE TABLE ratings(userId INTEGER, movieId INTEGER, rating REAL);
INSERT INTO ratings VALUES
  (1, 10, 5), (1, 20, 3), (1, 30, 4), (1, 50, 2), (1, 60, 4),
  (2, 10, 4), (2, 20, 2), (2, 40, 5),
  (3, 20, 1), (3, 30, 2), (3, 40, 4);
