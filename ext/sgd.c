/*
** sgd.c: the training kernel of train_mf(): stochastic gradient descent
** over blocks of the rating matrix, on every core, with a model that does
** not depend on the number of threads.
**
**     SELECT train_mf('{"threads": 2}');
**
** THE GRID.  Users are dealt into SGD_GRID groups and movies into SGD_GRID
** groups, balanced by number of ratings (sorted by count, dealt in snake
** order).  Block (a, b) holds the ratings of the users of group a for the
** movies of group b, sorted by user so that a user's factors stay in cache.
** Two blocks that share neither their row nor their column update disjoint
** parameters, so two threads can train them at once without locks (the
** scheme of DSGD and LIBMF).
**
** THE SCHEDULE.  An epoch is SGD_GRID strata; stratum s is the blocks
** (a, (a + off[s]) mod SGD_GRID) for every row a, with off[] a permutation
** drawn from the seed every epoch.  So every rating is visited once per
** epoch.  Threads take blocks in schedule order; a block starts once the
** blocks before it in its row and in its column are done.  Each parameter
** therefore sees the same updates in the same order whatever the number of
** threads: the model depends on the seed, options and data only, bit for
** bit, and `threads` changes the speed, never the answer.
**
** INTERRUPTS.  With one thread the calling thread trains and steps the
** interrupt probe (util.c) every ~2 ms of work.  With more, workers check
** an atomic stop flag every ~2 ms of work, while the calling thread waits,
** stepping the probe every 5 ms, and sets the flag when interrupted.  All
** memory is allocated by the calling thread before the workers start.
*/
#include "mlrec.h"
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SGD_GRID 32                        /* groups of users, of movies */
#define SGD_BLOCKS (SGD_GRID*SGD_GRID)
#define SGD_RATINGS_PER_THREAD 40000       /* fewer: not worth a thread */
#define SGD_WAIT_NS 5000000                /* probe period while waiting */

/* Four floats, handled as one SSE/NEON register. */
typedef float SgdVec __attribute__((vector_size(16)));
#define SGD_LANES 4

/* One rating of the grid, by dense user and movie index. */
typedef struct SgdEntry SgdEntry;
struct SgdEntry {
  int u, i;
  float r;
};

/* What a thread that trains needs of its own. */
typedef struct SgdThread SgdThread;
struct SgdThread {
  MlrecSgd *p;
  MlrecInterrupt *pIntr;   /* the calling thread: probe to step; else 0 */
  i64 nBudget;             /* updates until the next interrupt check */
  int rc;                  /* SQLITE_INTERRUPT once asked to stop */
  pthread_t tid;
};

struct MlrecSgd {
  MlrecModel *m;
  float mu, lr, reg, regBias;
  i64 nPoll;                     /* updates between interrupt checks */
  u64 rng;                       /* draws the schedule of each epoch */
  SgdEntry *aEntry;              /* the ratings, block after block */
  i64 aBlock[SGD_BLOCKS+1];      /* start of block a*SGD_GRID+b in aEntry */
  int aTask[SGD_BLOCKS];         /* the blocks of the epoch, in order */
  double aLoss[SGD_BLOCKS];      /* squared errors of each block's steps */
  atomic_int nextTask;           /* next position in aTask to take */
  atomic_int aRowDone[SGD_GRID]; /* blocks of each row done this epoch */
  atomic_int aColDone[SGD_GRID]; /* blocks of each column done */
  atomic_int bStop;              /* set by the calling thread */
  /* Worker threads; none when the calling thread trains alone. */
  int nThread;
  SgdThread *aThread;
  pthread_mutex_t mutex;
  pthread_cond_t wake;           /* a new epoch, or quit */
  pthread_cond_t done;           /* a worker finished its epoch */
  int bSync;                     /* mutex and conditions initialised */
  int iEpoch;                    /* epochs started; workers follow it */
  int nFinished;                 /* workers done with the current epoch */
  int bQuit;
};

/* The number of online processors, at least 1. */
int mlrecOnlineCores(void){
#ifdef _SC_NPROCESSORS_ONLN
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n>1 ? (n<1024 ? (int)n : 1024) : 1;
#else
  return 1;
#endif
}

/* Unaligned loads and stores (through pointers: a vector argument or
** result would depend on the instruction set in the ABI). */
#define loadVec(pv, a)  memcpy((pv), (a), sizeof(SgdVec))
#define storeVec(a, pv) memcpy((a), (pv), sizeof(SgdVec))

/* a . b over n floats: two vector sums, then the tail; always this order. */
static float dotVec(const float *a, const float *b, int n){
  SgdVec acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0}, x, y;
  float s;
  int d;
  for(d=0; d+2*SGD_LANES<=n; d+=2*SGD_LANES){
    loadVec(&x, a+d);
    loadVec(&y, b+d);
    acc0 += x*y;
    loadVec(&x, a+d+SGD_LANES);
    loadVec(&y, b+d+SGD_LANES);
    acc1 += x*y;
  }
  if( d+SGD_LANES<=n ){
    loadVec(&x, a+d);
    loadVec(&y, b+d);
    acc0 += x*y;
    d += SGD_LANES;
  }
  acc0 += acc1;
  s = (acc0[0]+acc0[2]) + (acc0[1]+acc0[3]);
  for(; d<n; d++) s += a[d]*b[d];
  return s;
}

float mlrecDot(const float *a, const float *b, int n){
  return dotVec(a, b, n);
}

/* One SGD step on rating r of user factors pu and movie factors qi;
** returns the error before the step. */
static float sgdStep(const MlrecSgd *p, int nF, float *pu, float *qi,
                     float *bu, float *bi, float r){
  float e = r - (p->mu + *bu + *bi + dotVec(pu, qi, nF));
  float le = p->lr*e, lreg = p->lr*p->reg;
  int d;
  *bu += p->lr*(e - p->regBias*(*bu));
  *bi += p->lr*(e - p->regBias*(*bi));
  for(d=0; d+SGD_LANES<=nF; d+=SGD_LANES){
    SgdVec x, y, xNew, yNew;
    loadVec(&x, pu+d);
    loadVec(&y, qi+d);
    xNew = x + (le*y - lreg*x);
    yNew = y + (le*x - lreg*y);
    storeVec(pu+d, &xNew);
    storeVec(qi+d, &yNew);
  }
  for(; d<nF; d++){
    float x = pu[d], y = qi[d];
    pu[d] = x + (le*y - lreg*x);
    qi[d] = y + (le*x - lreg*y);
  }
  return e;
}

/* True (and t->rc set) if training must stop. */
static int mustStop(SgdThread *t){
  t->nBudget = t->p->nPoll;
  if( t->pIntr ){
    t->rc = mlrecInterrupted(t->pIntr);
  }else if( atomic_load_explicit(&t->p->bStop, memory_order_relaxed) ){
    t->rc = SQLITE_INTERRUPT;
  }
  return t->rc!=SQLITE_OK;
}

/* Train on the ratings of block iBlock; 0 if told to stop partway. */
static int trainBlock(SgdThread *t, int iBlock){
  MlrecSgd *p = t->p;
  MlrecModel *m = p->m;
  int nF = m->nFactor;
  const SgdEntry *a = p->aEntry;
  i64 k = p->aBlock[iBlock], end = p->aBlock[iBlock+1];
  double rLoss = 0.0;
  while( k<end ){
    i64 n = end-k < t->nBudget ? end-k : t->nBudget;
    i64 stop = k+n;
    for(; k<stop; k++){
      float e = sgdStep(p, nF, m->aUserFactor + (i64)a[k].u*nF,
                        m->aItemFactor + (i64)a[k].i*nF,
                        &m->aUserBias[a[k].u], &m->aItemBias[a[k].i], a[k].r);
      rLoss += (double)e*e;
    }
    t->nBudget -= n;
    if( t->nBudget==0 && mustStop(t) ) return 0;
  }
  p->aLoss[iBlock] = rLoss;
  return 1;
}

/* Wait until the blocks before stratum s in row a and column b are done. */
static int waitForBlock(SgdThread *t, int a, int b, int s){
  MlrecSgd *p = t->p;
  int nSpin = 0;
  while( atomic_load_explicit(&p->aRowDone[a], memory_order_acquire)<s
      || atomic_load_explicit(&p->aColDone[b], memory_order_acquire)<s ){
    if( atomic_load_explicit(&p->bStop, memory_order_relaxed) ) return 0;
    if( ++nSpin>64 ) sched_yield();
  }
  return 1;
}

/* Take and train blocks of the current epoch until none is left. */
static void trainTasks(SgdThread *t){
  MlrecSgd *p = t->p;
  int iTask;
  while( (iTask = atomic_fetch_add(&p->nextTask, 1))<SGD_BLOCKS ){
    int iBlock = p->aTask[iTask];
    int a = iBlock/SGD_GRID, b = iBlock%SGD_GRID;
    if( !waitForBlock(t, a, b, iTask/SGD_GRID) ) return;
    if( !trainBlock(t, iBlock) ) return;
    atomic_fetch_add_explicit(&p->aRowDone[a], 1, memory_order_release);
    atomic_fetch_add_explicit(&p->aColDone[b], 1, memory_order_release);
  }
}

static void *workerMain(void *pArg){
  SgdThread *t = (SgdThread*)pArg;
  MlrecSgd *p = t->p;
  int iEpoch = 0;
  pthread_mutex_lock(&p->mutex);
  for(;;){
    while( p->iEpoch==iEpoch && !p->bQuit ){
      pthread_cond_wait(&p->wake, &p->mutex);
    }
    if( p->bQuit ) break;
    iEpoch = p->iEpoch;
    pthread_mutex_unlock(&p->mutex);
    t->nBudget = p->nPoll;
    trainTasks(t);
    pthread_mutex_lock(&p->mutex);
    p->nFinished++;
    pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mutex);
  return 0;
}

/* Sort key of a user or movie when dealing them into groups. */
typedef struct SgdRank SgdRank;
struct SgdRank {
  i64 nRating;
  int idx;
};

static int cmpRank(const void *pA, const void *pB){
  const SgdRank *a = (const SgdRank*)pA, *b = (const SgdRank*)pB;
  if( a->nRating!=b->nRating ) return a->nRating>b->nRating ? -1 : 1;
  return (a->idx>b->idx) - (a->idx<b->idx);
}

/*
** Deal the n rows of a CSR (offsets aStart) into SGD_GRID groups of nearly
** equal rating counts: by count, largest first, in snake order.
*/
static int dealGroups(const i64 *aStart, int n, unsigned char *aGroup){
  SgdRank *a = sqlite3_malloc64(sizeof(SgdRank)*((i64)n+1));
  int j;
  if( a==0 ) return SQLITE_NOMEM;
  for(j=0; j<n; j++){
    a[j].nRating = aStart[j+1]-aStart[j];
    a[j].idx = j;
  }
  qsort(a, (size_t)n, sizeof(SgdRank), cmpRank);
  for(j=0; j<n; j++){
    int iRound = j/SGD_GRID, iPos = j%SGD_GRID;
    aGroup[a[j].idx] = (unsigned char)(iRound&1 ? SGD_GRID-1-iPos : iPos);
  }
  sqlite3_free(a);
  return SQLITE_OK;
}

/* Lay the ratings of pR out block by block, each block sorted by user. */
static int buildGrid(MlrecSgd *p, const MlrecRatings *pR,
                     MlrecInterrupt *pIntr){
  unsigned char *aUserGroup = sqlite3_malloc64((i64)pR->nUser+1);
  unsigned char *aItemGroup = sqlite3_malloc64((i64)pR->nItem+1);
  i64 aNext[SGD_BLOCKS];
  i64 k;
  int rc = SQLITE_NOMEM, u, j;
  p->aEntry = sqlite3_malloc64(sizeof(SgdEntry)*(pR->nRating+1));
  if( aUserGroup && aItemGroup && p->aEntry ){
    rc = dealGroups(pR->aUserStart, pR->nUser, aUserGroup);
  }
  if( rc==SQLITE_OK ) rc = dealGroups(pR->aItemStart, pR->nItem, aItemGroup);
  if( rc==SQLITE_OK ){
    memset(p->aBlock, 0, sizeof(p->aBlock));
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        p->aBlock[aUserGroup[u]*SGD_GRID + aItemGroup[pR->aUserItem[k]] + 1]++;
        rc = mlrecInterruptedEvery(pIntr, k);
      }
    }
    for(j=0; j<SGD_BLOCKS; j++) p->aBlock[j+1] += p->aBlock[j];
    memcpy(aNext, p->aBlock, sizeof(aNext));
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        int i = pR->aUserItem[k];
        SgdEntry *e = &p->aEntry[aNext[aUserGroup[u]*SGD_GRID
                                      + aItemGroup[i]]++];
        e->u = u;
        e->i = i;
        e->r = pR->aUserValue[k];
        rc = mlrecInterruptedEvery(pIntr, k);
      }
    }
  }
  sqlite3_free(aUserGroup);
  sqlite3_free(aItemGroup);
  return rc;
}

/* Start up to nWant workers; with fewer (even none) the model is the same. */
static void startThreads(MlrecSgd *p, int nWant){
  int j;
  if( pthread_mutex_init(&p->mutex, 0) ) return;
  if( pthread_cond_init(&p->wake, 0) ){
    pthread_mutex_destroy(&p->mutex);
    return;
  }
  if( pthread_cond_init(&p->done, 0) ){
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mutex);
    return;
  }
  p->bSync = 1;
  p->aThread = sqlite3_malloc64(sizeof(SgdThread)*(i64)nWant);
  if( p->aThread==0 ) return;
  memset(p->aThread, 0, sizeof(SgdThread)*(i64)nWant);
  for(j=0; j<nWant; j++){
    p->aThread[j].p = p;
    if( pthread_create(&p->aThread[j].tid, 0, workerMain, &p->aThread[j]) ){
      break;
    }
    p->nThread++;
  }
}

/*
** Prepare to train model m (initialised by the caller) on snapshot pR with
** up to nThread threads, stepping probe pIntr while laying out the grid.
*/
int mlrecSgdBegin(const MlrecRatings *pR, MlrecModel *m, int nThread,
                  MlrecInterrupt *pIntr, MlrecSgd **ppOut){
  MlrecSgd *p = sqlite3_malloc64(sizeof(*p));
  i64 nUseful = pR->nRating/SGD_RATINGS_PER_THREAD;
  int rc;
  *ppOut = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->m = m;
  p->mu = (float)m->mu;
  p->lr = (float)m->opt.learningRate;
  p->reg = (float)m->opt.regularization;
  p->regBias = (float)m->opt.biasRegularization;
  p->nPoll = 1 + (1<<21)/(m->nFactor+16);
  p->rng = (u64)m->opt.seed ^ 0x5851f42d4c957f2dULL;
  rc = buildGrid(p, pR, pIntr);
  if( rc!=SQLITE_OK ){
    mlrecSgdEnd(p);
    return rc;
  }
  if( nThread>SGD_GRID ) nThread = SGD_GRID;
  if( nThread>nUseful ) nThread = (int)nUseful;
  if( nThread>1 ) startThreads(p, nThread);
  *ppOut = p;
  return SQLITE_OK;
}

/* Draw the order of the strata of the next epoch into aTask. */
static void drawSchedule(MlrecSgd *p){
  int aOff[SGD_GRID];
  int s, a;
  for(s=0; s<SGD_GRID; s++) aOff[s] = s;
  for(s=SGD_GRID-1; s>0; s--){
    int j = (int)mlrecRandomBelow(&p->rng, s+1);
    int t = aOff[s];
    aOff[s] = aOff[j];
    aOff[j] = t;
  }
  for(s=0; s<SGD_GRID; s++){
    for(a=0; a<SGD_GRID; a++){
      p->aTask[s*SGD_GRID + a] = a*SGD_GRID + (a+aOff[s])%SGD_GRID;
    }
  }
  atomic_store(&p->nextTask, 0);
  for(a=0; a<SGD_GRID; a++){
    atomic_store(&p->aRowDone[a], 0);
    atomic_store(&p->aColDone[a], 0);
  }
}

/* Wait for the workers to finish the epoch, stepping the probe meanwhile. */
static int waitForWorkers(MlrecSgd *p, MlrecInterrupt *pIntr){
  int rc = SQLITE_OK;
  while( p->nFinished<p->nThread ){
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += SGD_WAIT_NS;
    if( ts.tv_nsec>=1000000000 ){
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&p->done, &p->mutex, &ts);
    if( rc==SQLITE_OK && p->nFinished<p->nThread
     && (rc = mlrecInterrupted(pIntr))!=SQLITE_OK ){
      atomic_store(&p->bStop, 1);
    }
  }
  return rc;
}

/*
** Run one epoch: every rating once.  Returns SQLITE_OK, or the error of the
** probe pIntr (SQLITE_INTERRUPT) if asked to stop; the parameters are then
** part way through the epoch.
*/
int mlrecSgdEpoch(MlrecSgd *p, MlrecInterrupt *pIntr){
  int rc;
  drawSchedule(p);
  if( p->nThread==0 ){
    SgdThread t;
    memset(&t, 0, sizeof(t));
    t.p = p;
    t.pIntr = pIntr;
    t.nBudget = p->nPoll;
    trainTasks(&t);
    return t.rc;
  }
  pthread_mutex_lock(&p->mutex);
  p->iEpoch++;
  p->nFinished = 0;
  pthread_cond_broadcast(&p->wake);
  rc = waitForWorkers(p, pIntr);
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

/*
** The training loss of the last epoch: the RMSE of its steps, each rating's
** error just before its own step.  Summed block by block in a fixed order,
** so that it too does not depend on the number of threads.
*/
double mlrecSgdLoss(const MlrecSgd *p){
  double rSum = 0.0;
  int j;
  for(j=0; j<SGD_BLOCKS; j++) rSum += p->aLoss[j];
  return p->aBlock[SGD_BLOCKS] ? sqrt(rSum/(double)p->aBlock[SGD_BLOCKS]) : 0.0;
}

/* Threads the training runs on: the workers, or 1 for the calling thread. */
int mlrecSgdThreads(const MlrecSgd *p){
  return p->nThread ? p->nThread : 1;
}

/* Stop the workers and free everything. */
void mlrecSgdEnd(MlrecSgd *p){
  int j;
  if( p==0 ) return;
  if( p->bSync ){
    pthread_mutex_lock(&p->mutex);
    p->bQuit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for(j=0; j<p->nThread; j++) pthread_join(p->aThread[j].tid, 0);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mutex);
  }
  sqlite3_free(p->aThread);
  sqlite3_free(p->aEntry);
  sqlite3_free(p);
}
