/*
** example.c: the notebook's answers from a C program that links mlrec
** statically (no .load, no mlrec.so at run time).
**
**     make example && build/example [movielens.db]
**
** which is, by hand, with the library and header that `make install` puts
** under PREFIX:
**
**     cc -o example tests/clients/example.c -lmlrec -lsqlite3 -lm -pthread
**
** sqlite3_auto_extension() registers mlrec on every connection opened after
** it.  Prints movies similar to Star Wars, trains a model, then user 1's
** predicted rating for Star Wars and the ten movies recommended to user 1.
*/
#include <stdio.h>
#include <sqlite3.h>
#include "mlrec_static.h"

/* Prepare zSql with integer parameters a and b (when the query has them). */
static sqlite3_stmt *query(sqlite3 *db, const char *zSql, int a, int b){
  sqlite3_stmt *pStmt = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    fprintf(stderr, "example: %s\n", sqlite3_errmsg(db));
    return 0;
  }
  if( sqlite3_bind_parameter_count(pStmt)>=1 ) sqlite3_bind_int(pStmt, 1, a);
  if( sqlite3_bind_parameter_count(pStmt)>=2 ) sqlite3_bind_int(pStmt, 2, b);
  return pStmt;
}

/* Step pStmt to its end; returns 0 on success, else prints the error. */
static int finish(sqlite3 *db, sqlite3_stmt *pStmt, int rc){
  if( rc!=SQLITE_DONE && rc!=SQLITE_ROW ){
    fprintf(stderr, "example: %s\n", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE || rc==SQLITE_ROW ? 0 : 1;
}

/* Print the rows (rank, score, title) of zSql, score with nDigit decimals. */
static int printRanking(sqlite3 *db, const char *zSql, int id, int nDigit){
  sqlite3_stmt *pStmt = query(db, zSql, id, 0);
  int rc;
  if( pStmt==0 ) return 1;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    printf("%2d  %.*f  %s\n", sqlite3_column_int(pStmt, 0), nDigit,
           sqlite3_column_double(pStmt, 1),
           (const char*)sqlite3_column_text(pStmt, 2));
  }
  return finish(db, pStmt, rc);
}

/* Print the first row of zSql through zFormat, which takes a text then a
** double; the text is column 0 and the double column 1. */
static int printRow(sqlite3 *db, const char *zFormat, const char *zSql,
                    int a, int b){
  sqlite3_stmt *pStmt = query(db, zSql, a, b);
  int rc;
  if( pStmt==0 ) return 1;
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    printf(zFormat, (const char*)sqlite3_column_text(pStmt, 0),
           sqlite3_column_double(pStmt, 1));
  }
  return finish(db, pStmt, rc);
}

int main(int argc, char **argv){
  const char *zDb = argc>1 ? argv[1] : "movielens.db";
  const int movie = 260, user = 1;
  sqlite3 *db = 0;
  int nErr = 0;
  sqlite3_auto_extension((void(*)(void))sqlite3_mlrec_init);
  if( sqlite3_open_v2(zDb, &db, SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK ){
    fprintf(stderr, "example: cannot open %s: %s\n", zDb, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 1;
  }
  nErr += printRow(db, "mlrec %s\n", "SELECT mlrec_version(), 0", 0, 0);
  nErr += printRow(db, "Movies like %s:\n",
                   "SELECT title, 0 FROM movies WHERE movieId = ?", movie, 0);
  nErr += printRanking(db,
      "SELECT s.rank, s.score, m.title FROM similar_movies(?, 10) s"
      " JOIN movies m USING (movieId)", movie, 4);
  nErr += printRow(db, "Model trained on %s ratings, training RMSE %.4f\n",
      "SELECT s ->> 'ratings', s ->> 'rmse'"
      " FROM (SELECT train_mf('{\"seed\": 42}') AS s)", 0, 0);
  nErr += printRow(db, "%s %.2f\n",
      "SELECT 'User ' || ?1 || ' would rate ' || title, predict(?1, movieId)"
      " FROM movies WHERE movieId = ?2", user, movie);
  printf("Recommended for user %d:\n", user);
  nErr += printRanking(db,
      "SELECT r.rank, r.score, m.title FROM recommend(?, 10) r"
      " JOIN movies m USING (movieId)", user, 2);
  sqlite3_close(db);
  return nErr>0;
}
