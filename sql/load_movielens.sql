-- Load MovieLens (ml-latest-small or any release in the same CSV layout) into typed tables.
-- Run with the sqlite3 shell from the directory that holds the CSV files:
--   cd "$(bash data/movielens.sh)" && sqlite3 /path/to/movielens.db < /path/to/sql/load_movielens.sql
-- Typed columns matter: .import into an untyped table would store ids as text, which mlrec rejects.
.bail on
.output /dev/null
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
.output stdout

CREATE TABLE movies(
  movieId INTEGER PRIMARY KEY,
  title   TEXT NOT NULL,
  genres  TEXT NOT NULL
);
CREATE TABLE ratings(
  userId    INTEGER NOT NULL,
  movieId   INTEGER NOT NULL,
  rating    REAL NOT NULL,
  timestamp INTEGER NOT NULL,
  PRIMARY KEY (userId, movieId)
) WITHOUT ROWID;
CREATE TABLE tags(
  userId    INTEGER NOT NULL,
  movieId   INTEGER NOT NULL,
  tag       TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);

BEGIN;
.import --csv --skip 1 movies.csv movies
.import --csv --skip 1 ratings.csv ratings
.import --csv --skip 1 tags.csv tags
COMMIT;

CREATE INDEX ratings_movie ON ratings(movieId);
CREATE INDEX tags_movie ON tags(movieId);
ANALYZE;

SELECT printf('loaded %d ratings, %d users, %d movies (%d rated), %d tags',
  (SELECT count(*) FROM ratings), (SELECT count(DISTINCT userId) FROM ratings),
  (SELECT count(*) FROM movies), (SELECT count(DISTINCT movieId) FROM ratings),
  (SELECT count(*) FROM tags));
