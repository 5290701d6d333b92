/*
** tests/fuzz/fuzz.c: a libFuzzer harness for every SQL function of mlrec.
**
**     make fuzz FUZZ_SECONDS=300     clang -fsanitize=fuzzer,address,undefined,
**                                    on tests/fuzz/corpus (new finds are kept
**                                    in build/fuzz-corpus)
**     build/fuzz-replay FILE...      each committed input once, with ASan and
**                                    UBSan (gcc, no libFuzzer): make test
**     MLREC_FUZZ_TRACE=1 build/fuzz-replay FILE   print the SQL an input runs
**
** An input is a small program.  Its first bytes fill a ratings table (typed
** or untyped columns, optionally behind a view), two tables of factors in
** Spark's layout, and maybe movies with genres and tags, or embeddings; the
** ratings, movies, tags and embeddings may be TEMP views whose rows call
** back into mlrec (azCallback), which mlrec must refuse cleanly while it
** reads them.  The rest is a sequence of operations, each one SQL
** statement calling a function of mlrec (similar_movies, recommend, with
** and without options, similar_users, audience, predict, train_mf, train_ranker, mlrec_config,
** mlrec_models, mlrec_evaluate, mlrec_split_hash, mlrec_save_model,
** mlrec_load_model, mlrec_import_factors) or changing the data (insert,
** delete, update, damage a saved model, transactions).  Arguments are
** values of every type: NULLs, small ids that collide, huge and negative
** integers, NaN and infinities, text, blobs; options are JSON objects built
** from the real option names with such values, or raw bytes.
**
** Besides the sanitizers, the harness checks what the answers must satisfy:
** an error has a message and is never SQLITE_CORRUPT, SQLITE_INTERNAL,
** SQLITE_MISUSE or SQLITE_NOMEM; a NULL id or k gives no rows and a bad one
** an error; similar_movies() returns at most k distinct movies with finite
** scores, never the query movie, and without options ranked by scores that
** equal the cosines computed independently in SQL; recommend() at most k
** distinct movies, and without options none the user has rated; audience()
** at most k distinct users with finite scores >= 0 in decreasing order,
** none who rated the movie; predict()
** a finite number, NULL only for a NULL argument; the connection closes
** cleanly.  A violation aborts.
**
** A statement runs for at most 200 ms (a progress handler, as any
** application may install, interrupts it): training with 10000 epochs is
** legal, just slow.
*/
#include <sqlite3.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sqlite3_mlrec_init(sqlite3*, char**, const sqlite3_api_routines*);

typedef struct Input Input;
struct Input {
  const uint8_t *a;
  size_t n, i;
};

static int bTrace;

static unsigned int nextByte(Input *p){
  return p->i<p->n ? p->a[p->i++] : 0;
}

static int atEnd(const Input *p){
  return p->i>=p->n;
}

static uint64_t nextU64(Input *p){
  uint64_t x = 0;
  int i;
  for(i=0; i<8; i++) x = x<<8 | nextByte(p);
  return x;
}

static void fail(const char *zWhat, const char *zDetail){
  fprintf(stderr, "mlrec fuzz: %s: %s\n", zWhat, zDetail ? zDetail : "");
  abort();
}

/* ---- Values ---------------------------------------------------------------- */

static const int64_t aSpecialInt[] = {
  0, 1, -1, INT64_MAX, INT64_MIN, 2147483648LL, -2147483649LL,
  9007199254740993LL, 1000000000000000LL, 10, 1024, 10000, 10001
};
static const double aSpecialReal[] = {
  0.5, -0.0, 1e308, -1e308, INFINITY, -INFINITY, 1e30, -1e30, 1e-300,
  9223372036854775808.0, 2.5, 1e29, 4.9e-324, 3.0, 1e-6
};
#define COUNT(a) (sizeof(a)/sizeof(a[0]))

/* Bind parameter iParam of pStmt to a value decoded from the input. */
static void bindValue(sqlite3_stmt *pStmt, int iParam, Input *p){
  unsigned int k = nextByte(p) % 16;
  char zBuf[32];
  double r;
  int n;
  switch( k ){
    case 0:
      sqlite3_bind_null(pStmt, iParam);
      break;
    case 1: case 2: case 3: case 4: case 5:
      sqlite3_bind_int(pStmt, iParam, (int)(nextByte(p) % 12));
      break;
    case 6:
      sqlite3_bind_int(pStmt, iParam, -(int)(nextByte(p) % 4));
      break;
    case 7:
      sqlite3_bind_int64(pStmt, iParam, (sqlite3_int64)nextU64(p));
      break;
    case 8:
      sqlite3_bind_int64(pStmt, iParam, aSpecialInt[nextByte(p) % COUNT(aSpecialInt)]);
      break;
    case 9: case 10:
      sqlite3_bind_double(pStmt, iParam, 0.5*(nextByte(p) % 11));
      break;
    case 11: {
      uint64_t x = nextU64(p);
      memcpy(&r, &x, sizeof(r));
      sqlite3_bind_double(pStmt, iParam, r);
      break;
    }
    case 12:
      sqlite3_bind_double(pStmt, iParam, aSpecialReal[nextByte(p) % COUNT(aSpecialReal)]);
      break;
    case 13: {
      n = (int)(nextByte(p) % 12);
      if( (size_t)n>p->n-p->i ) n = (int)(p->n-p->i);
      sqlite3_bind_text(pStmt, iParam, (const char*)p->a+p->i, n, SQLITE_TRANSIENT);
      p->i += n;
      break;
    }
    case 14:
      snprintf(zBuf, sizeof(zBuf), "%d", (int)(nextByte(p) % 12));
      sqlite3_bind_text(pStmt, iParam, zBuf, -1, SQLITE_TRANSIENT);
      break;
    default: {
      n = (int)(nextByte(p) % 8);
      if( (size_t)n>p->n-p->i ) n = (int)(p->n-p->i);
      sqlite3_bind_blob(pStmt, iParam, p->a+p->i, n, SQLITE_TRANSIENT);
      p->i += n;
      break;
    }
  }
}

/* A JSON value for an option: mostly plausible, sometimes absurd. */
static void appendJsonValue(sqlite3_str *pStr, Input *p){
  static const char *azName[] = {
    "ratings", "r0", "su", "si", "userId", "movieId", "rating", "x", "",
    "mlrec_saved_models", "id", "features", "ranking", "rating", "popular",
    "content", "hybrid", "Drama", "embedding", "timestamp"
  };
  unsigned int k = nextByte(p) % 10;
  switch( k ){
    case 0: case 1: case 2:
      sqlite3_str_appendf(pStr, "%d", (int)(nextByte(p) % 40) - 4);
      break;
    case 3:
      sqlite3_str_appendf(pStr, "%lld", (long long)aSpecialInt[nextByte(p) % COUNT(aSpecialInt)]);
      break;
    case 4:
      sqlite3_str_appendf(pStr, "%g", (nextByte(p) % 200)/64.0);
      break;
    case 5: {
      static const char *az[] = { "1e400", "-0.0", "1e-7", "0.5", "2.5e-3", "1.5" };
      sqlite3_str_appendall(pStr, az[nextByte(p) % COUNT(az)]);
      break;
    }
    case 6: case 7:
      sqlite3_str_appendf(pStr, "\"%s\"", azName[nextByte(p) % COUNT(azName)]);
      break;
    default: {
      static const char *az[] = { "null", "true", "[1]", "{}", "\"\\u0000\"" };
      sqlite3_str_appendall(pStr, az[nextByte(p) % COUNT(az)]);
      break;
    }
  }
}

/* Options as text: a JSON object of real option names, or raw bytes. */
static char *optionsText(Input *p){
  static const char *azKey[] = {
    "factors", "epochs", "learning_rate", "regularization",
    "bias_regularization", "init_std", "seed", "ratings_table",
    "user_column", "movie_column", "rating_column", "factor", "",
    "threads", "validation", "patience", "knn_weight", "neighbors",
    "shrinkage", "iterations", "alpha", "recency", "window", "als_weight",
    "sequence_weight", "model", "genre", "movies", "include_rated", "method",
    "content", "content_weight", "k", "threshold", "time_column",
    "movies_table", "tags_table", "embeddings_table", "min_ratings"
  };
  sqlite3_str *pStr = sqlite3_str_new(0);
  unsigned int k = nextByte(p);
  if( k%8==0 ){
    int n = (int)(nextByte(p) % 24);
    if( (size_t)n>p->n-p->i ) n = (int)(p->n-p->i);
    sqlite3_str_append(pStr, (const char*)p->a+p->i, n);
    p->i += n;
  }else{
    int nKey = (int)(k % 4), i;
    sqlite3_str_appendchar(pStr, 1, '{');
    for(i=0; i<nKey; i++){
      sqlite3_str_appendf(pStr, "%s\"%s\":", i ? "," : "",
                          azKey[nextByte(p) % COUNT(azKey)]);
      appendJsonValue(pStr, p);
    }
    sqlite3_str_appendchar(pStr, 1, '}');
  }
  return sqlite3_str_finish(pStr);
}

/* ---- Running statements and checking their answers ----------------------- */

typedef struct Run Run;
struct Run {
  sqlite3 *db;
  const char *zBase;   /* the table behind "ratings" (a view or itself) */
  double tStart;       /* when the current statement started */
};

static double now(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9*(double)ts.tv_nsec;
}

static int progress(void *pArg){
  return now() - ((Run*)pArg)->tStart > 0.2;
}

/* An error must be one a user can act on. */
static void checkError(sqlite3 *db, int rc){
  const char *zMsg = sqlite3_errmsg(db);
  if( bTrace ) fprintf(stderr, "  -> error %d: %s\n", rc, zMsg);
  if( rc==SQLITE_CORRUPT || rc==SQLITE_INTERNAL || rc==SQLITE_MISUSE
   || rc==SQLITE_NOMEM ){
    fail("unexpected error code", zMsg);
  }
  if( zMsg==0 || zMsg[0]==0 || strcmp(zMsg, "not an error")==0 ){
    fail("error without a message", zMsg);
  }
}

static sqlite3_stmt *prepare(Run *pRun, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(pRun->db, zSql, -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    checkError(pRun->db, rc);
    return 0;
  }
  return pStmt;
}

/* One result row of a top-k table-valued function. */
typedef struct Row Row;
struct Row {
  sqlite3_int64 iMovie;
  double rScore;
  int iRank;
};
#define MAX_ROWS 4096

/*
** Step pStmt to the end and finalize it.  If aRow is not NULL, columns
** movieId, score, rank go into aRow (at most MAX_ROWS).  Returns the number
** of rows, or -1 on error.
*/
static void traceStmt(sqlite3_stmt *pStmt){
  if( bTrace ){
    char *z = sqlite3_expanded_sql(pStmt);
    fprintf(stderr, "%s\n", z ? z : sqlite3_sql(pStmt));
    sqlite3_free(z);
  }
}

static int stepAll(Run *pRun, sqlite3_stmt *pStmt, Row *aRow){
  int n = 0, rc;
  traceStmt(pStmt);
  pRun->tStart = now();
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( aRow && n<MAX_ROWS ){
      if( sqlite3_column_type(pStmt, 1)!=SQLITE_FLOAT ){
        fail("score is not a real", sqlite3_sql(pStmt));
      }
      aRow[n].iMovie = sqlite3_column_int64(pStmt, 0);
      aRow[n].rScore = sqlite3_column_double(pStmt, 1);
      aRow[n].iRank = sqlite3_column_int(pStmt, 2);
    }
    n++;
  }
  if( rc!=SQLITE_DONE ){
    checkError(pRun->db, rc);
    n = -1;
  }
  sqlite3_finalize(pStmt);
  return n;
}

static int execSql(Run *pRun, const char *zSql){
  sqlite3_stmt *pStmt = prepare(pRun, zSql);
  return pStmt ? stepAll(pRun, pStmt, 0) : -1;
}

/*
** Arguments decoded from the input, held as the values of "SELECT ?1, ..."
** so that the harness knows what the functions receive.
*/
typedef struct Args Args;
struct Args {
  sqlite3_stmt *pVals;
};

static void argsDecode(Run *pRun, Input *p, Args *pA, int n){
  static const char *azSql[] = { "SELECT ?1", "SELECT ?1, ?2", "SELECT ?1, ?2, ?3" };
  int i;
  pA->pVals = 0;
  if( sqlite3_prepare_v2(pRun->db, azSql[n-1], -1, &pA->pVals, 0)!=SQLITE_OK ){
    fail("prepare arguments", sqlite3_errmsg(pRun->db));
  }
  for(i=1; i<=n; i++) bindValue(pA->pVals, i, p);
  if( sqlite3_step(pA->pVals)!=SQLITE_ROW ) fail("step arguments", 0);
}

static sqlite3_value *arg(Args *pA, int i){
  return sqlite3_column_value(pA->pVals, i);
}

static void argsBind(Args *pA, sqlite3_stmt *pStmt, int n){
  int i;
  for(i=0; i<n; i++) sqlite3_bind_value(pStmt, i+1, arg(pA, i));
}

static void argsFree(Args *pA){
  sqlite3_finalize(pA->pVals);
}

/* The id an argument denotes (INTEGER, or REAL with an integral value). */
static int asId(sqlite3_value *pVal, sqlite3_int64 *piOut){
  double r;
  if( sqlite3_value_type(pVal)==SQLITE_INTEGER ){
    *piOut = sqlite3_value_int64(pVal);
    return 1;
  }
  if( sqlite3_value_type(pVal)!=SQLITE_FLOAT ) return 0;
  r = sqlite3_value_double(pVal);
  if( r!=floor(r) || r<-9223372036854775808.0 || r>=9223372036854775808.0 ){
    return 0;
  }
  *piOut = (sqlite3_int64)r;
  return 1;
}

/*
** The cosine of movies iQuery and iOther computed in SQL from the table the
** extension reads (names from mlrec_config()), or NAN if it cannot be.
*/
static double sqlCosine(Run *pRun, sqlite3_int64 iQuery, sqlite3_int64 iOther){
  sqlite3_stmt *pCfg = 0, *pStmt = 0;
  double r = NAN;
  char *zSql = 0;
  if( sqlite3_prepare_v2(pRun->db, "SELECT json_extract(c, '$.ratings_table'),"
        " json_extract(c, '$.user_column'), json_extract(c, '$.movie_column'),"
        " json_extract(c, '$.rating_column') FROM (SELECT mlrec_config() AS c)",
        -1, &pCfg, 0)==SQLITE_OK && sqlite3_step(pCfg)==SQLITE_ROW ){
    const char *zTab = (const char*)sqlite3_column_text(pCfg, 0);
    zSql = sqlite3_mprintf(
      "WITH t(u, m, r) AS (SELECT \"%w\".\"%w\", \"%w\".\"%w\", \"%w\".\"%w\""
      " FROM \"%w\"), a AS (SELECT u, r FROM t WHERE m = ?1),"
      " b AS (SELECT u, r FROM t WHERE m = ?2)"
      " SELECT (SELECT total(a.r*b.r) FROM a JOIN b USING (u))"
      " / sqrt((SELECT total(r*r) FROM a)) / sqrt((SELECT total(r*r) FROM b))",
      zTab, sqlite3_column_text(pCfg, 1), zTab, sqlite3_column_text(pCfg, 2),
      zTab, sqlite3_column_text(pCfg, 3), zTab);
  }
  sqlite3_finalize(pCfg);
  pRun->tStart = now();
  if( zSql && sqlite3_prepare_v2(pRun->db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    sqlite3_bind_int64(pStmt, 1, iQuery);
    sqlite3_bind_int64(pStmt, 2, iOther);
    if( sqlite3_step(pStmt)==SQLITE_ROW
     && sqlite3_column_type(pStmt, 0)!=SQLITE_NULL ){
      r = sqlite3_column_double(pStmt, 0);
    }
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return r;
}

/*
** 1 if user iUser has rated movie iMovie in the table the extension reads,
** 0 if not, -1 if that cannot be told.
*/
static int sqlRated(Run *pRun, sqlite3_int64 iUser, sqlite3_int64 iMovie){
  sqlite3_stmt *pCfg = 0, *pStmt = 0;
  char *zSql = 0;
  int bRated = -1;
  if( sqlite3_prepare_v2(pRun->db, "SELECT json_extract(c, '$.ratings_table'),"
        " json_extract(c, '$.user_column'), json_extract(c, '$.movie_column')"
        " FROM (SELECT mlrec_config() AS c)", -1, &pCfg, 0)==SQLITE_OK
   && sqlite3_step(pCfg)==SQLITE_ROW ){
    const char *zTab = (const char*)sqlite3_column_text(pCfg, 0);
    zSql = sqlite3_mprintf("SELECT count(*)>0 FROM \"%w\" WHERE \"%w\".\"%w\" = ?1"
                           " AND \"%w\".\"%w\" = ?2", zTab, zTab,
                           sqlite3_column_text(pCfg, 1), zTab,
                           sqlite3_column_text(pCfg, 2));
  }
  sqlite3_finalize(pCfg);
  pRun->tStart = now();
  if( zSql && sqlite3_prepare_v2(pRun->db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    sqlite3_bind_int64(pStmt, 1, iUser);
    sqlite3_bind_int64(pStmt, 2, iMovie);
    if( sqlite3_step(pStmt)==SQLITE_ROW ) bRated = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return bRated;
}

/* ---- Operations ------------------------------------------------------------ */

/*
** What every list function's n rows aRow (-1: an error) must satisfy: none
** for a NULL argument (bNull), an error for a bad one (bBad), else at most
** k, ranked 1, 2, ...  True if there are rows to check further.
*/
static int listChecked(const Row *aRow, int bNull, int bBad, int n,
                       sqlite3_int64 k){
  int i;
  if( bNull ){
    if( n!=0 ) fail("a NULL argument must give no rows", 0);
    return 0;
  }
  if( bBad ){
    if( n!=-1 ) fail("a bad argument must be an error", 0);
    return 0;
  }
  if( n<0 ) return 0;
  if( n>k ) fail("more rows than k", 0);
  for(i=0; i<n; i++){
    if( aRow[i].iRank!=i+1 ) fail("ranks are not 1, 2, ...", 0);
  }
  return 1;
}

/*
** similar_movies(id [, k [, options]]) or recommend(id [, k [, options]]),
** and what its rows must satisfy given its arguments.  Without options,
** similar_movies() scores are the cosines, and recommend() never returns a
** movie the user has rated.
*/
static void opTopK(Run *pRun, Input *p, int bSimilar, int nArg){
  static Row aRow[MAX_ROWS];
  static const char *azSql[2][3] = {
    { "SELECT movieId, score, rank FROM recommend(?1)",
      "SELECT movieId, score, rank FROM recommend WHERE user_id = ?1 AND k = ?2",
      "SELECT movieId, score, rank FROM recommend(?1, ?2, ?3)" },
    { "SELECT movieId, score, rank FROM similar_movies(?1)",
      "SELECT movieId, score, rank FROM similar_movies(?1, ?2)",
      "SELECT movieId, score, rank FROM similar_movies(?1, ?2, ?3)" },
  };
  sqlite3_stmt *pStmt = prepare(pRun, azSql[bSimilar][nArg-1]);
  char *zOpt = 0;
  Args a;
  sqlite3_int64 iQuery = 0, k = 10;
  int bNull, bBad, n, i;
  if( pStmt==0 ) return;
  argsDecode(pRun, p, &a, nArg<3 ? nArg : 2);
  argsBind(&a, pStmt, nArg<3 ? nArg : 2);
  if( nArg==3 ){
    zOpt = optionsText(p);
    sqlite3_bind_text(pStmt, 3, zOpt, -1, sqlite3_free);
  }
  bNull = sqlite3_value_type(arg(&a, 0))==SQLITE_NULL
       || (nArg>=2 && sqlite3_value_type(arg(&a, 1))==SQLITE_NULL);
  bBad = !asId(arg(&a, 0), &iQuery) || (nArg>=2 && (!asId(arg(&a, 1), &k) || k<0));
  n = stepAll(pRun, pStmt, aRow);
  if( listChecked(aRow, bNull, bBad, n, k) ){
    for(i=0; i<n; i++){
      int j;
      if( !isfinite(aRow[i].rScore) ) fail("score is not finite", 0);
      for(j=0; j<i; j++){
        if( aRow[j].iMovie==aRow[i].iMovie ) fail("a movie appears twice", 0);
      }
      if( bSimilar && aRow[i].iMovie==iQuery ){
        fail("a movie is its own neighbour", 0);
      }
      if( nArg==3 ) continue;
      if( bSimilar ){
        double rTrue = sqlCosine(pRun, iQuery, aRow[i].iMovie);
        if( i>0 && aRow[i].rScore>aRow[i-1].rScore+1e-9 ){
          fail("scores are not in decreasing order", 0);
        }
        if( !isnan(rTrue) && fabs(rTrue - aRow[i].rScore)>1e-6 ){
          char z[100];
          snprintf(z, sizeof(z), "%.17g instead of %.17g", aRow[i].rScore, rTrue);
          fail("similar_movies() score is not the cosine", z);
        }
      }else if( sqlRated(pRun, iQuery, aRow[i].iMovie)==1 ){
        fail("recommend() returned a movie the user has rated", 0);
      }
    }
  }
  argsFree(&a);
}

/*
** audience(movie, k [, options]): a NULL argument gives no rows, a bad one
** (k outside [1, 1000000]) an error; else at most k distinct users, ranks
** 1, 2, ..., finite scores >= 0 in decreasing order, none who rated it.
*/
static void opAudience(Run *pRun, Input *p){
  static Row aRow[MAX_ROWS];
  int bOpt = nextByte(p)%2;
  sqlite3_stmt *pStmt = prepare(pRun, bOpt
      ? "SELECT userId, score, rank FROM audience(?1, ?2, ?3)"
      : "SELECT userId, score, rank FROM audience(?1, ?2)");
  sqlite3_int64 iMovie = 0, k = 10;
  Args a;
  int bNull, bBad, n, i, j;
  if( pStmt==0 ) return;
  argsDecode(pRun, p, &a, 2);
  argsBind(&a, pStmt, 2);
  if( bOpt ) sqlite3_bind_text(pStmt, 3, optionsText(p), -1, sqlite3_free);
  bNull = sqlite3_value_type(arg(&a, 0))==SQLITE_NULL
       || sqlite3_value_type(arg(&a, 1))==SQLITE_NULL;
  bBad = !asId(arg(&a, 0), &iMovie) || !asId(arg(&a, 1), &k)
       || k<1 || k>1000000;
  n = stepAll(pRun, pStmt, aRow);
  if( listChecked(aRow, bNull, bBad, n, k) ){
    for(i=0; i<n; i++){
      if( !isfinite(aRow[i].rScore) || aRow[i].rScore<0.0 ){
        fail("audience() score is not a finite number >= 0", 0);
      }
      if( i>0 && aRow[i].rScore>aRow[i-1].rScore ){
        fail("audience() scores are not in decreasing order", 0);
      }
      for(j=0; j<i; j++){
        if( aRow[j].iMovie==aRow[i].iMovie ) fail("a user appears twice", 0);
      }
      if( sqlRated(pRun, aRow[i].iMovie, iMovie)==1 ){
        fail("audience() returned a user who rated the movie", 0);
      }
    }
  }
  argsFree(&a);
}

/* predict(a, b): NULL for a NULL argument, an error for a bad one. */
static void opPredict(Run *pRun, Input *p){
  sqlite3_stmt *pStmt = prepare(pRun, "SELECT predict(?1, ?2)");
  sqlite3_int64 x;
  Args a;
  int rc, eType;
  if( pStmt==0 ) return;
  argsDecode(pRun, p, &a, 2);
  argsBind(&a, pStmt, 2);
  traceStmt(pStmt);
  pRun->tStart = now();
  rc = sqlite3_step(pStmt);
  eType = rc==SQLITE_ROW ? sqlite3_column_type(pStmt, 0) : -1;
  if( sqlite3_value_type(arg(&a, 0))==SQLITE_NULL
   || sqlite3_value_type(arg(&a, 1))==SQLITE_NULL ){
    if( eType!=SQLITE_NULL ) fail("predict() of NULL is not NULL", 0);
  }else if( !asId(arg(&a, 0), &x) || !asId(arg(&a, 1), &x) ){
    if( rc!=SQLITE_ERROR && rc!=SQLITE_MISMATCH ){
      fail("predict() of a bad id is not an error", 0);
    }
  }else if( rc==SQLITE_ROW ){
    if( eType!=SQLITE_FLOAT || !isfinite(sqlite3_column_double(pStmt, 0)) ){
      fail("predict() is not a finite number", 0);
    }
  }
  if( rc!=SQLITE_ROW ) checkError(pRun->db, rc);
  sqlite3_finalize(pStmt);
  argsFree(&a);
}

/* A function of text options: train_mf() or mlrec_config(). */
static void opOptions(Run *pRun, Input *p, const char *zFunc){
  char *zSql = sqlite3_mprintf("SELECT %s(?1)", zFunc);
  sqlite3_stmt *pStmt = prepare(pRun, zSql);
  char *zOpt = optionsText(p);
  sqlite3_free(zSql);
  if( pStmt ){
    sqlite3_bind_text(pStmt, 1, zOpt, -1, SQLITE_TRANSIENT);
    stepAll(pRun, pStmt, 0);
  }
  sqlite3_free(zOpt);
}

/* A statement whose parameters are all decoded values. */
static void opWithArgs(Run *pRun, Input *p, const char *zSql, int nArg){
  sqlite3_stmt *pStmt = prepare(pRun, zSql);
  Args a;
  if( pStmt==0 ) return;
  argsDecode(pRun, p, &a, nArg);
  argsBind(&a, pStmt, nArg);
  stepAll(pRun, pStmt, 0);
  argsFree(&a);
}

/* Features in Spark's layout: a JSON array of numbers, or anything. */
static char *featuresText(Input *p){
  sqlite3_str *pStr = sqlite3_str_new(0);
  int n = (int)(nextByte(p) % 6), i;
  sqlite3_str_appendchar(pStr, 1, '[');
  for(i=0; i<n; i++){
    if( i ) sqlite3_str_appendchar(pStr, 1, ',');
    appendJsonValue(pStr, p);
  }
  sqlite3_str_appendchar(pStr, 1, ']');
  return sqlite3_str_finish(pStr);
}

static void opFactorRow(Run *pRun, Input *p){
  const char *zTable = nextByte(p)%2 ? "su" : "si";
  char *zSql = sqlite3_mprintf("INSERT INTO %s VALUES(?1, ?2)", zTable);
  sqlite3_stmt *pStmt = prepare(pRun, zSql);
  sqlite3_free(zSql);
  if( pStmt==0 ) return;
  bindValue(pStmt, 1, p);
  if( nextByte(p)%4 ){
    char *z = featuresText(p);
    sqlite3_bind_text(pStmt, 2, z, -1, sqlite3_free);
  }else{
    bindValue(pStmt, 2, p);
  }
  stepAll(pRun, pStmt, 0);
}

static void opChangeRatings(Run *pRun, Input *p){
  static const char *azSql[] = {
    "INSERT INTO \"%w\" VALUES(?1, ?2, ?3)",
    "DELETE FROM \"%w\" WHERE userId = ?1",
    "UPDATE \"%w\" SET rating = ?1 WHERE movieId = ?2",
    "UPDATE \"%w\" SET movieId = ?1 WHERE userId = ?2",
  };
  static const int aArg[] = { 3, 1, 2, 2 };
  unsigned int k = nextByte(p) % COUNT(azSql);
  char *zSql = sqlite3_mprintf(azSql[k], pRun->zBase);
  opWithArgs(pRun, p, zSql, aArg[k]);
  sqlite3_free(zSql);
}

/* Damage a saved model (or not: the value may be the same). */
static void opDamage(Run *pRun, Input *p){
  static const char *azSql[] = {
    "UPDATE mlrec_saved_vectors SET factors = ?1 WHERE id = ?2",
    "UPDATE mlrec_saved_vectors SET bias = ?1 WHERE id = ?2",
    "UPDATE mlrec_saved_vectors SET id = ?1 WHERE id = ?2",
    "DELETE FROM mlrec_saved_vectors WHERE id = ?1",
    "UPDATE mlrec_saved_models SET users = ?1",
    "UPDATE mlrec_saved_models SET factors = ?1",
    "UPDATE mlrec_saved_models SET format = ?1",
    "UPDATE mlrec_saved_models SET mean = ?1",
    "UPDATE mlrec_saved_models SET rating_min = ?1, rating_max = ?2",
    "UPDATE mlrec_saved_models SET data_hash = ?1, checksum = ?2",
    "UPDATE mlrec_saved_models SET info = ?1",
    "UPDATE mlrec_saved_models SET kind = ?1",
    "UPDATE mlrec_saved_neighbours SET ratings = ?1 WHERE id = ?2",
    "UPDATE mlrec_saved_neighbours SET bias = ?1, digest = ?2",
    "DELETE FROM mlrec_saved_neighbours WHERE id = ?1",
    "UPDATE mlrec_saved_rankers SET gram = ?1, timed = ?2",
    "UPDATE mlrec_saved_rankers SET items = ?1, options = ?2",
    "UPDATE mlrec_saved_ranker_items SET links = ?1 WHERE id = ?2",
    "UPDATE mlrec_saved_ranker_items SET factors = ?1, count = ?2",
    "DELETE FROM mlrec_saved_ranker_items WHERE id = ?1",
  };
  unsigned int k = nextByte(p) % COUNT(azSql);
  opWithArgs(pRun, p, azSql[k], strstr(azSql[k], "?2") ? 2 : 1);
}

static void opTransaction(Run *pRun, Input *p){
  static const char *azSql[] = {
    "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "ROLLBACK TO s", "RELEASE s"
  };
  execSql(pRun, azSql[nextByte(p) % COUNT(azSql)]);
}

/* mlrec_evaluate(table, options) on one of the tables of the input. */
static void opEvaluate(Run *pRun, Input *p){
  static const char *azTable[] = { "ratings", "r0", "su", "nope" };
  sqlite3_stmt *pStmt = prepare(pRun, "SELECT mlrec_evaluate(?1, ?2)");
  if( pStmt==0 ) return;
  sqlite3_bind_text(pStmt, 1, azTable[nextByte(p) % COUNT(azTable)], -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, optionsText(p), -1, sqlite3_free);
  stepAll(pRun, pStmt, 0);
}

static void runOps(Run *pRun, Input *p){
  int nOp;
  for(nOp=0; nOp<32 && !atEnd(p); nOp++){
    switch( nextByte(p) % 26 ){
      case 0:  opTopK(pRun, p, 1, 1); break;
      case 1:  opTopK(pRun, p, 1, 2); break;
      case 2:  opTopK(pRun, p, 0, 1); break;
      case 3:  opTopK(pRun, p, 0, 2); break;
      case 4:  opPredict(pRun, p); break;
      case 5:  opOptions(pRun, p, "train_mf"); break;
      case 6:  opWithArgs(pRun, p, "SELECT train_mf(?1)", 1); break;
      case 7:  opOptions(pRun, p, "mlrec_config"); break;
      case 8:  execSql(pRun, "SELECT * FROM mlrec_models"); break;
      case 9:
        execSql(pRun, "SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings)"
                      " r, similar_movies(r.movieId, 3)");
        break;
      case 10:
        execSql(pRun, "SELECT count(*) FROM (SELECT DISTINCT userId FROM ratings)"
                      " u, recommend(u.userId, 2)");
        break;
      case 11: opWithArgs(pRun, p, "SELECT mlrec_save_model(?1)", 1); break;
      case 12: opWithArgs(pRun, p, "SELECT mlrec_load_model(?1)", 1); break;
      case 13: execSql(pRun, "SELECT mlrec_save_model('m')"); break;
      case 14: execSql(pRun, "SELECT mlrec_load_model('m')"); break;
      case 15:
        execSql(pRun, nextByte(p)%2 ? "SELECT mlrec_import_factors('m', 'su', 'si')"
                                    : "SELECT mlrec_import_factors('s', 'su', 'si')");
        break;
      case 16: opFactorRow(pRun, p); break;
      case 17: opChangeRatings(pRun, p); break;
      case 18: opDamage(pRun, p); break;
      case 19: opTransaction(pRun, p); break;
      case 20: opTopK(pRun, p, 1, 3); break;
      case 21: opTopK(pRun, p, 0, 3); break;
      case 22: opOptions(pRun, p, "train_ranker"); break;
      case 23: opEvaluate(pRun, p); break;
      case 25:
        switch( nextByte(p)%4 ){
          case 1:
            opWithArgs(pRun, p, "SELECT * FROM similar_users(?1, ?2)", 2);
            break;
          case 0:
            execSql(pRun, "SELECT count(*) FROM (SELECT DISTINCT userId FROM"
                          " ratings) u, similar_users(u.userId, 3)");
            break;
          case 2:
            opAudience(pRun, p);
            break;
          default:
            execSql(pRun, "SELECT count(*) FROM (SELECT DISTINCT movieId FROM"
                          " ratings) m, audience(m.movieId, 3)");
            break;
        }
        break;
      default:
        if( nextByte(p)%2 ){
          opWithArgs(pRun, p, "SELECT mlrec_split_hash(?1, ?2)", 2);
        }else{
          opWithArgs(pRun, p, "SELECT mlrec_split_hash(?1, ?2, ?3)", 3);
        }
        break;
    }
  }
}

/*
** Calls back into mlrec that a view read by mlrec may make (%s is the row's
** id column): each must get a clean error (mlrec refuses calls from SQL it
** runs), or run if it is pure.
*/
static const char *azCallback[] = {
  "predict(%s, 1)",
  "(SELECT count(*) FROM similar_movies(%s, 2))",
  "(SELECT count(*) FROM recommend(%s, 2))",
  "mlrec_config('{}')",
  "train_mf('{\"epochs\": 1, \"factors\": 2}')",
  "mlrec_evaluate('r0')",
  "(SELECT count(*) FROM mlrec_models)",
  "mlrec_split_hash(%s, 1)",
  "train_ranker('{\"iterations\": 1, \"factors\": 2}')",
  "mlrec_save_model('cb')",
  "mlrec_load_model('cb')",
  "(SELECT count(*) FROM mlrec_training_log)",
  "(SELECT count(*) FROM audience(1, 2))",
};
#define VIEW_RATINGS 1     /* bits of the byte that says which tables are */
#define VIEW_MOVIES 2      /* TEMP views calling back */
#define VIEW_TAGS 4
#define VIEW_EMBEDDINGS 8

/* CREATE TEMP VIEW zView AS SELECT * FROM zTable with callback iCb on every
** row (a condition always true, that the planner cannot drop). */
static void createCallbackView(Run *pRun, const char *zView,
                               const char *zTable, const char *zId, int iCb){
  char *zCall = sqlite3_mprintf(azCallback[iCb], zId);
  char *zSql = sqlite3_mprintf("CREATE TEMP VIEW %s AS SELECT * FROM %s "
                               "WHERE (%s) IS NOT NULL OR (%s) IS NULL", zView,
                               zTable, zCall, zCall);
  execSql(pRun, zSql);
  sqlite3_free(zSql);
  sqlite3_free(zCall);
}

/* Movies 0 to 11 with genres, and a few tags: what content vectors read;
** each maybe a view calling back (mViews). */
static void createMovies(Run *pRun, Input *p, int mViews, int iCb){
  static const char *azGenre[] = {
    "Drama", "Comedy|Drama", "Horror", "", "(no genres listed)", "Comedy"
  };
  static const char *azTag[] = { "scary", "Scary", "funny", "", "dark" };
  const char *zMovies = mViews & VIEW_MOVIES ? "m0" : "movies";
  const char *zTags = mViews & VIEW_TAGS ? "t0" : "tags";
  sqlite3_stmt *pIns = 0;
  char *zSql;
  int i;
  zSql = sqlite3_mprintf("CREATE TABLE %s(movieId INTEGER PRIMARY KEY, title, "
                         "genres)", zMovies);
  execSql(pRun, zSql);
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("CREATE TABLE %s(userId, movieId, tag)", zTags);
  execSql(pRun, zSql);
  sqlite3_free(zSql);
  if( mViews & VIEW_MOVIES ){
    createCallbackView(pRun, "movies", "m0", "movieId", iCb);
  }
  if( mViews & VIEW_TAGS ) createCallbackView(pRun, "tags", "t0", "movieId", iCb);
  for(i=0; i<12; i++){
    char *zSql = sqlite3_mprintf("INSERT INTO %s VALUES(%d, 'm%d', %Q)", zMovies,
                                 i, i, azGenre[nextByte(p) % COUNT(azGenre)]);
    execSql(pRun, zSql);
    sqlite3_free(zSql);
  }
  zSql = sqlite3_mprintf("INSERT INTO %s VALUES(?1, ?2, ?3)", zTags);
  for(i=(int)(nextByte(p) % 8); i>0; i--){
    pIns = prepare(pRun, zSql);
    if( pIns==0 ) break;
    bindValue(pIns, 1, p);
    bindValue(pIns, 2, p);
    sqlite3_bind_text(pIns, 3, azTag[nextByte(p) % COUNT(azTag)], -1, SQLITE_STATIC);
    stepAll(pRun, pIns, 0);
  }
  sqlite3_free(zSql);
}

/* Three embeddings, in a table read through a view calling back. */
static void createEmbeddings(Run *pRun, int iCb){
  execSql(pRun, "CREATE TABLE e0(movieId INTEGER PRIMARY KEY, embedding)");
  execSql(pRun, "INSERT INTO e0 VALUES (1, '[1, 0]'), (2, '[0, 1]'), "
                "(3, '[1, 1]')");
  createCallbackView(pRun, "movie_embeddings", "e0", "movieId", iCb);
}

/*
** The tables of the input: ratings (maybe a view), Spark's factors, maybe
** movies and tags; with flag 8, a callback and the tables read through
** TEMP views that make it (VIEW_*).
*/
static void createTables(Run *pRun, Input *p){
  unsigned int flags = nextByte(p);
  int iCb = flags & 8 ? (int)(nextByte(p) % COUNT(azCallback)) : 0;
  int mViews = flags & 8 ? (int)nextByte(p) : 0;
  int nRow = (int)(nextByte(p) % 48), i;
  char *zSql;
  sqlite3_stmt *pIns;
  pRun->zBase = flags & 2 || mViews & VIEW_RATINGS ? "r0" : "ratings";
  zSql = sqlite3_mprintf(flags & 1 ?
      "CREATE TABLE \"%w\"(userId INTEGER, movieId INTEGER, rating REAL)" :
      "CREATE TABLE \"%w\"(userId, movieId, rating)", pRun->zBase);
  execSql(pRun, zSql);
  sqlite3_free(zSql);
  if( mViews & VIEW_RATINGS ){
    createCallbackView(pRun, "ratings", "r0", "userId", iCb);
  }else if( flags & 2 ){
    execSql(pRun, "CREATE VIEW ratings AS SELECT * FROM r0");
  }
  execSql(pRun, "CREATE TABLE su(id INTEGER, features)");
  execSql(pRun, "CREATE TABLE si(id INTEGER, features)");
  if( flags & 4 ) createMovies(pRun, p, mViews, iCb);
  if( mViews & VIEW_EMBEDDINGS ) createEmbeddings(pRun, iCb);
  zSql = sqlite3_mprintf("INSERT INTO \"%w\" VALUES(?1, ?2, ?3)", pRun->zBase);
  for(i=0; i<nRow && !atEnd(p); i++){
    pIns = prepare(pRun, zSql);
    if( pIns==0 ) break;
    bindValue(pIns, 1, p);
    bindValue(pIns, 2, p);
    bindValue(pIns, 3, p);
    stepAll(pRun, pIns, 0);
  }
  sqlite3_free(zSql);
  nRow = (int)(nextByte(p) % 12);
  for(i=0; i<nRow && !atEnd(p); i++) opFactorRow(pRun, p);
}

/* ---- The entry point ------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  Input in;
  Run run;
  sqlite3 *db = 0;
  char *zErr = 0;
  in.a = aData;
  in.n = nData;
  in.i = 0;
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK ) fail("open", 0);
  if( sqlite3_mlrec_init(db, &zErr, 0)!=SQLITE_OK ) fail("init", zErr);
  memset(&run, 0, sizeof(run));
  run.db = db;
  run.tStart = now();
  sqlite3_progress_handler(db, 100, progress, &run);
  createTables(&run, &in);
  runOps(&run, &in);
  if( sqlite3_close(db)!=SQLITE_OK ) fail("sqlite3_close", sqlite3_errmsg(db));
  return 0;
}

#ifdef MLREC_FUZZ_REPLAY
/* Without libFuzzer: run each file given, once.  "fuzz-replay: N passed". */
int main(int argc, char **argv){
  int i, n = 0;
  bTrace = getenv("MLREC_FUZZ_TRACE")!=0;
  for(i=1; i<argc; i++){
    FILE *f = fopen(argv[i], "rb");
    uint8_t *a;
    long nByte;
    if( f==0 ){ perror(argv[i]); return 2; }
    fseek(f, 0, SEEK_END);
    nByte = ftell(f);
    rewind(f);
    a = malloc(nByte ? nByte : 1);
    if( a==0 || fread(a, 1, nByte, f)!=(size_t)nByte ){ perror(argv[i]); return 2; }
    fclose(f);
    if( bTrace ) fprintf(stderr, "== %s\n", argv[i]);
    LLVMFuzzerTestOneInput(a, (size_t)nByte);
    free(a);
    n++;
  }
  printf("fuzz-replay: %d passed, 0 failed\n", n);
  return 0;
}
#endif
