/*
** tests/oom.c: out-of-memory test of every SQL function of mlrec.
**
**     make build/oom && build/oom            (every scenario)
**     build/oom -v train_default             (one scenario, verbose)
**     build/oom --part=1/2                   (every other scenario: tests/run
**                                             runs the two halves in its
**                                             two lanes)
**
** The program installs a failing allocator with sqlite3_config(
** SQLITE_CONFIG_MALLOC) before SQLite starts, so every allocation of SQLite
** and of the extension (which allocates only through sqlite3_malloc64) goes
** through it.  The extension is compiled in (-DSQLITE_CORE) and registered
** on each connection by calling sqlite3_mlrec_init().
**
** Each scenario is some setup SQL and a statement under test.  First the
** statement runs without faults, giving the reference output.  Then, for
** N = 1, 2, 3, ... the scenario runs on a fresh connection with the Nth
** allocation of the statement failing (and, in the "persistent" mode, every
** allocation after it too), until a run completes without reaching the Nth
** allocation.  After every run:
**
**   - the statement failed with SQLITE_NOMEM, or (if SQLite absorbed the
**     failure) succeeded with exactly the reference output;
**   - the same statement, run again on the same connection without faults,
**     gives the reference output: the connection still works and nothing
**     was left half-built;
**   - sqlite3_close() succeeds and the number of outstanding allocations is
**     back to what it was before the connection opened: no leak.
**
** Prints "oom: N passed, N failed" (one test per run).
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_mlrec_init(sqlite3*, char**, const sqlite3_api_routines*);

/* ---- The failing allocator --------------------------------------------- */

static sqlite3_mem_methods defaultMem;
static struct {
  int iCount;        /* allocations seen since armed */
  int iFail;         /* fail the iFail-th; 0 = disarmed */
  int bPersist;      /* also fail every allocation after it */
  int nFail;         /* failures injected */
  long long nOut;    /* outstanding allocations */
} fault;

static int faultNow(void){
  if( fault.iFail==0 ) return 0;
  fault.iCount++;
  if( fault.iCount==fault.iFail || (fault.bPersist && fault.iCount>fault.iFail) ){
    fault.nFail++;
    return 1;
  }
  return 0;
}

static void *faultMalloc(int n){
  void *p = faultNow() ? 0 : defaultMem.xMalloc(n);
  if( p ) fault.nOut++;
  return p;
}

static void faultFree(void *p){
  if( p ) fault.nOut--;
  defaultMem.xFree(p);
}

static void *faultRealloc(void *p, int n){
  return faultNow() ? 0 : defaultMem.xRealloc(p, n);
}

static void faultArm(int iFail, int bPersist){
  fault.iCount = 0;
  fault.iFail = iFail;
  fault.bPersist = bPersist;
  fault.nFail = 0;
}

static void faultDisarm(void){
  fault.iFail = 0;
}

static void installFaultAllocator(void){
  sqlite3_mem_methods m;
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &defaultMem);
  m = defaultMem;
  m.xMalloc = faultMalloc;
  m.xFree = faultFree;
  m.xRealloc = faultRealloc;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
  /* without lookaside, every small allocation goes through the allocator */
  sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
}

/* ---- Running SQL and recording what it printed -------------------------- */

typedef struct Out Out;
struct Out {
  char *z;
  size_t n, nAlloc;
};

/* Output buffers use the C library: they must not see injected faults. */
static void outAppend(Out *p, const char *z){
  size_t n = strlen(z);
  if( p->n+n+1>p->nAlloc ){
    p->nAlloc = 2*(p->n+n+1);
    p->z = realloc(p->z, p->nAlloc);
    if( p->z==0 ){ perror("realloc"); exit(2); }
  }
  memcpy(p->z+p->n, z, n+1);
  p->n += n;
}

static void outReset(Out *p){
  p->n = 0;
  outAppend(p, "");
}

/*
** Run the statements of zSql, appending each row ("a|b|c\n") to pOut.
** Stops at the first error, appending "error <code>: <message>".
** Returns the primary result code.
*/
static int runSql(sqlite3 *db, const char *zSql, Out *pOut){
  const char *zTail = zSql;
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK && zTail && zTail[0] ){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(db, zTail, -1, &pStmt, &zTail);
    if( rc!=SQLITE_OK || pStmt==0 ) break;
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      int i;
      for(i=0; i<sqlite3_column_count(pStmt); i++){
        const char *z = (const char*)sqlite3_column_text(pStmt, i);
        if( z==0 && sqlite3_errcode(db)==SQLITE_NOMEM ){
          rc = SQLITE_NOMEM;
          break;
        }
        if( i ) outAppend(pOut, "|");
        outAppend(pOut, z ? z : "NULL");
      }
      if( rc==SQLITE_NOMEM ) break;
      outAppend(pOut, "\n");
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    if( rc==SQLITE_ROW ) rc = SQLITE_NOMEM;
    sqlite3_finalize(pStmt);
  }
  if( rc!=SQLITE_OK ){
    char zBuf[64];
    snprintf(zBuf, sizeof(zBuf), "error %d: ", rc & 0xff);
    outAppend(pOut, zBuf);
    outAppend(pOut, sqlite3_errmsg(db));
  }
  return rc & 0xff;
}

/* ---- Scenarios ----------------------------------------------------------- */

typedef struct Scenario Scenario;
struct Scenario {
  const char *zName;
  const char *zSetup;    /* run without faults after the fixture */
  const char *zSql;      /* the statements under test */
};

#define TRAIN_SMALL "SELECT json_remove(train_mf('{\"factors\": 3, \"epochs\": 5}'), '$.seconds');"
#define SPARK "CREATE TABLE su(id INTEGER PRIMARY KEY, features TEXT);" \
  "CREATE TABLE si(id INTEGER PRIMARY KEY, features TEXT);" \
  "INSERT INTO su VALUES(1, '[1.0, 0.5]'), (2, '[0.25, 1.0]');" \
  "INSERT INTO si VALUES(10, '[2.0, 1.0]'), (20, '[0.5, 2.5]'), (30, '[1.5, 0.5]');"
#define TIMED "CREATE TABLE timed AS SELECT *, movieId * 10 + userId AS timestamp FROM ratings;" \
  "INSERT INTO timed VALUES (4, 10, 5, 1), (4, 30, 4, 2);" \
  "SELECT mlrec_config('{\"ratings_table\": \"timed\"}');" \
  "SELECT json_extract(train_ranker('{\"factors\": 2}'), '$.timed');"
#define MODELS "SELECT model, ratings, users, items, options, round(rmse, 9), stale FROM mlrec_models;"
#define RANKER_SMALL "SELECT json_extract(train_ranker('{\"factors\": 2}'), '$.factors');"
#define SAVED_BOTH TRAIN_SMALL RANKER_SMALL "SELECT mlrec_save_model('m');"
#define ORIGINS "SELECT model, origin, name, length(checksum) FROM mlrec_models WHERE model <> 'knn';"
#define SERVE "SELECT round(predict(1, 40), 9), round(predict(3, 10), 9), round(predict(9, 10), 9);" \
  "SELECT movieId, round(score, 9), because FROM recommend(2, 3);"

static const Scenario aScenario[] = {
  { "version", "", "SELECT mlrec_version();" },
  { "config_get", "", "SELECT mlrec_config();" },
  { "config_set", "",
    "SELECT mlrec_config('{\"ratings_table\": \"ratings\", \"rating_column\": \"rating\"}');" },
  { "config_bad", "", "SELECT mlrec_config('{\"ratings_table\": 3}');" },
  { "similar_cold", "",
    "SELECT movieId, round(score, 9), rank FROM similar_movies(10, 5);" },
  { "similar_warm", "SELECT count(*) FROM similar_movies(10);",
    "SELECT movieId, round(score, 9), rank FROM similar_movies(40, 5);" },
  { "similar_join", "",
    "SELECT r.movieId, s.movieId FROM (SELECT DISTINCT movieId FROM ratings) r, "
    "similar_movies(r.movieId, 2) s;" },
  { "similar_changed", "SELECT count(*) FROM similar_movies(10);",
    "UPDATE ratings SET rating = 1 WHERE userId = 2 AND movieId = 10;"
    "SELECT movieId, round(score, 9) FROM similar_movies(10, 3);" },
  { "similar_bad_table", "SELECT mlrec_config('{\"ratings_table\": \"nope\"}');",
    "SELECT * FROM similar_movies(10);" },
  { "similar_floats", "UPDATE ratings SET rating = rating + 0.25;"
    "INSERT INTO ratings VALUES (2, 80, 5), (1, 70, 3.5);",
    "SELECT movieId, round(score, 9), rank FROM similar_movies(10, 5);"
    "SELECT userId, round(score, 9) FROM similar_users(2, 2);" },
  { "train_floats", "UPDATE ratings SET rating = rating * 0.3;",
    TRAIN_SMALL RANKER_SMALL
    "SELECT round(predict(1, 40), 9);"
    "SELECT movieId, round(score, 9) FROM recommend(2, 3);" },
  { "train_default", "", "SELECT json_remove(train_mf(), '$.seconds');" },
  { "train_options", "", TRAIN_SMALL },
  { "train_bad_option", "", "SELECT train_mf('{\"factor\": 3}');" },
  { "retrain", TRAIN_SMALL,
    "SELECT json_remove(train_mf('{\"factors\": 2, \"epochs\": 3, \"seed\": 9}'), '$.seconds');"
    "SELECT round(predict(1, 40), 9);" },
  { "predict_cold", "", "SELECT round(predict(1, 40), 9), round(predict(9, 9), 9);" },
  { "predict_warm", TRAIN_SMALL, "SELECT round(predict(2, 30), 9);" },
  { "predict_bad", "", "SELECT predict('x', 1);" },
  { "predict_foldin", TRAIN_SMALL "INSERT INTO ratings VALUES (4, 10, 5), (4, 20, 1);",
    "SELECT round(predict(4, 30), 9), round(predict(4, 40), 9);"
    "SELECT movieId, round(score, 9) FROM recommend(4, 3, '{\"model\": \"rating\"}');" },
  { "recommend_cold", "", "SELECT movieId, round(score, 9), rank FROM recommend(2, 5);" },
  { "recommend_warm", TRAIN_SMALL,
    "SELECT movieId, round(score, 9), rank FROM recommend(3, 5);"
    "SELECT movieId, rank FROM recommend(999, 2);" },
  { "recommend_join", TRAIN_SMALL,
    "SELECT u.userId, r.movieId FROM (SELECT DISTINCT userId FROM ratings) u, "
    "recommend(u.userId, 2) r;" },
  { "models", "SELECT count(*) FROM similar_movies(10);" TRAIN_SMALL, MODELS },
  { "models_stale", TRAIN_SMALL "UPDATE ratings SET rating = 2 WHERE userId = 3 AND movieId = 20;",
    MODELS },
  { "debug", "", "SELECT json_extract(mlrec_debug(), '$.version');" },
  { "train_validation", "",
    "SELECT json_remove(train_mf('{\"factors\": 3, \"epochs\": 30, \"validation\": 0.3, "
    "\"patience\": 2, \"learning_rate\": 0.5, \"seed\": 2}'), '$.seconds');" },
  { "training_log", TRAIN_SMALL,
    "SELECT epoch, round(train_rmse, 9), round(validation_rmse, 9), kept "
    "FROM mlrec_training_log;" },
  { "ranker_train", "",
    "SELECT json_remove(train_ranker('{\"factors\": 3}'), '$.seconds');" },
  { "ranker_timed", TIMED,
    "SELECT movieId, round(score, 9), because FROM recommend(1, 3);"
    "SELECT movieId, because FROM recommend(4, 3);" },
  { "recommend_options", "",
    "SELECT movieId, because FROM recommend(2, 5, '{\"genre\": \"drama\", "
    "\"include_rated\": true}');"
    "SELECT movieId FROM recommend(2, 5, '{\"movies\": [10, 50, 60], "
    "\"model\": \"popular\"}');"
    "SELECT movieId FROM recommend(2, 5, '{\"model\": \"rating\"}');" },
  { "evaluate", "CREATE TABLE test AS SELECT * FROM ratings WHERE userId = 2;"
    "DELETE FROM ratings WHERE userId = 2 AND movieId = 40;"
    "DELETE FROM test WHERE movieId <> 40;",
    "SELECT json_extract(mlrec_evaluate('test', '{\"k\": 2}'), '$.ndcg', '$.users');"
    "SELECT round(mlrec_split_hash(1, 2, 3), 9);" },
  { "evaluate_held_in", "CREATE TABLE test AS SELECT * FROM ratings WHERE userId = 2;",
    "SELECT mlrec_evaluate('test');" },
  { "recommend_new_movies", "CREATE TABLE movie_embeddings(movieId, embedding);"
    "INSERT INTO movie_embeddings VALUES (10, '[0, 1]'), (40, '[1, 0]'),"
    " (70, '[1, 0.1]'), (80, '[0.5, 0.5]');",
    "SELECT movieId, because FROM recommend(2, 5, "
    "'{\"content\": \"embedding\", \"cold_below\": 2}');" },
  { "similar_users", "", "SELECT userId, round(score, 9), corated FROM "
    "similar_users(1, 3); SELECT count(*) FROM (SELECT DISTINCT userId FROM "
    "ratings) u, similar_users(u.userId, 2);" },
  { "audience", "INSERT INTO ratings VALUES (2, 80, 5), (3, 80, 4);",
    "SELECT userId, round(score, 15) FROM audience(50, 3);"
    "SELECT userId FROM audience(80, 2, '{\"min_ratings\": 2}');"
    "SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) m, "
    "audience(m.movieId, 2);" },
  { "audience_timed", TIMED,
    "UPDATE timed SET timestamp = 1000 - movieId * 10 - userId;"
    "SELECT userId, round(score, 12) FROM audience(40, 3);"
    "UPDATE timed SET timestamp = movieId * 10 + userId;"
    "SELECT userId, round(score, 12) FROM audience(40, 3);" },
  { "similar_corated", "", "SELECT movieId, corated FROM similar_movies(10, 3, "
    "'{\"genre\": \"Drama\"}');" },
  { "similar_content", "CREATE TABLE tags(userId, movieId, tag);"
    "INSERT INTO tags VALUES (1, 40, 'scary'), (2, 70, 'Scary');",
    "SELECT movieId, round(score, 9) FROM similar_movies(70, 3, '{\"method\": \"content\"}');"
    "SELECT movieId, round(score, 9) FROM similar_movies(10, 3, '{\"method\": \"hybrid\"}');" },
  { "similar_embedding", "CREATE TABLE movie_embeddings(movieId, embedding);"
    "INSERT INTO movie_embeddings VALUES (10, '[1, 0]'), (20, '[1, 1]'), (30, x'0000803f0000803f');",
    "SELECT movieId, round(score, 9) FROM similar_movies(10, 3, "
    "'{\"method\": \"content\", \"content\": \"embedding\"}');" },
  { "save", TRAIN_SMALL,
    "SELECT mlrec_save_model('m');"
    "SELECT name, users, items, factors, length(checksum) FROM mlrec_saved_models;"
    "SELECT count(*), sum(length(factors)) FROM mlrec_saved_vectors;" },
  { "load", TRAIN_SMALL "SELECT mlrec_save_model('m');" SPARK,
    "SELECT mlrec_load_model('m');" MODELS
    "SELECT round(predict(1, 40), 9), round(predict(3, 10), 9);" },
  { "load_damaged", TRAIN_SMALL "SELECT mlrec_save_model('m');"
    "UPDATE mlrec_saved_vectors SET bias = 0.5 WHERE side = 'user' AND id = 2;",
    "SELECT mlrec_load_model('m');" },
  { "import", SPARK,
    "SELECT mlrec_import_factors('s', 'su', 'si');"
    "SELECT mlrec_load_model('s');"
    "SELECT round(predict(1, 10), 9), round(predict(2, 30), 9);" },
  { "import_bad", SPARK "INSERT INTO si VALUES(70, '[1, 2, 3]');",
    "SELECT mlrec_import_factors('s', 'su', 'si');" },
  /* every kind of model saved and loaded: the rating model with its
  ** neighbourhood half (whose rows a prediction reads lazily), the ranking
  ** model with its sequence links, imported factors, a copy shared */
  { "save_both", TRAIN_SMALL RANKER_SMALL,
    "SELECT mlrec_save_model('m');"
    "SELECT count(*), sum(length(ratings)) FROM mlrec_saved_neighbours;"
    "SELECT count(*), sum(length(factors)) FROM mlrec_saved_ranker_items;" ORIGINS },
  { "save_timed", TIMED, "SELECT mlrec_save_model('t');"
    "SELECT sum(length(links)) FROM mlrec_saved_ranker_items;" },
  { "load_both", SAVED_BOTH SPARK "SELECT mlrec_import_factors('s', 'su', 'si');"
    "SELECT mlrec_load_model('s');",
    "SELECT mlrec_load_model('m');" ORIGINS SERVE },
  { "load_timed", TIMED "SELECT mlrec_save_model('t');"
    "SELECT mlrec_config('{\"ratings_table\": \"ratings\"}');" SPARK
    "SELECT mlrec_import_factors('s', 'su', 'si'), mlrec_load_model('s');"
    "SELECT mlrec_config('{\"ratings_table\": \"timed\"}');",
    "SELECT mlrec_load_model('t');"
    "SELECT movieId, round(score, 9), because FROM recommend(4, 3);" },
  { "load_shared", SAVED_BOTH "SELECT mlrec_load_model('m');",
    "SELECT mlrec_load_model('m');" ORIGINS SERVE },
  { "save_loaded", SAVED_BOTH "SELECT mlrec_load_model('m');",
    "SELECT mlrec_save_model('m2');"
    "SELECT a.checksum = b.checksum FROM mlrec_saved_models a, mlrec_saved_models b "
    "WHERE a.name = 'm' AND b.name = 'm2';" },
  { "autoload", TRAIN_SMALL RANKER_SMALL "SELECT mlrec_save_model();" SPARK
    "SELECT mlrec_import_factors('s', 'su', 'si'), mlrec_load_model('s');",
    "SELECT movieId FROM recommend(2, 3, '{\"model\": \"ranking\"}');" ORIGINS },
  { "import_implicit", SPARK,
    "SELECT mlrec_import_factors('s', 'su', 'si', '{\"implicit\": true}');"
    "SELECT mlrec_load_model('s');"
    "SELECT movieId, round(score, 9) FROM recommend(1, 3);" ORIGINS },
  { "load_damaged_ranker", SAVED_BOTH
    "UPDATE mlrec_saved_ranker_items SET count = count + 1 WHERE id = 30;",
    "SELECT mlrec_load_model('m');" },
};
#define N_SCENARIO (int)(sizeof(aScenario)/sizeof(aScenario[0]))

static char *zFixture;   /* data/fixture.sql */
static int bVerbose;
static int nPass, nFail;

static char *readFile(const char *zPath){
  FILE *f = fopen(zPath, "rb");
  char *z;
  long n;
  if( f==0 ){ perror(zPath); exit(2); }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  z = malloc(n+1);
  if( z==0 || fread(z, 1, n, f)!=(size_t)n ){ perror(zPath); exit(2); }
  z[n] = 0;
  fclose(f);
  return z;
}

/* A connection with mlrec and the fixture, or exit on failure (no faults). */
static sqlite3 *openFixture(const Scenario *pS){
  sqlite3 *db = 0;
  char *zErr = 0;
  Out o = {0, 0, 0};
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK
   || sqlite3_mlrec_init(db, &zErr, 0)!=SQLITE_OK
   || runSql(db, zFixture, &o)!=SQLITE_OK
   || runSql(db, pS->zSetup, &o)!=SQLITE_OK ){
    fprintf(stderr, "oom: setup of %s failed: %s %s\n", pS->zName,
            zErr ? zErr : "", o.z ? o.z : "");
    exit(2);
  }
  free(o.z);
  return db;
}

static void check(int bOk, const Scenario *pS, const char *zMode, int iFail,
                  const char *zWhat, const char *zGot, const char *zWant){
  if( bOk ){
    nPass++;
    return;
  }
  nFail++;
  printf("FAIL oom %s %s fail-at %d: %s\n", pS->zName, zMode, iFail, zWhat);
  if( zGot ) printf("  got:      %s\n", zGot);
  if( zWant ) printf("  expected: %s\n", zWant);
}

/*
** True if zGot is the error of reference zRef with SQLite's generic message
** for its code: SQLite could not copy the message of sqlite3_result_error()
** or of a virtual table, and reports the code alone.  The call failed as
** it should.
*/
static int lostMessage(int rc, const char *zGot, const char *zRef){
  char zCode[32], zGeneric[300];
  snprintf(zCode, sizeof(zCode), "error %d: ", rc);
  snprintf(zGeneric, sizeof(zGeneric), "%s%s", zCode, sqlite3_errstr(rc));
  return strcmp(zGot, zGeneric)==0 && strncmp(zRef, zCode, strlen(zCode))==0;
}

/*
** One run of scenario pS with allocation iFail failing.  Returns 1 if the
** run reached the failing allocation, 0 if it completed before it.
*/
static int runWithFault(const Scenario *pS, const char *zRef, int iFail,
                        int bPersist){
  const char *zMode = bPersist ? "persistent" : "transient";
  long long nBefore = fault.nOut;
  Out o = {0, 0, 0};
  Out again = {0, 0, 0};
  sqlite3 *db = openFixture(pS);
  int rc, nInjected;
  outReset(&o);
  faultArm(iFail, bPersist);
  rc = runSql(db, pS->zSql, &o);
  nInjected = fault.nFail;
  faultDisarm();
  if( nInjected==0 ){
    check(strcmp(o.z, zRef)==0, pS, zMode, iFail, "result without fault",
          o.z, zRef);
  }else if( rc==SQLITE_OK || strcmp(o.z, zRef)==0 ){
    check(strcmp(o.z, zRef)==0, pS, zMode, iFail,
          "succeeded despite the fault, with a different result", o.z, zRef);
  }else{
    check(rc==SQLITE_NOMEM || lostMessage(rc, o.z, zRef), pS, zMode, iFail,
          "fault not reported as SQLITE_NOMEM", o.z, "error 7: out of memory");
  }
  if( bVerbose ){
    printf("%s %s %d: %s\n", pS->zName, zMode, iFail, nInjected ? o.z : "done");
  }
  outReset(&again);
  runSql(db, pS->zSql, &again);
  check(strcmp(again.z, zRef)==0, pS, zMode, iFail,
        "statement run again after the fault", again.z, zRef);
  rc = sqlite3_close(db);
  check(rc==SQLITE_OK, pS, zMode, iFail, "sqlite3_close()", sqlite3_errstr(rc),
        "not an error");
  if( rc!=SQLITE_OK ) sqlite3_close_v2(db);
  check(fault.nOut==nBefore, pS, zMode, iFail, "allocations leaked", 0, 0);
  free(o.z);
  free(again.z);
  return nInjected>0;
}

static void runScenario(const Scenario *pS){
  Out ref = {0, 0, 0};
  sqlite3 *db = openFixture(pS);
  int bPersist, iFail;
  outReset(&ref);
  runSql(db, pS->zSql, &ref);
  sqlite3_close(db);
  if( bVerbose ) printf("%s reference: %s\n", pS->zName, ref.z);
  for(bPersist=0; bPersist<2; bPersist++){
    for(iFail=1; runWithFault(pS, ref.z, iFail, bPersist); iFail++){}
  }
  free(ref.z);
}

/* The entry point itself: a failed sqlite3_mlrec_init() leaves no leak and
** a later one on the same connection works. */
static void runInit(void){
  static const Scenario init = { "init", "", "" };
  int iFail;
  for(iFail=1; ; iFail++){
    long long nBefore = fault.nOut;
    sqlite3 *db = 0;
    char *zErr = 0;
    Out o = {0, 0, 0};
    int rc, nInjected;
    outReset(&o);
    if( sqlite3_open(":memory:", &db)!=SQLITE_OK ) exit(2);
    faultArm(iFail, 0);
    rc = sqlite3_mlrec_init(db, &zErr, 0);
    nInjected = fault.nFail;
    faultDisarm();
    check(nInjected==0 ? rc==SQLITE_OK : rc==SQLITE_NOMEM, &init, "transient",
          iFail, "sqlite3_mlrec_init() result", sqlite3_errstr(rc),
          nInjected ? "out of memory" : "not an error");
    sqlite3_free(zErr);
    zErr = 0;
    rc = sqlite3_mlrec_init(db, &zErr, 0);
    if( rc==SQLITE_OK ) rc = runSql(db, zFixture, &o);
    if( rc==SQLITE_OK ) rc = runSql(db, "SELECT count(*) FROM similar_movies(10)", &o);
    check(rc==SQLITE_OK && strcmp(o.z, "5\n")==0, &init, "transient", iFail,
          "init again after the fault", o.z, "5");
    sqlite3_free(zErr);
    check(sqlite3_close(db)==SQLITE_OK, &init, "transient", iFail,
          "sqlite3_close()", 0, 0);
    check(fault.nOut==nBefore, &init, "transient", iFail,
          "allocations leaked", 0, 0);
    free(o.z);
    if( nInjected==0 ) break;
  }
}

int main(int argc, char **argv){
  const char *zOnly = 0;
  int i, iPart = 1, nPart = 1;
  for(i=1; i<argc; i++){
    if( strcmp(argv[i], "-v")==0 ) bVerbose = 1;
    else if( sscanf(argv[i], "--part=%d/%d", &iPart, &nPart)==2 ){
      if( nPart<1 || iPart<1 || iPart>nPart ) return 2;
    }
    else zOnly = argv[i];
  }
  installFaultAllocator();
  if( sqlite3_initialize()!=SQLITE_OK ) return 2;
  zFixture = readFile("data/fixture.sql");
  if( (zOnly==0 && iPart==1) || (zOnly && strcmp(zOnly, "init")==0) ){
    runInit();
  }
  for(i=0; i<N_SCENARIO; i++){
    if( zOnly && strcmp(zOnly, aScenario[i].zName)!=0 ) continue;
    if( i%nPart!=iPart-1 ) continue;
    runScenario(&aScenario[i]);
  }
  free(zFixture);
  printf("oom: %d passed, %d failed\n", nPass, nFail);
  return nFail>0;
}
