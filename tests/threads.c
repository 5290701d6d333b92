/*
** tests/threads.c: interrupts, concurrency and connection lifetime.
**
**     build/threads [-ratings N] [-max-ms MS] [-points P] [-threads T] TEST...
**
**   interrupt   sqlite3_interrupt() from another thread stops every path that
**               runs on the connection's pool of threads: train_mf() (SGD,
**               with and without validation), train_ranker() (the sequence
**               links and ALS), similar_movies() queries (each on the pool in
**               this build) and the all-movies sweep (similar_movies() joined
**               to every movie, computed ahead in chunks on the pool); and
**               the index build (the first similar_movies() of a connection,
**               which reads the ratings table) and audience()'s users'
**               factors, built again after a change; at P moments (default 12)
**               spread over the work.  Fails if the CPU time the process
**               spends from sqlite3_interrupt() to the return exceeds
**               -max-ms (default 1000), and prints it with the wall-clock
**               latency; checks that the previous model still serves, and
**               that queries answer as before (no accumulator left dirty).
**   concurrent  T threads (default 8), each with its own connection to one
**               database, train, query and write at once; answers that the
**               writes cannot change must equal those of a quiet connection.
**   cursor      retraining, or changing the ratings, on a connection whose
**               recommend()/similar_movies() cursor (a lateral join) is
**               still open: the cursor keeps the model and the snapshot it
**               started with.
**   close       closing a connection gives back every byte it used
**               (sqlite3_memory_used() is back where it was) and joins the
**               threads of its pool.
**   pool        the pool itself (ext/core/pool.c), through its C interface
**               and through SQL: its threads start once and serve job after
**               job and statement after statement; helpers join jobs; every
**               task runs once, on a slot in range, whoever joins; a job
**               asked for inside a running job (re-entrant) runs on the
**               calling thread alone; a failing task, or an interrupt seen by
**               the calling thread's probe, stops the job; freeing the
**               state, or closing the connection, joins the threads.
**   shared      T threads, each with its own connection, load saved models,
**               serve them (predict() reads the rows of the neighbourhood
**               half lazily, so the threads read and publish rows of one
**               shared copy at once), save them again and auto-load
**               'default' on fresh connections: every answer must equal
**               that of a quiet connection serving the same saved model.
**               Then 8 connections serving one loaded model must add at
**               most 1.5 times the memory that one adds to an idle
**               connection (the copy is shared), and once all are closed
**               the memory is back where it was.
**
** The ratings are synthetic, generated into tests/tmp/threads-N.db (kept
** for the next run): -ratings N ratings (default 20000) by N/154 users over
** about N/423 movies, the proportions of MovieLens 25M, with timestamps
** (so that train_ranker() builds its sequence links).  The build runs every
** similar_movies() query and sweep chunk on the pool (Makefile,
** POOL_ALWAYS), and the thread counts read /proc/self/task (Linux; the
** checks are skipped elsewhere).  `make
** bench-interrupt` runs the interrupt test on 25,000,000 ratings with
** -max-ms 100.  The extension is compiled in (-DSQLITE_CORE) and
** registered on every connection with sqlite3_auto_extension().
**
** Prints "threads TEST...: N passed, N failed".
*/
#include <sqlite3.h>
#include "../ext/core/core.h"
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sqlite3_mlrec_init(sqlite3*, char**, const sqlite3_api_routines*);

static int nPass, nFail;
static pthread_mutex_t countMutex = PTHREAD_MUTEX_INITIALIZER;

static void check(int bOk, const char *zTest, const char *zWhat,
                  const char *zGot, const char *zWant){
  pthread_mutex_lock(&countMutex);
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("FAIL threads %s: %s\n", zTest, zWhat);
    if( zGot ) printf("  got:      %s\n", zGot);
    if( zWant ) printf("  expected: %s\n", zWant);
  }
  pthread_mutex_unlock(&countMutex);
}

static double now(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9*(double)ts.tv_nsec;
}

/* CPU seconds used by the process (all threads): unlike the wall clock, it
** does not count the time the machine gave to other processes. */
static double cpuNow(void){
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9*(double)ts.tv_nsec;
}

static void sleepSeconds(double s){
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec)*1e9);
  nanosleep(&ts, 0);
}

/* ---- SQL helpers ---------------------------------------------------------- */

/*
** Run zSql and return its output, rows "a|b\n", or "error: <message>", in
** memory from sqlite3_malloc (the caller frees it).  *pRc gets the code.
*/
static char *query(sqlite3 *db, const char *zSql, int *pRc){
  sqlite3_str *pOut = sqlite3_str_new(db);
  const char *zTail = zSql;
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK && zTail[0] ){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(db, zTail, -1, &pStmt, &zTail);
    if( pStmt==0 ) break;
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      int i;
      for(i=0; i<sqlite3_column_count(pStmt); i++){
        const char *z = (const char*)sqlite3_column_text(pStmt, i);
        sqlite3_str_appendf(pOut, "%s%s", i ? "|" : "", z ? z : "NULL");
      }
      sqlite3_str_appendchar(pOut, 1, '\n');
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    sqlite3_finalize(pStmt);
  }
  if( rc!=SQLITE_OK ) sqlite3_str_appendf(pOut, "error: %s", sqlite3_errmsg(db));
  if( pRc ) *pRc = rc;
  return sqlite3_str_finish(pOut);
}

/* Run zSql, which must succeed, and check its output against zWant (if any). */
static void execCheck(sqlite3 *db, const char *zTest, const char *zSql,
                      const char *zWant){
  int rc;
  char *z = query(db, zSql, &rc);
  check(rc==SQLITE_OK && (zWant==0 || strcmp(z, zWant)==0), zTest, zSql, z,
        zWant ? zWant : "no error");
  sqlite3_free(z);
}

static sqlite3 *openDb(const char *zFile){
  sqlite3 *db = 0;
  if( sqlite3_open(zFile, &db)!=SQLITE_OK ){
    fprintf(stderr, "cannot open %s: %s\n", zFile, sqlite3_errmsg(db));
    exit(2);
  }
  sqlite3_busy_timeout(db, 10000);
  return db;
}

/* ---- Synthetic ratings ---------------------------------------------------- */

static unsigned long long mix(unsigned long long x){
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x>>30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x>>27)) * 0x94d049bb133111ebULL;
  return x ^ (x>>31);
}

static int isPrime(long long n){
  long long d;
  if( n<2 ) return 0;
  for(d=2; d*d<=n; d++) if( n%d==0 ) return 0;
  return 1;
}

/*
** Fill table ratings of db with nRating synthetic ratings.  User u rates
** c(u) distinct movies a, a+b, a+2b, ... modulo a prime number of movies.
*/
static void generateRatings(sqlite3 *db, long long nRating){
  long long nMovie = nRating/423 > 200 ? nRating/423 : 200;
  long long n = 0, u;
  sqlite3_stmt *pIns = 0;
  while( !isPrime(nMovie) ) nMovie++;
  sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
               "DROP TABLE IF EXISTS ratings; DROP TABLE IF EXISTS gen;"
               "CREATE TABLE ratings(userId INTEGER, movieId INTEGER, rating REAL,"
               " timestamp INTEGER);"
               "BEGIN;", 0, 0, 0);
  sqlite3_prepare_v2(db, "INSERT INTO ratings VALUES(?1, ?2, ?3, ?4)", -1, &pIns,
                     0);
  for(u=1; n<nRating; u++){
    unsigned long long h = mix((unsigned long long)u);
    long long c = 20 + (long long)(h % 269), j;
    long long a = (long long)((h>>20) % (unsigned long long)nMovie);
    long long b = 1 + (long long)((h>>40) % (unsigned long long)(nMovie-1));
    if( c>nMovie/2 ) c = nMovie/2;
    if( c>nRating-n ) c = nRating-n;
    for(j=0; j<c; j++){
      sqlite3_bind_int64(pIns, 1, u);
      sqlite3_bind_int64(pIns, 2, 1 + (a + j*b) % nMovie);
      sqlite3_bind_double(pIns, 3, 0.5*(double)(1 + mix(h+(unsigned long long)j) % 10));
      sqlite3_bind_int64(pIns, 4, (long long)(mix(h ^ (unsigned long long)j) % 1000000));
      sqlite3_step(pIns);
      sqlite3_reset(pIns);
    }
    n += c;
  }
  sqlite3_finalize(pIns);
  sqlite3_exec(db, "CREATE TABLE gen(n INTEGER); COMMIT;", 0, 0, 0);
  {
    char *zSql = sqlite3_mprintf("INSERT INTO gen VALUES(%lld);"
                                 "PRAGMA journal_mode=WAL;", nRating);
    sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
  }
}

/* The database file with nRating synthetic ratings, generated if needed. */
static char *ratingsDb(long long nRating){
  char *zFile = sqlite3_mprintf("tests/tmp/threads-%lld.db", nRating);
  sqlite3 *db = openDb(zFile);
  sqlite3_stmt *pStmt = 0;
  long long nHave = -1;
  if( sqlite3_prepare_v2(db, "SELECT n FROM gen WHERE EXISTS (SELECT 1 FROM "
                         "pragma_table_info('ratings') WHERE name = 'timestamp')",
                         -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    nHave = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( nHave!=nRating ){
    double t0 = now();
    generateRatings(db, nRating);
    printf("  generated %lld ratings into %s in %.1f s\n", nRating, zFile,
           now()-t0);
  }
  sqlite3_close(db);
  return zFile;
}

/* ---- interrupt ------------------------------------------------------------ */

/* A statement run on its own thread until it ends. */
typedef struct Job Job;
struct Job {
  sqlite3 *db;
  const char *zSql;
  pthread_t thread;
  pthread_mutex_t mutex;
  int bStarted;          /* the thread is about to step the statement */
  int bDone;
  int rc;
  double tEnd;           /* when sqlite3_step() returned */
  double cpuEnd;         /* process CPU time then */
};

static void *jobMain(void *pArg){
  Job *p = (Job*)pArg;
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db, p->zSql, -1, &pStmt, 0);
  pthread_mutex_lock(&p->mutex);
  p->bStarted = 1;
  pthread_mutex_unlock(&p->mutex);
  if( rc==SQLITE_OK ){
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
  }
  pthread_mutex_lock(&p->mutex);
  p->tEnd = now();
  p->cpuEnd = cpuNow();
  p->rc = rc;
  p->bDone = 1;
  pthread_mutex_unlock(&p->mutex);
  sqlite3_finalize(pStmt);
  return 0;
}

static int jobFlag(Job *p, int *pFlag){
  int b;
  pthread_mutex_lock(&p->mutex);
  b = *pFlag;
  pthread_mutex_unlock(&p->mutex);
  return b;
}

/*
** Run zSql on db in a thread, interrupt it after `delay` seconds and return
** the seconds from sqlite3_interrupt() to the statement returning, or -1 if
** it finished before the interrupt.  *pCpu gets the CPU seconds the
** process used in that time, *pRc the result code of the statement.
*/
static double interruptAfter(sqlite3 *db, const char *zSql, double delay,
                             double *pCpu, int *pRc){
  Job job;
  double t0, cpu0, tGiveUp;
  memset(&job, 0, sizeof(job));
  job.db = db;
  job.zSql = zSql;
  pthread_mutex_init(&job.mutex, 0);
  pthread_create(&job.thread, 0, jobMain, &job);
  while( !jobFlag(&job, &job.bStarted) ) sleepSeconds(0.0002);
  sleepSeconds(delay);
  t0 = now();
  if( jobFlag(&job, &job.bDone) ){
    pthread_join(job.thread, 0);
    *pRc = job.rc;
    return -1.0;
  }
  cpu0 = cpuNow();
  sqlite3_interrupt(db);
  /* an interrupt that is not honoured is a failure, not a hang */
  tGiveUp = t0 + 60.0;
  while( !jobFlag(&job, &job.bDone) ){
    sleepSeconds(0.0002);
    if( now()>tGiveUp ){
      sqlite3_interrupt(db);
      tGiveUp += 1.0;
    }
  }
  pthread_join(job.thread, 0);
  pthread_mutex_destroy(&job.mutex);
  *pRc = job.rc;
  *pCpu = job.cpuEnd - cpu0;
  return job.tEnd - t0;
}

/*
** True if the model answering zAfter to zCheck is the complete model of
** zSql: an interrupt that comes after the training function has returned
** (and installed its model), while SQLite finishes the statement, makes the
** statement return SQLITE_INTERRUPT all the same.  Training is
** deterministic, so running zSql to the end must give the same answers.
*/
static int finishedBeforeInterrupt(sqlite3 *db, const char *zSql,
                                   const char *zCheck, const char *zAfter){
  char *zDone;
  int rc, bSame;
  execCheck(db, "interrupt", zSql, 0);
  zDone = query(db, zCheck, &rc);
  bSame = rc==SQLITE_OK && strcmp(zDone, zAfter)==0;
  sqlite3_free(zDone);
  return bSame;
}

static double maxMs = 1000.0;
static int nPoint = 12;

/*
** Interrupt zSql at nPoint moments spread evenly over tFull seconds (the
** time it takes when not interrupted) and report the latencies.  The CPU
** time from the interrupt to the return must be at most maxMs; the wall
** time is reported (on a busy machine it includes waiting for a core).
** Each run is on db, after zPrep if any, or on a fresh connection to zFile
** if db is NULL.  zCheck, if any, must answer after each interrupt what it
** answered before the first.
*/
static void interruptSeries(const char *zFile, sqlite3 *db, const char *zName,
                            const char *zPrep, const char *zSql,
                            const char *zCheck, double tFull){
  double worst = 0.0, worstCpu = 0.0;
  int i, nStopped = 0, nSlowWall = 0;
  char zWhat[200];
  char *zBefore = zCheck ? query(db, zCheck, 0) : 0;
  for(i=0; i<nPoint; i++){
    sqlite3 *dbRun = db ? db : openDb(zFile);
    double delay = (i+0.5)/nPoint*tFull;
    int rc;
    double s, cpu = 0.0;
    if( zPrep ) execCheck(dbRun, zName, zPrep, 0);
    s = interruptAfter(dbRun, zSql, delay, &cpu, &rc);
    if( s>=0.0 ){
      nStopped++;
      if( s>worst ) worst = s;
      if( cpu>worstCpu ) worstCpu = cpu;
      if( 1e3*s>maxMs ) nSlowWall++;
      snprintf(zWhat, sizeof(zWhat), "%s interrupted after %.3f s: result "
               "code %d, stopped in %.1f ms of CPU (at most %.0f), %.1f ms "
               "of wall time", zName, delay, rc, 1e3*cpu, maxMs, 1e3*s);
      check(rc==SQLITE_INTERRUPT && 1e3*cpu<=maxMs, zName, zWhat, 0, 0);
    }
    if( zCheck && s<0.0 ){
      /* it finished first: its model is the one in service now */
      sqlite3_free(zBefore);
      zBefore = query(dbRun, zCheck, 0);
    }else if( zCheck ){
      /* the previous model or snapshot serves as before */
      char *zAfter = query(dbRun, zCheck, &rc);
      if( rc==SQLITE_OK && strcmp(zBefore, zAfter)!=0
       && finishedBeforeInterrupt(dbRun, zSql, zCheck, zAfter) ){
        sqlite3_free(zBefore);
        zBefore = sqlite3_mprintf("%s", zAfter);
      }
      check(rc==SQLITE_OK && strcmp(zBefore, zAfter)==0, zName,
            "answers after the interrupt", zAfter, zBefore);
      sqlite3_free(zAfter);
    }
    if( db==0 ) sqlite3_close(dbRun);
  }
  sqlite3_free(zBefore);
  printf("  %s: %d interrupts, slowest stop %.1f ms of CPU, %.1f ms of wall "
         "time (%d over %.0f ms)\n", zName, nStopped, 1e3*worstCpu, 1e3*worst,
         nSlowWall, maxMs);
  check(nStopped>=nPoint/4, zName, "most runs were still going when "
        "interrupted", 0, 0);
}

/* Seconds that zSql takes on db. */
static double timeSql(sqlite3 *db, const char *zSql){
  double t0 = now();
  execCheck(db, "interrupt", zSql, 0);
  return now() - t0;
}

#define MODEL_ANSWERS "SELECT round(predict(1, 1), 12), round(predict(7, 30), 12);" \
  "SELECT model, options FROM mlrec_models WHERE model = 'mf';" \
  "SELECT movieId, round(score, 12) FROM recommend(2, 3, '{\"model\": \"rating\"}');"

/* one query per movie, in an order that is not the sweep's: each on the pool */
#define QUERIES "SELECT count(*) FROM (SELECT movieId FROM movie_ids " \
  "ORDER BY movieId DESC) r, similar_movies(r.movieId, 10)"
#define QUERY_ANSWERS "SELECT group_concat(s.movieId || ':' || round(s.score, 12)) " \
  "FROM (SELECT movieId FROM movie_ids ORDER BY movieId DESC LIMIT 40) r, " \
  "similar_movies(r.movieId, 3) s"

/* the sweep over temp.movie_ids, every movie in order */
#define SWEEP "SELECT count(*) FROM movie_ids r, similar_movies(r.movieId, 10)"
#define SWEEP_ANSWERS "SELECT group_concat(s.movieId || ':' || round(s.score, 12)) " \
  "FROM (SELECT movieId FROM movie_ids LIMIT 40) r, similar_movies(r.movieId, 3) s"

#define TRAIN_MF "SELECT train_mf('{\"epochs\": 2, \"seed\": 5}')"
#define TRAIN_MF_VALID \
  "SELECT train_mf('{\"epochs\": 2, \"validation\": 0.2, \"seed\": 5}')"
#define TRAIN_RANKER "SELECT train_ranker('{\"iterations\": 2, \"seed\": 5}')"
#define RANKER_ANSWERS "SELECT movieId, round(score, 12) FROM recommend(2, 3);" \
  "SELECT model, options FROM mlrec_models WHERE model = 'ranker';"

static void testInterrupt(const char *zFile){
  sqlite3 *db = openDb(zFile);
  double tBuild = timeSql(db, "SELECT count(*) FROM similar_movies(1)");
  double tTrain, tValid, tRanker, tRebuild, tSweep, tQueries, tAudience;
  char *zRef;
  tTrain = timeSql(db, TRAIN_MF);
  tValid = timeSql(db, TRAIN_MF_VALID);
  tRanker = timeSql(db, TRAIN_RANKER);
  execCheck(db, "interrupt", "SELECT train_mf('{\"factors\": 2, \"epochs\": 1}');"
            "SELECT train_ranker('{\"factors\": 2, \"iterations\": 1}')", 0);
  printf("  index build %.2f s; train_mf %.2f s, with validation %.2f s; "
         "train_ranker %.2f s\n", tBuild, tTrain, tValid, tRanker);
  /* the index build: the first similar_movies() of a connection */
  interruptSeries(zFile, 0, "interrupt index build", 0,
                  "SELECT count(*) FROM similar_movies(1)", 0, tBuild);
  /* the sweep: the connection then sweeps as before */
  execCheck(db, "interrupt", "CREATE TEMP TABLE movie_ids AS "
            "SELECT DISTINCT movieId FROM ratings ORDER BY movieId", 0);
  tSweep = timeSql(db, SWEEP);
  printf("  all-movies sweep %.2f s\n", tSweep);
  interruptSeries(zFile, db, "interrupt sweep", 0, SWEEP, SWEEP_ANSWERS, tSweep);
  /* single queries: one stopped part way leaves its accumulators clean */
  tQueries = timeSql(db, QUERIES);
  printf("  a query per movie %.2f s\n", tQueries);
  interruptSeries(zFile, db, "interrupt similar_movies", 0, QUERIES,
                  QUERY_ANSWERS, tQueries);
  /* the models: interrupted training leaves the previous one in service */
  interruptSeries(zFile, db, "interrupt train_mf", 0, TRAIN_MF, MODEL_ANSWERS,
                  tTrain);
  interruptSeries(zFile, db, "interrupt train_mf validation", 0,
                  TRAIN_MF_VALID, MODEL_ANSWERS, tValid);
  interruptSeries(zFile, db, "interrupt train_ranker", 0, TRAIN_RANKER,
                  RANKER_ANSWERS, tRanker);
  /* a re-read after a change, on a connection holding the old snapshot;
  ** then the snapshot answers as before */
  zRef = query(db, "SELECT movieId, round(score, 12) FROM similar_movies(1, 3)", 0);
  execCheck(db, "interrupt", "CREATE TEMP TABLE t(x)", 0);
  tRebuild = timeSql(db, "INSERT INTO temp.t VALUES(1);"
                     "SELECT count(*) FROM similar_movies(1)");
  interruptSeries(zFile, db, "interrupt index rebuild",
      "INSERT INTO temp.t VALUES(1)", "SELECT count(*) FROM similar_movies(1)",
      0, tRebuild);
  execCheck(db, "interrupt index rebuild",
            "SELECT movieId, round(score, 12) FROM similar_movies(1, 3)", zRef);
  sqlite3_free(zRef);
  /* audience(): the users' factors of a timed model are built again after
  ** any change (the snapshot, the times in order, a fold-in per user on the
  ** pool); an interrupted build leaves the answers as they were */
  tAudience = timeSql(db, "INSERT INTO temp.t VALUES(1);"
                      "SELECT count(*) FROM audience(1, 10)");
  printf("  audience() rebuild %.3f s\n", tAudience);
  interruptSeries(zFile, db, "interrupt audience",
      "INSERT INTO temp.t VALUES(1)", "SELECT count(*) FROM audience(1, 10)",
      "SELECT userId, round(score, 12) FROM audience(1, 3)", tAudience);
  sqlite3_close(db);
}

/* ---- concurrent ----------------------------------------------------------- */

#define N_ROUND 12
static int nThread = 8;

typedef struct Worker Worker;
struct Worker {
  const char *zFile;
  int iThread;
  const char *zSimilarRef;   /* answers the writers cannot change */
  pthread_t thread;
};

/*
** The writers rate movies -1 and -2 only, as users nobody else is: the
** neighbours of every other movie stay the same.
*/
#define SIMILAR_STABLE "SELECT movieId, round(score, 12) FROM similar_movies(5, 4);" \
                       "SELECT movieId, round(score, 12) FROM similar_movies(17, 4);"

static void *workerMain(void *pArg){
  Worker *w = (Worker*)pArg;
  sqlite3 *db = openDb(w->zFile);
  int i;
  char zSql[300];
  for(i=0; i<N_ROUND; i++){
    int iUser = 1 + (w->iThread*7 + i*3) % 40;
    switch( (w->iThread + i) % 4 ){
      case 0:
        snprintf(zSql, sizeof(zSql), "SELECT json_extract(train_mf('{\"factors\": 4, "
                 "\"epochs\": 3, \"seed\": %d}'), '$.factors')", i);
        execCheck(db, "concurrent", zSql, "4\n");
        break;
      case 1:
        execCheck(db, "concurrent", SIMILAR_STABLE, w->zSimilarRef);
        break;
      case 2:
        snprintf(zSql, sizeof(zSql), "SELECT count(*), count(DISTINCT movieId), "
                 "min(rank), max(rank), sum(score BETWEEN 0.5 AND 5) "
                 "FROM recommend(%d, 5, '{\"model\": \"rating\"}');"
                 "SELECT predict(%d, 3) BETWEEN 0.5 AND 5", iUser, iUser);
        execCheck(db, "concurrent", zSql, "5|5|1|5|5\n1\n");
        break;
      default:
        if( w->iThread<2 ){
          snprintf(zSql, sizeof(zSql), "BEGIN IMMEDIATE;"
                   "INSERT INTO ratings(userId, movieId, rating) "
                   "VALUES(-%d, -1, 4), (-%d, -2, 3);"
                   "COMMIT; SELECT count(*) FROM similar_movies(-1);"
                   "DELETE FROM ratings WHERE userId = -%d;",
                   w->iThread+1, w->iThread+1, w->iThread+1);
          execCheck(db, "concurrent", zSql, 0);
        }else{
          execCheck(db, "concurrent", "SELECT count(*) FROM mlrec_models "
                    "WHERE stale IN (0, 1)", 0);
        }
        break;
    }
  }
  check(sqlite3_close(db)==SQLITE_OK, "concurrent", "sqlite3_close()", 0, 0);
  return 0;
}

static void testConcurrent(const char *zFile){
  Worker aWorker[64];
  sqlite3 *db = openDb(zFile);
  char *zRef = query(db, SIMILAR_STABLE, 0);
  int i;
  sqlite3_close(db);
  for(i=0; i<nThread; i++){
    aWorker[i].zFile = zFile;
    aWorker[i].iThread = i;
    aWorker[i].zSimilarRef = zRef;
    pthread_create(&aWorker[i].thread, 0, workerMain, &aWorker[i]);
  }
  for(i=0; i<nThread; i++) pthread_join(aWorker[i].thread, 0);
  sqlite3_free(zRef);
}

/* ---- cursor --------------------------------------------------------------- */

/*
** Step pStmt through all its rows; after the first nBefore rows, run zSql
** on the same connection.  Returns the rows after the first nBefore.
*/
static char *stepAround(sqlite3 *db, sqlite3_stmt *pStmt, int nBefore,
                        const char *zSql, const char *zTest){
  sqlite3_str *pOut = sqlite3_str_new(0);
  int n = 0, rc;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( n==nBefore ) execCheck(db, zTest, zSql, 0);
    if( n>=nBefore ){
      sqlite3_str_appendf(pOut, "%s|%s|%s\n", sqlite3_column_text(pStmt, 0),
                          sqlite3_column_text(pStmt, 1),
                          sqlite3_column_text(pStmt, 2));
    }
    n++;
  }
  check(rc==SQLITE_DONE, zTest, "statement ran to the end", sqlite3_errmsg(db), 0);
  sqlite3_reset(pStmt);
  return sqlite3_str_finish(pOut);
}

/* zSql's rows after the first nBefore, from a plain run. */
static char *rowsAfter(sqlite3 *db, const char *zSql, int nBefore){
  char *z = query(db, zSql, 0), *zOut = z;
  int i;
  for(i=0; i<nBefore && zOut; i++){
    zOut = strchr(zOut, '\n');
    if( zOut ) zOut++;
  }
  zOut = sqlite3_mprintf("%s", zOut ? zOut : "");
  sqlite3_free(z);
  return zOut;
}

static void cursorCase(sqlite3 *db, const char *zTest, const char *zJoin,
                       const char *zChange){
  sqlite3_stmt *pStmt = 0;
  char *zOld = rowsAfter(db, zJoin, 3);
  char *zGot, *zNew;
  sqlite3_prepare_v2(db, zJoin, -1, &pStmt, 0);
  zGot = stepAround(db, pStmt, 3, zChange, zTest);
  check(strcmp(zGot, zOld)==0, zTest, "rows after the change come from the "
        "model or snapshot the cursor started with", zGot, zOld);
  /* a new statement sees the change: the test above could fail */
  zNew = rowsAfter(db, zJoin, 3);
  check(strcmp(zNew, zOld)!=0, zTest, "a new statement sees the change",
        zNew, "different rows");
  sqlite3_finalize(pStmt);
  sqlite3_free(zOld);
  sqlite3_free(zGot);
  sqlite3_free(zNew);
}

#define CURSOR_USERS "FROM (SELECT value FROM json_each('[1,2,3,4,5,6,7,8]')) u, "

static void testCursor(const char *zFile){
  sqlite3 *db = openDb(zFile);
  execCheck(db, "cursor", "SELECT json_extract(train_mf('{\"factors\": 4, "
            "\"epochs\": 5, \"seed\": 3}'), '$.seed');"
            "SELECT json_extract(mlrec_save_model('other'), '$.name');"
            "SELECT json_extract(train_mf('{\"factors\": 4, \"epochs\": 5, "
            "\"seed\": 1}'), '$.seed');"
            "SELECT json_extract(train_ranker('{\"factors\": 4, "
            "\"iterations\": 2, \"seed\": 1}'), '$.seed')", "3\nother\n1\n1\n");
  cursorCase(db, "cursor recommend rating, train_mf",
      "SELECT u.value, r.movieId, round(r.score, 12) " CURSOR_USERS
      "recommend(u.value, 3, '{\"model\": \"rating\"}') r",
      "SELECT train_mf('{\"factors\": 4, \"epochs\": 5, \"seed\": 2}')");
  cursorCase(db, "cursor recommend rating, mlrec_load_model",
      "SELECT u.value, r.movieId, round(r.score, 12) " CURSOR_USERS
      "recommend(u.value, 3, '{\"model\": \"rating\"}') r",
      "SELECT mlrec_load_model('other')");
  cursorCase(db, "cursor recommend ranking, train_ranker",
      "SELECT u.value, r.movieId, round(r.score, 12) " CURSOR_USERS
      "recommend(u.value, 3) r",
      "SELECT train_ranker('{\"factors\": 4, \"iterations\": 2, \"seed\": 2}')");
  cursorCase(db, "cursor similar_movies, ratings changed",
      "SELECT u.value, s.movieId, round(s.score, 12) " CURSOR_USERS
      "similar_movies(u.value, 3) s",
      "UPDATE ratings SET rating = 6 - rating WHERE userId <= 30");
  execCheck(db, "cursor", "UPDATE ratings SET rating = 6 - rating WHERE userId <= 30", 0);
  cursorCase(db, "cursor similar_movies sweep, ratings changed",
      "SELECT m.movieId, s.movieId, round(s.score, 12) FROM (SELECT DISTINCT movieId "
      "FROM ratings ORDER BY movieId) m, similar_movies(m.movieId, 3) s",
      "UPDATE ratings SET rating = 6 - rating WHERE userId <= 30");
  execCheck(db, "cursor", "UPDATE ratings SET rating = 6 - rating WHERE userId <= 30;"
            "DELETE FROM mlrec_saved_vectors; DELETE FROM mlrec_saved_models", 0);
  sqlite3_close(db);
}

/* ---- shared --------------------------------------------------------------- */

/* What a connection serves: predictions of known users (the neighbourhood
** half reads their rows lazily), the default and the rating recommend(). */
#define SHARED_ANSWERS "SELECT round(predict(1, 1), 12), round(predict(7, 30), 12), " \
  "round(predict(12, 5), 12), round(predict(999999, 30), 12);" \
  "SELECT movieId, round(score, 12), because FROM recommend(2, 5);" \
  "SELECT movieId, round(score, 12) FROM recommend(9, 5, '{\"model\": \"rating\"}');" \
  "SELECT count(*) FROM (SELECT value FROM json_each('[3,4,5,6]')) u, recommend(u.value, 3) r;"

/* The answers of a fresh, quiet connection that loads zName. */
static char *sharedReference(const char *zFile, const char *zName){
  sqlite3 *db = openDb(zFile);
  char *zSql = sqlite3_mprintf("SELECT json_extract(mlrec_load_model('%q'), "
                               "'$.name')", zName);
  char *zOut;
  execCheck(db, "shared", zSql, 0);
  zOut = query(db, SHARED_ANSWERS, 0);
  sqlite3_free(zSql);
  sqlite3_close(db);
  return zOut;
}

typedef struct SharedWorker SharedWorker;
struct SharedWorker {
  const char *zFile;
  int iThread;
  char *azRef[2];            /* answers of 'shared' and 'shared2' */
  pthread_t thread;
};

/* Load zName on db and check what it serves against zRef. */
static void loadAndServe(sqlite3 *db, const char *zName, const char *zRef){
  char *zSql = sqlite3_mprintf("SELECT mlrec_load_model('%q');", zName);
  execCheck(db, "shared", zSql, 0);
  execCheck(db, "shared", SHARED_ANSWERS, zRef);
  sqlite3_free(zSql);
}

static void *sharedMain(void *pArg){
  SharedWorker *w = (SharedWorker*)pArg;
  sqlite3 *db = openDb(w->zFile);
  int i;
  for(i=0; i<N_ROUND; i++){
    switch( (w->iThread + i) % 4 ){
      case 0:
        loadAndServe(db, "shared", w->azRef[0]);
        break;
      case 1:
        loadAndServe(db, "shared2", w->azRef[1]);
        break;
      case 2:
        /* saving again what was loaded: the same rows, the same answers
        ** for the connections reading them meanwhile */
        loadAndServe(db, "shared", w->azRef[0]);
        execCheck(db, "shared", "SELECT json_extract(mlrec_save_model('shared'), "
                  "'$.name')", "shared\n");
        execCheck(db, "shared", SHARED_ANSWERS, w->azRef[0]);
        break;
      default: {
        /* a fresh connection auto-loads 'default' (= 'shared2') */
        sqlite3 *db2 = openDb(w->zFile);
        execCheck(db2, "shared", SHARED_ANSWERS, w->azRef[1]);
        check(sqlite3_close(db2)==SQLITE_OK, "shared", "sqlite3_close()", 0, 0);
        break;
      }
    }
  }
  check(sqlite3_close(db)==SQLITE_OK, "shared", "sqlite3_close()", 0, 0);
  return 0;
}

/*
** Memory that n connections serving 'shared' (if zRef, else idle) hold,
** above what was in use.  Their page caches are kept small (the
** application's setting, 2 MB by default, as large as this small model).
*/
static sqlite3_int64 memoryOfConnections(const char *zFile, int n,
                                         const char *zRef){
  sqlite3 *aDb[8];
  sqlite3_int64 nBefore = sqlite3_memory_used(), nUsed;
  int i;
  for(i=0; i<n; i++){
    aDb[i] = openDb(zFile);
    execCheck(aDb[i], "shared", "PRAGMA cache_size = 8;"
              "SELECT count(*) > 0 FROM sqlite_schema", "1\n");
    if( zRef ) loadAndServe(aDb[i], "shared", zRef);
  }
  nUsed = sqlite3_memory_used() - nBefore;
  for(i=0; i<n; i++) sqlite3_close(aDb[i]);
  return nUsed;
}

/* The memory that serving adds to n connections: serving less idle. */
static sqlite3_int64 memoryOfServing(const char *zFile, int n,
                                     const char *zRef){
  return memoryOfConnections(zFile, n, zRef)
       - memoryOfConnections(zFile, n, 0);
}

static void testShared(const char *zFile){
  SharedWorker aWorker[64];
  sqlite3 *db = openDb(zFile);
  sqlite3_int64 nBefore, nOne, nEight;
  char *azRef[2];
  char z[100];
  int i;
  execCheck(db, "shared", "SELECT json_extract(train_mf('{\"factors\": 8, "
            "\"epochs\": 3, \"seed\": 1}'), '$.seed');"
            "SELECT json_extract(train_ranker('{\"factors\": 8, "
            "\"iterations\": 2, \"seed\": 1}'), '$.seed');"
            "SELECT json_extract(mlrec_save_model('shared'), '$.name');"
            "SELECT json_extract(train_mf('{\"factors\": 8, \"epochs\": 3, "
            "\"seed\": 2}'), '$.seed');"
            "SELECT json_extract(train_ranker('{\"factors\": 8, "
            "\"iterations\": 2, \"seed\": 2}'), '$.seed');"
            "SELECT json_extract(mlrec_save_model('shared2'), '$.name');"
            "SELECT json_extract(mlrec_save_model(), '$.name');",
            "1\n1\nshared\n2\n2\nshared2\ndefault\n");
  sqlite3_close(db);
  azRef[0] = sharedReference(zFile, "shared");
  azRef[1] = sharedReference(zFile, "shared2");
  check(strcmp(azRef[0], azRef[1])!=0, "shared", "the two saved models differ",
        azRef[0], "other answers");
  nBefore = sqlite3_memory_used();
  for(i=0; i<nThread; i++){
    aWorker[i].zFile = zFile;
    aWorker[i].iThread = i;
    aWorker[i].azRef[0] = azRef[0];
    aWorker[i].azRef[1] = azRef[1];
    pthread_create(&aWorker[i].thread, 0, sharedMain, &aWorker[i]);
  }
  for(i=0; i<nThread; i++) pthread_join(aWorker[i].thread, 0);
  snprintf(z, sizeof(z), "%lld bytes", (long long)(sqlite3_memory_used()-nBefore));
  check(sqlite3_memory_used()==nBefore, "shared", "memory after every "
        "connection closed (no copy left behind)", z, "0 bytes");
  /* one copy for the process: eight connections cost little more than one */
  nOne = memoryOfServing(zFile, 1, azRef[0]);
  nEight = memoryOfServing(zFile, 8, azRef[0]);
  snprintf(z, sizeof(z), "%lld bytes for 8 connections, %lld for 1 (%.2fx)",
           (long long)nEight, (long long)nOne, (double)nEight/(double)nOne);
  printf("  shared: %s\n", z);
  check(nEight<=1.5*(double)nOne, "shared", "memory of 8 connections serving "
        "one loaded model, at most 1.5 times that of one", z, "at most 1.5x");
  execCheck(db = openDb(zFile), "shared", "DELETE FROM mlrec_saved_models;"
            "DELETE FROM mlrec_saved_vectors; DELETE FROM mlrec_saved_neighbours;"
            "DELETE FROM mlrec_saved_rankers; DELETE FROM mlrec_saved_ranker_items", 0);
  sqlite3_close(db);
  sqlite3_free(azRef[0]);
  sqlite3_free(azRef[1]);
}

/* ---- close ---------------------------------------------------------------- */

/* Threads of this process, or -1 where /proc/self/task cannot be read. */
static int threadCount(void){
  DIR *pDir = opendir("/proc/self/task");
  struct dirent *pEntry;
  int n = 0;
  if( pDir==0 ) return -1;
  while( (pEntry = readdir(pDir))!=0 ){
    if( pEntry->d_name[0]!='.' ) n++;
  }
  closedir(pDir);
  return n;
}

/* Check that the process runs nWant threads (where they can be counted).
** A joined thread may linger in /proc for a moment: wait a second for it. */
static void checkThreads(const char *zTest, const char *zWhat, int nWant){
  int n = threadCount(), nTry;
  char zGot[40], zWant[40];
  if( n<0 ) return;
  for(nTry=0; n>nWant && nTry<100; nTry++){
    sleepSeconds(0.01);
    n = threadCount();
  }
  snprintf(zGot, sizeof(zGot), "%d threads", n);
  snprintf(zWant, sizeof(zWant), "%d threads", nWant);
  check(n==nWant, zTest, zWhat, zGot, zWant);
}

static void testClose(const char *zFile){
  sqlite3_int64 nBefore = sqlite3_memory_used();
  int nThreadBefore = threadCount();
  sqlite3 *db = openDb(zFile);
  char z[100];
  execCheck(db, "close", "SELECT count(*) > 0 FROM similar_movies(3);"
            "SELECT count(*) FROM (SELECT s.movieId FROM (SELECT DISTINCT movieId "
            "FROM ratings ORDER BY movieId) m, similar_movies(m.movieId, 3) s LIMIT 50);"
            "SELECT json_extract(train_mf('{\"factors\": 8}'), '$.factors');"
            "SELECT count(*) FROM recommend(1, 5);"
            "SELECT count(*) FROM recommend(1, 5, '{\"model\": \"rating\"}');"
            "SELECT group_concat(model) FROM mlrec_models;",
            "1\n50\n8\n5\n5\nknn,mf,ranker\n");
  check(sqlite3_memory_used()>nBefore, "close", "memory in use while open", 0, 0);
  check(sqlite3_close(db)==SQLITE_OK, "close", "sqlite3_close()", 0, 0);
  snprintf(z, sizeof(z), "%lld bytes", (long long)(sqlite3_memory_used()-nBefore));
  check(sqlite3_memory_used()==nBefore, "close", "memory after close", z, "0 bytes");
  checkThreads("close", "the pool's threads joined at close", nThreadBefore);
}

/* ---- pool ----------------------------------------------------------------- */

#define POOL_WORKERS 4        /* workers of the jobs below */
#define POOL_TASKS 10000      /* most tasks of a job */

/* A job of tasks that count their runs and check their worker's slot. */
typedef struct PoolJob PoolJob;
struct PoolJob {
  MlrecState *p;
  int nWorker;               /* slots the job may use */
  int iFail;                 /* the task that fails with SQLITE_ABORT, or -1 */
  sqlite3_int64 nUnit;       /* units of work each task reports */
  atomic_int aRun[POOL_TASKS];   /* runs of each task */
  atomic_int nBadSlot;       /* runs on a slot out of [0, nWorker) */
  atomic_int nNext;          /* mlrecPoolRun() jobs: the next task */
  atomic_int nJoined;        /* mlrecPoolRun() jobs: workers in */
  int nTask;                 /* mlrecPoolRun() jobs: tasks */
  double tEnd;               /* endless jobs: give up then */
  atomic_int bTimedOut;      /* an endless job was not stopped in time */
};

static void poolJobInit(PoolJob *j, MlrecState *p, int nWorker){
  int t;
  memset(j, 0, sizeof(*j));
  j->p = p;
  j->nWorker = nWorker;
  j->iFail = -1;
  for(t=0; t<POOL_TASKS; t++) atomic_init(&j->aRun[t], 0);
  atomic_init(&j->nBadSlot, 0);
  atomic_init(&j->nNext, 0);
  atomic_init(&j->nJoined, 0);
  atomic_init(&j->bTimedOut, 0);
  j->tEnd = now() + 10.0;
}

/* Tasks of j that ran other than once, of the first nTask. */
static int poolMisses(PoolJob *j, int nTask){
  int t, n = 0;
  for(t=0; t<nTask; t++) n += atomic_load(&j->aRun[t])!=1;
  return n;
}

/* Runs of all the tasks of j. */
static int poolRuns(PoolJob *j){
  int t, n = 0;
  for(t=0; t<POOL_TASKS; t++) n += atomic_load(&j->aRun[t]);
  return n;
}

/* A task: counts its run (the first POOL_TASKS tasks), fails if it is
** iFail; an endless job that runs past tEnd was not stopped. */
static int countTask(void *pCtx, MlrecWorker *w, sqlite3_int64 iTask){
  PoolJob *j = (PoolJob*)pCtx;
  if( w->iWorker<0 || w->iWorker>=j->nWorker ) atomic_fetch_add(&j->nBadSlot, 1);
  if( mlrecWorkerStop(w, j->nUnit) ) return SQLITE_OK;
  if( iTask<POOL_TASKS ) atomic_fetch_add(&j->aRun[iTask], 1);
  if( iTask==j->iFail ) return SQLITE_ABORT;
  if( iTask>=POOL_TASKS && now()>j->tEnd ){
    atomic_store(&j->bTimedOut, 1);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Tasks without end: the job ends only when stopped. */
#define ENDLESS ((sqlite3_int64)1<<50)

/* A worker that waits (10 s at most) for a helper to join, then leaves. */
static int waitForHelper(void *pCtx, MlrecWorker *w){
  PoolJob *j = (PoolJob*)pCtx;
  double tEnd = now() + 10.0;
  atomic_fetch_add(&j->nJoined, 1);
  while( w->iWorker==0 && atomic_load(&j->nJoined)<2 && now()<tEnd ){
    sleepSeconds(0.0001);
  }
  return SQLITE_OK;
}

/* A worker that, on the calling thread, first runs a job inside the job:
** the pool is busy, so that one must run on the calling thread alone.
** Then it takes the tasks of j. */
static int nestAndCount(void *pCtx, MlrecWorker *w){
  PoolJob *j = (PoolJob*)pCtx;
  if( w->iWorker==0 ){
    PoolJob *pInner = sqlite3_malloc64(sizeof(PoolJob));
    int nJoined = 0, rc;
    int nReserve = mlrecPoolReserve(j->p, POOL_WORKERS);
    poolJobInit(pInner, j->p, POOL_WORKERS);
    rc = mlrecParallelRun(j->p, 0, POOL_WORKERS, 50, countTask, pInner, &nJoined);
    check(nReserve==1, "pool", "mlrecPoolReserve() inside a job: 1 worker", 0, 0);
    check(rc==SQLITE_OK && nJoined==1 && poolMisses(pInner, 50)==0
          && poolRuns(pInner)==50, "pool", "a job inside a job runs every task "
          "once on the calling thread alone", 0, 0);
    sqlite3_free(pInner);
  }
  for(;;){
    int iTask = atomic_fetch_add(&j->nNext, 1);
    if( iTask>=j->nTask ) break;
    countTask(j, w, iTask);
  }
  return SQLITE_OK;
}

static int alwaysInterrupt(void *pArg){
  (void)pArg;
  return 1;
}

/* The pool through its C interface, on a state of our own for db. */
static void poolInterface(sqlite3 *db, int nBase){
  MlrecState *p = mlrecStateNew(db);
  PoolJob *j = sqlite3_malloc64(sizeof(PoolJob));
  MlrecInterrupt intr;
  int nWorker, round, nMiss = 0, nBadJoin = 0, nJoined = 0, rc;
  nWorker = mlrecPoolReserve(p, POOL_WORKERS);
  check(nWorker==POOL_WORKERS, "pool", "mlrecPoolReserve(4) gives 4 workers", 0, 0);
  checkThreads("pool", "three helpers started", nBase+POOL_WORKERS-1);
  check(mlrecPoolReserve(p, 1000)==MLREC_MAX_THREADS && mlrecPoolReserve(p, 0)==1,
        "pool", "mlrecPoolReserve() within [1, MLREC_MAX_THREADS]", 0, 0);
  mlrecPoolFree(p->pPool);
  p->pPool = 0;
  nWorker = mlrecPoolReserve(p, POOL_WORKERS);
  checkThreads("pool", "a new pool of three helpers", nBase+POOL_WORKERS-1);

  /* helpers join a job that waits for them */
  poolJobInit(j, p, nWorker);
  rc = mlrecPoolRun(p, 0, nWorker, waitForHelper, j, &nJoined);
  check(rc==SQLITE_OK && nJoined>=2 && nJoined<=nWorker, "pool", "a helper joins "
        "a job", 0, 0);

  /* many small jobs, of 1 to 7 tasks: each task once, whoever joins */
  for(round=0; round<2000; round++){
    int nTask = 1 + round%7;
    poolJobInit(j, p, nWorker);
    rc = mlrecParallelRun(p, 0, nWorker, nTask, countTask, j, &nJoined);
    nMiss += rc!=SQLITE_OK || poolMisses(j, nTask)!=0 || poolRuns(j)!=nTask
             || atomic_load(&j->nBadSlot)!=0;
    nBadJoin += nJoined<1 || nJoined>nWorker || nJoined>nTask;
  }
  check(nMiss==0, "pool", "2000 jobs: every task once, on a slot in range", 0, 0);
  check(nBadJoin==0, "pool", "2000 jobs: workers joined within the job's size",
        0, 0);
  checkThreads("pool", "the same helpers served every job", nBase+nWorker-1);

  /* re-entrant: a job asked for inside a job runs alone */
  poolJobInit(j, p, nWorker);
  j->nTask = 1000;
  rc = mlrecPoolRun(p, 0, nWorker, nestAndCount, j, &nJoined);
  check(rc==SQLITE_OK && poolMisses(j, 1000)==0 && atomic_load(&j->nBadSlot)==0,
        "pool", "the outer job runs every task once", 0, 0);

  /* a failing task stops the job: the others stop at their next report */
  poolJobInit(j, p, nWorker);
  j->iFail = 100;
  rc = mlrecParallelRun(p, 0, nWorker, ENDLESS, countTask, j, 0);
  check(rc==SQLITE_ABORT && !atomic_load(&j->bTimedOut), "pool",
        "a failing task stops the job with its error", 0, 0);

  /* the interrupt rule: the calling thread's probe sees the interrupt at
  ** its first report (here through the progress handler it runs) */
  poolJobInit(j, p, nWorker);
  j->nUnit = MLREC_CHECK_UNITS;
  rc = mlrecInterruptBegin(db, &intr);
  sqlite3_progress_handler(db, 1, alwaysInterrupt, 0);
  if( rc==SQLITE_OK ){
    rc = mlrecParallelRun(p, &intr, nWorker, ENDLESS, countTask, j, 0);
  }
  sqlite3_progress_handler(db, 0, 0, 0);
  mlrecInterruptEnd(&intr);
  check(rc==SQLITE_INTERRUPT && !atomic_load(&j->bTimedOut), "pool",
        "the probe's interrupt stops the job", 0, 0);

  /* a job of one worker needs no pool */
  poolJobInit(j, p, 1);
  rc = mlrecParallelRun(p, 0, 1, 100, countTask, j, &nJoined);
  check(rc==SQLITE_OK && nJoined==1 && poolMisses(j, 100)==0, "pool",
        "a job of one worker", 0, 0);

  mlrecStateUnref(p);
  checkThreads("pool", "freeing the state joins the helpers", nBase);
  sqlite3_free(j);
}

/* The connection's pool through SQL: started once, reused by every parallel
** path, joined at close. */
static void poolStatements(const char *zFile, int nBase){
  sqlite3 *db = openDb(zFile);
  execCheck(db, "pool", "SELECT json_extract(train_ranker('{\"iterations\": 1, "
            "\"factors\": 4, \"threads\": 3}'), '$.threads')", "3\n");
  checkThreads("pool", "train_ranker on 3 threads started 2 helpers", nBase+2);
  execCheck(db, "pool",
            "SELECT json_extract(train_mf('{\"epochs\": 1, \"threads\": 3}'), "
            "'$.epochs_run');"
            "SELECT count(*) FROM (SELECT s.movieId FROM (SELECT DISTINCT movieId "
            "FROM ratings ORDER BY movieId) m, similar_movies(m.movieId, 3) s "
            "LIMIT 300);"
            "SELECT count(*) FROM similar_movies(7, 5);"
            "SELECT json_extract(train_ranker('{\"iterations\": 1, \"factors\": 4, "
            "\"threads\": 2}'), '$.threads');", "1\n300\n5\n2\n");
  checkThreads("pool", "later statements reuse the pool", nBase+2);
  check(sqlite3_close(db)==SQLITE_OK, "pool", "sqlite3_close()", 0, 0);
  checkThreads("pool", "closing the connection joins the pool", nBase);
}

static void testPool(const char *zFile){
  int nBase = threadCount();
  sqlite3 *db = openDb(zFile);
  poolInterface(db, nBase);
  check(sqlite3_close(db)==SQLITE_OK, "pool", "sqlite3_close()", 0, 0);
  poolStatements(zFile, nBase);
}

int main(int argc, char **argv){
  long long nRating = 20000;
  char *zFile;
  int i, iFirst;
  setvbuf(stdout, 0, _IOLBF, 0);
  sqlite3_auto_extension((void(*)(void))sqlite3_mlrec_init);
  for(i=1; i<argc && argv[i][0]=='-'; i+=2){
    if( i+1>=argc ) break;
    if( strcmp(argv[i], "-ratings")==0 ) nRating = atoll(argv[i+1]);
    else if( strcmp(argv[i], "-max-ms")==0 ) maxMs = atof(argv[i+1]);
    else if( strcmp(argv[i], "-points")==0 ) nPoint = atoi(argv[i+1]);
    else if( strcmp(argv[i], "-threads")==0 ) nThread = atoi(argv[i+1]);
    else break;
  }
  if( i>=argc || nRating<1000 || nPoint<1 || nThread<1 || nThread>64 ){
    fprintf(stderr, "usage: %s [-ratings N>=1000] [-max-ms MS] [-points P] "
            "[-threads 1..64] "
            "interrupt|concurrent|cursor|close|pool|shared...\n", argv[0]);
    return 2;
  }
  zFile = ratingsDb(nRating);
  iFirst = i;
  for(; i<argc; i++){
    if( strcmp(argv[i], "interrupt")==0 ) testInterrupt(zFile);
    else if( strcmp(argv[i], "concurrent")==0 ) testConcurrent(zFile);
    else if( strcmp(argv[i], "cursor")==0 ) testCursor(zFile);
    else if( strcmp(argv[i], "close")==0 ) testClose(zFile);
    else if( strcmp(argv[i], "pool")==0 ) testPool(zFile);
    else if( strcmp(argv[i], "shared")==0 ) testShared(zFile);
    else{ fprintf(stderr, "unknown test %s\n", argv[i]); return 2; }
  }
  sqlite3_free(zFile);
  sqlite3_reset_auto_extension();
  printf("threads");
  for(i=iFirst; i<argc; i++) printf(" %s", argv[i]);
  printf(": %d passed, %d failed\n", nPass, nFail);
  return nFail>0;
}
