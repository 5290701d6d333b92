/*
** pool.c: the connection's threads, and the one way mlrec runs work on
** several cores: the kNN query and the all-movies sweep (similar/), SGD
** (rating/sgd.c), ALS and the sequence links (ranking/).
**
**     SELECT train_ranker('{"threads": 2}');
**
** THE POOL.  Each connection has one (MlrecState.pPool), created by the
** first work that asks for more than one thread: mlrecPoolReserve() starts
** helper threads up to the number asked, at most MLREC_MAX_THREADS with the
** calling thread.  Later work reuses them; between jobs they sleep on a
** condition variable.  Freeing the state (closing the connection) joins them.
**
** A JOB is a function that the calling thread runs as worker slot 0 and that
** each helper joining the job runs too, with the next slot, up to the number
** of workers the job asks for (mlrecPoolRun()).  The work inside a job is
** claimed from counters its workers share, so the calling thread finishes it
** alone if no helper joins, and a job's result must not depend on which
** worker did what: mlrec's results are the same bits on any number of
** threads.  At the end the calling thread closes the job, so that a helper
** waking late finds nothing to join, and waits for the helpers that joined.
** A job asked for while the pool runs another (a re-entrant call) runs on
** the calling thread alone.  Only the calling thread allocates memory or
** calls SQLite: work space per worker is allocated before the job, one per
** slot, and found through MlrecWorker.iWorker.
**
** mlrecParallelRun() is a job of independent tasks 0, 1, 2, ... taken in
** order from a shared counter.  mlrecStagedRun() is a job of such tasks in
** stages, each stage starting when the one before is done (the half
** iterations of ALS and the Gram matrices between them, ranking/ials.c),
** so that one job spans a whole training run; its calling thread may first
** do work of its own that needs SQLite (reading the sequences) while the
** helpers start on the stages.
**
** INTERRUPTS.  One rule for every job: a worker reports the work it does
** through mlrecWorkerStop(), in units of about a microsecond (a thousand
** multiply-adds, say), and stops when that returns true.  Every
** MLREC_CHECK_UNITS units (about a millisecond) the calling thread steps the
** interrupt probe (util.c); the probe, or a worker that fails, sets the
** job's stop flag, which every report reads.
*/
#include "core.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

struct MlrecJob {
  MlrecWorkFn xWork;
  void *pCtx;
  MlrecInterrupt *pIntr;   /* the calling thread's probe, or NULL */
  int nWorker;             /* most workers, the calling thread included */
  int nJoined;             /* slots given out so far (under the mutex) */
  int nActive;             /* helpers inside the job (under the mutex) */
  atomic_int rc;           /* SQLITE_OK, or why the job stops */
};

struct MlrecPool {
  pthread_mutex_t mutex;
  pthread_cond_t wake;     /* a job opened, or bQuit */
  pthread_cond_t idle;     /* the last helper left the job */
  MlrecJob *pJob;          /* the job helpers may join, or NULL */
  u64 iJob;                /* jobs opened so far */
  int bBusy;               /* a job runs: another one runs alone */
  int bQuit;               /* the helpers must end */
  int nThread;             /* helpers started */
  pthread_t aThread[MLREC_MAX_THREADS-1];
};

/* Record the first reason to stop. */
static void stopWith(MlrecJob *p, int rc){
  int ok = SQLITE_OK;
  atomic_compare_exchange_strong(&p->rc, &ok, rc);
}

int mlrecWorkerStop(MlrecWorker *w, i64 nUnit){
  w->nUnit += nUnit;
  if( w->nUnit>=MLREC_CHECK_UNITS ){
    w->nUnit = 0;
    if( w->pIntr ){
      int rc = mlrecInterrupted(w->pIntr);
      if( rc!=SQLITE_OK ) stopWith(w->pJob, rc);
    }
  }
  return atomic_load_explicit(&w->pJob->rc, memory_order_relaxed)
         !=SQLITE_OK;
}

/* Run job p as worker iWorker. */
static void runWorker(MlrecJob *p, int iWorker){
  MlrecWorker w;
  int rc;
  w.pJob = p;
  w.iWorker = iWorker;
  w.pIntr = iWorker==0 ? p->pIntr : 0;
  /* the calling thread looks at its first report: after an interrupt, a
  ** new job does no work */
  w.nUnit = iWorker==0 ? MLREC_CHECK_UNITS : 0;
  rc = p->xWork(p->pCtx, &w);
  if( rc!=SQLITE_OK ) stopWith(p, rc);
}

/* A helper: joins every job opened while it waits, if the job has room. */
static void *helperMain(void *pArg){
  MlrecPool *pool = (MlrecPool*)pArg;
  u64 iSeen = 0;
  pthread_mutex_lock(&pool->mutex);
  for(;;){
    MlrecJob *p;
    int iWorker;
    while( !pool->bQuit && (pool->pJob==0 || pool->iJob==iSeen) ){
      pthread_cond_wait(&pool->wake, &pool->mutex);
    }
    if( pool->bQuit ) break;
    iSeen = pool->iJob;
    p = pool->pJob;
    if( p->nJoined>=p->nWorker ) continue;
    iWorker = p->nJoined++;
    p->nActive++;
    pthread_mutex_unlock(&pool->mutex);
    runWorker(p, iWorker);
    pthread_mutex_lock(&pool->mutex);
    if( --p->nActive==0 ) pthread_cond_signal(&pool->idle);
  }
  pthread_mutex_unlock(&pool->mutex);
  return 0;
}

/* A pool with no thread yet, or NULL. */
static MlrecPool *poolNew(void){
  MlrecPool *pool = sqlite3_malloc64(sizeof(*pool));
  if( pool==0 ) return 0;
  memset(pool, 0, sizeof(*pool));
  if( pthread_mutex_init(&pool->mutex, 0)==0 ){
    if( pthread_cond_init(&pool->wake, 0)==0 ){
      if( pthread_cond_init(&pool->idle, 0)==0 ) return pool;
      pthread_cond_destroy(&pool->wake);
    }
    pthread_mutex_destroy(&pool->mutex);
  }
  sqlite3_free(pool);
  return 0;
}

/*
** Make ready to run jobs of up to nThread workers on the pool of p (created
** and given helpers here as needed), and return how many workers a job may
** have: nThread, or fewer if threads cannot start, or 1 while the pool runs
** a job (a re-entrant call).  At most MLREC_MAX_THREADS, at least 1.
*/
int mlrecPoolReserve(MlrecState *p, int nThread){
  MlrecPool *pool;
  int nWorker = 1;
  if( nThread>MLREC_MAX_THREADS ) nThread = MLREC_MAX_THREADS;
  if( nThread<=1 ) return 1;
  if( p->pPool==0 ) p->pPool = poolNew();
  pool = p->pPool;
  if( pool==0 ) return 1;
  pthread_mutex_lock(&pool->mutex);
  if( !pool->bBusy ){
    while( pool->nThread<nThread-1
        && pthread_create(&pool->aThread[pool->nThread], 0, helperMain,
                          pool)==0 ){
      pool->nThread++;
    }
    nWorker = pool->nThread+1<nThread ? pool->nThread+1 : nThread;
  }
  pthread_mutex_unlock(&pool->mutex);
  return nWorker;
}

/* Open job p to the helpers; 0 if the pool runs another job already. */
static int openJob(MlrecPool *pool, MlrecJob *p){
  int bOpen;
  pthread_mutex_lock(&pool->mutex);
  bOpen = !pool->bBusy && pool->nThread>0;
  if( bOpen ){
    pool->bBusy = 1;
    pool->pJob = p;
    pool->iJob++;
    pthread_cond_broadcast(&pool->wake);
  }
  pthread_mutex_unlock(&pool->mutex);
  return bOpen;
}

/* Close job p to the helpers that have not joined, and wait for the others
** to leave it. */
static void closeJob(MlrecPool *pool, MlrecJob *p){
  pthread_mutex_lock(&pool->mutex);
  pool->pJob = 0;
  while( p->nActive>0 ) pthread_cond_wait(&pool->idle, &pool->mutex);
  pool->bBusy = 0;
  pthread_mutex_unlock(&pool->mutex);
}

/*
** Run xWork(pCtx, pWorker) as a job of up to nWorker workers (at most what
** mlrecPoolReserve() returned): on the calling thread, with probe pIntr (or
** NULL), and on the helpers of p's pool that join.  Returns SQLITE_OK, or
** the first error of a worker or of the probe.  *pnJoined, if not NULL,
** gets the number of workers that ran: slots 0 to *pnJoined-1.
*/
int mlrecPoolRun(MlrecState *p, MlrecInterrupt *pIntr, int nWorker,
                 MlrecWorkFn xWork, void *pCtx, int *pnJoined){
  MlrecPool *pool = p->pPool;
  MlrecJob job;
  int bShared;
  memset(&job, 0, sizeof(job));
  job.xWork = xWork;
  job.pCtx = pCtx;
  job.pIntr = pIntr;
  job.nWorker = nWorker;
  job.nJoined = 1;
  atomic_init(&job.rc, SQLITE_OK);
  bShared = nWorker>1 && pool && openJob(pool, &job);
  runWorker(&job, 0);
  if( bShared ) closeJob(pool, &job);
  if( pnJoined ) *pnJoined = job.nJoined;
  return atomic_load(&job.rc);
}

/* A job of independent tasks. */
typedef struct TaskJob TaskJob;
struct TaskJob {
  MlrecTaskFn xTask;
  void *pCtx;
  i64 nTask;
  atomic_llong iNext;      /* the next task to take */
};

/* Take and run tasks until none is left or the job stops. */
static int runTasks(void *pArg, MlrecWorker *w){
  TaskJob *p = (TaskJob*)pArg;
  for(;;){
    i64 iTask;
    int rc;
    if( mlrecWorkerStop(w, 1) ) return SQLITE_OK;
    iTask = atomic_fetch_add(&p->iNext, 1);
    if( iTask>=p->nTask ) return SQLITE_OK;
    rc = p->xTask(p->pCtx, w, iTask);
    if( rc!=SQLITE_OK ) return rc;
  }
}

/*
** Run xTask(pCtx, pWorker, iTask) once for every iTask in [0, nTask), as a
** job of up to nWorker workers.  A task reads what is shared and writes
** only its own outputs and its worker's work space.  Returns SQLITE_OK, or
** the first error of a task or of the probe pIntr; *pnJoined as for
** mlrecPoolRun().
*/
int mlrecParallelRun(MlrecState *p, MlrecInterrupt *pIntr, int nWorker,
                     i64 nTask, MlrecTaskFn xTask, void *pCtx,
                     int *pnJoined){
  TaskJob job;
  job.xTask = xTask;
  job.pCtx = pCtx;
  job.nTask = nTask;
  atomic_init(&job.iNext, 0);
  if( nWorker>nTask ) nWorker = nTask>1 ? (int)nTask : 1;
  return mlrecPoolRun(p, pIntr, nWorker, runTasks, &job, pnJoined);
}

/* A job in stages (mlrecStagedRun()). */
typedef struct StagedJob StagedJob;
struct StagedJob {
  const MlrecStages *pStages;
  atomic_llong iNext;      /* the next task to take, counted over stages */
  atomic_llong nDone;      /* tasks done */
};

#define STAGE_SPINS 64     /* looks at the previous stage before yielding */

/* Wait until the nBefore tasks of the stages before this one are done;
** false if the job stops meanwhile. */
static int awaitStage(StagedJob *p, MlrecWorker *w, i64 nBefore){
  int nSpin = 0;
  while( atomic_load(&p->nDone)<nBefore ){
    if( mlrecWorkerStop(w, 1) ) return 0;
    if( ++nSpin>STAGE_SPINS ) sched_yield();
  }
  return 1;
}

/* The calling thread does its own work first; then every worker takes
** tasks in order, each once the stages before its own are done. */
static int runStages(void *pArg, MlrecWorker *w){
  StagedJob *p = (StagedJob*)pArg;
  const MlrecStages *pS = p->pStages;
  int iStage = 0;
  i64 iStart = 0, iEnd = pS->xCount(pS->pCtx, 0);
  if( w->iWorker==0 && pS->xFirst ){
    int rc = pS->xFirst(pS->pFirstCtx);
    if( rc!=SQLITE_OK ) return rc;
  }
  for(;;){
    i64 iTask;
    int rc;
    if( mlrecWorkerStop(w, 1) ) return SQLITE_OK;
    iTask = atomic_fetch_add(&p->iNext, 1);
    while( iTask>=iEnd ){
      if( ++iStage==pS->nStage ) return SQLITE_OK;
      iStart = iEnd;
      iEnd += pS->xCount(pS->pCtx, iStage);
    }
    if( !awaitStage(p, w, iStart) ) return SQLITE_OK;
    rc = pS->xTask(pS->pCtx, w, iStage, iTask - iStart);
    if( rc!=SQLITE_OK ) return rc;
    atomic_fetch_add(&p->nDone, 1);
  }
}

/*
** Run the stages of pStages in order, as a job of up to nWorker workers:
** the tasks of a stage are independent, and start once every task of the
** stages before is done.  The calling thread first runs pStages->xFirst
** (if not NULL; it may call SQLite), while the helpers that join start on
** the stages.  Returns SQLITE_OK, or the first error of xFirst, of a task
** or of the probe pIntr.
*/
int mlrecStagedRun(MlrecState *p, MlrecInterrupt *pIntr, int nWorker,
                   const MlrecStages *pStages){
  StagedJob job;
  job.pStages = pStages;
  atomic_init(&job.iNext, 0);
  atomic_init(&job.nDone, 0);
  return mlrecPoolRun(p, pIntr, nWorker, runStages, &job, 0);
}

/* End the helpers of pool (NULL: none), join them and free it. */
void mlrecPoolFree(MlrecPool *pool){
  int t;
  if( pool==0 ) return;
  pthread_mutex_lock(&pool->mutex);
  pool->bQuit = 1;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  for(t=0; t<pool->nThread; t++) pthread_join(pool->aThread[t], 0);
  pthread_cond_destroy(&pool->idle);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->mutex);
  sqlite3_free(pool);
}

/* The online processors, from 1 to MLREC_MAX_THREADS: the default number
** of threads. */
int mlrecOnlineCores(void){
#ifdef _SC_NPROCESSORS_ONLN
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n>1 ? (n<MLREC_MAX_THREADS ? (int)n : MLREC_MAX_THREADS) : 1;
#else
  return 1;
#endif
}
