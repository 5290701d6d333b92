/*
** sgd.c: the training kernel of train_mf(): stochastic gradient descent
** over blocks of the rating matrix, on every core, with a model that does
** not depend on the number of threads.
**
**     SELECT train_mf('{"threads": 2}');
**
** THE GRID.  Users are dealt into G groups and movies into G groups,
** balanced by number of ratings (sorted by count, dealt in snake order);
** G is 32, or more when there are over 2 million users or movies, so that
** a group never holds more than 65536.  Block (a, b) holds the ratings of
** the users of group a for the movies of group b, in an order shuffled once
** from the seed, each as 16-bit positions of the user and the movie inside
** their groups, and the rating: one byte when the ratings are small half
** stars (the snapshot's aUserHalf, decoded through a table), else a float;
** 5 or 8 bytes a rating.  Training works on a copy of
** the parameters in grid order (the users of group 0, then those of group 1,
** ...; the movies likewise), so that a block's users and movies are two
** contiguous runs of memory, not rows scattered over the whole model: at 25
** million ratings that halves the misses in the processor's caches and page
** tables.  mlrecSgdSync() copies it back to the model.  Two blocks that share neither
** their row nor their column update disjoint parameters, so two threads can
** train them at once without locks (the scheme of DSGD and LIBMF).
**
** THE SCALE.  SGD trains on the ratings divided by the model's scale
** (mf.c: their largest magnitude over MovieLens' 5), so that the learning
** rate and penalties mean the same on every scale: ratings x100 do not
** diverge, ratings x0.001 do not vanish.  The biases of the grid are in
** those units, the factors in their square root; mlrecSgdSync() gives the
** model parameters of the data's own scale.  MovieLens' scale is 1: no
** multiplication at all.
**
** THE SCHEDULE.  An epoch is G strata; stratum s is the blocks
** (a, (a + off[s]) mod G) for every row a, with off[] a permutation drawn
** from the seed every epoch.  So every rating is visited once per epoch.
** A block may start once the blocks before it in its row and in its column
** are done; a thread takes the first block that may start among the next
** few strata, so that a thread the system holds up stalls the others late.
** Each parameter therefore sees the same updates in the same order whatever
** the number of threads: the model depends on the seed, options and data
** only, bit for bit, and `threads` changes the speed, never the answer.
**
** THREADS.  An epoch is a job on the connection's pool (core/pool.c): the
** calling thread and the helpers that join take blocks as above.  Each
** reports its steps to the pool's interrupt rule after every batch of about
** a millisecond of work, and stops when told to.  All memory is allocated
** by the calling thread before the first epoch.
*/
#include "rating.h"
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SGD_GRID 32                        /* groups of users, of movies */
#define SGD_GROUP_MAX 65536                /* users or movies in a group */
#define SGD_RATINGS_PER_THREAD 200000      /* fewer: not worth a thread */
#define SGD_AHEAD 4                        /* prefetch distance, in ratings */
#define SGD_LOOKAHEAD 4                    /* strata a thread may run ahead */
#define SGD_SPINS 64                       /* looks for a block before the
                                           ** thread yields its core */

/* Units of work (core/pool.c) of n steps of nF factors: a step takes about
** (nF + 16) / 2048 microseconds. */
#define sgdUnits(n, nF) (((n)*((nF)+16) + 2047)>>11)

/* One rating of the grid: its user and movie by position in their groups. */
typedef struct SgdEntry SgdEntry;
struct SgdEntry {
  unsigned short u, i;
};

/*
** Users (or movies) dealt into groups: group g is aOrder[aFirst[g]] to
** aOrder[aFirst[g+1]-1], dense indexes in ascending order.
*/
typedef struct SgdGroups SgdGroups;
struct SgdGroups {
  int *aOrder;
  int *aFirst;
};

/* The constants of an SGD step, held in registers by the caller. */
typedef struct SgdRates SgdRates;
struct SgdRates {
  float mu;              /* mean rating */
  float lr;              /* learning rate */
  float decay;           /* 1 - lr * regularization */
  float decayBias;       /* 1 - lr * bias_regularization */
};

struct MlrecSgd {
  MlrecState *pState;            /* the connection, whose pool trains */
  int nWorker;                   /* workers of an epoch's job */
  MlrecModel *m;
  SgdRates rates;
  i64 nBatch;                    /* steps between reports of the work */
  u64 rng;                       /* draws the schedule of each epoch */
  int nGrid;                     /* G, groups of users and of movies */
  int nBlock;                    /* G * G */
  SgdGroups users, items;
  SgdEntry *aEntry;              /* the ratings, block after block */
  signed char *aHalf;            /* their values: 2 x rating, or NULL and */
  float *aValue;                 /* the values themselves */
  float aHalfValue[256];         /* the value of each byte of aHalf */
  float *aUserBias, *aItemBias;  /* the parameters in grid order */
  float *aUserFactor, *aItemFactor;
  i64 *aBlock;                   /* nBlock+1: start of block a*G+b */
  int *aTask;                    /* nBlock: the blocks of the epoch, in order */
  double *aLoss;                 /* nBlock: squared errors of its steps */
  atomic_int *aRowDone;          /* G: blocks of each row done this epoch */
  atomic_int *aColDone;          /* G: blocks of each column done */
  atomic_char *aClaimed;         /* nBlock: task taken by a thread */
  atomic_int nextTask;           /* tasks before this one are all taken */
};

/*
** One SGD step on rating r of user factors pu and movie factors qi, with
** p += lr (e q - reg p) written as p = decay p + (lr e) q; returns the
** error before the step.
*/
static float sgdStep(SgdRates c, int nF, float *pu, float *qi,
                     float *bu, float *bi, float r){
  float e = r - (c.mu + *bu + *bi + mlrecDot(pu, qi, nF));
  float le = c.lr*e;
  int d;
  *bu = c.decayBias*(*bu) + le;
  *bi = c.decayBias*(*bi) + le;
  for(d=0; d+MLREC_LANES<=nF; d+=MLREC_LANES){
    MlrecVec4 x, y, xNew, yNew;
    mlrecLoad4(&x, pu+d);
    mlrecLoad4(&y, qi+d);
    xNew = c.decay*x + le*y;
    yNew = c.decay*y + le*x;
    mlrecStore4(pu+d, &xNew);
    mlrecStore4(qi+d, &yNew);
  }
  for(; d<nF; d++){
    float x = pu[d], y = qi[d];
    pu[d] = c.decay*x + le*y;
    qi[d] = c.decay*y + le*x;
  }
  return e;
}

/* Ask for the nF floats at p ahead of their use (a macro: GCC drops a
** function that only prefetches as if it had no effect). */
#define prefetchRow(p, nF) \
  (__builtin_prefetch(p), __builtin_prefetch((p) + (nF) - 1))

/* Train on the ratings of block iBlock; 0 if told to stop partway. */
static int trainBlock(MlrecSgd *p, MlrecWorker *w, int iBlock){
  const MlrecModel *m = p->m;
  const SgdEntry *a = p->aEntry;
  const signed char *aHalf = p->aHalf;
  const float *aValue = p->aValue;
  int nF = m->nFactor;
  int iUser0 = p->users.aFirst[iBlock/p->nGrid];
  int iItem0 = p->items.aFirst[iBlock%p->nGrid];
  float *aUserFactor = p->aUserFactor + (i64)iUser0*nF;
  float *aItemFactor = p->aItemFactor + (i64)iItem0*nF;
  float *aUserBias = p->aUserBias + iUser0, *aItemBias = p->aItemBias + iItem0;
  SgdRates c = p->rates;
  i64 k = p->aBlock[iBlock], end = p->aBlock[iBlock+1];
  double rLoss = 0.0;
  while( k<end ){
    i64 n = end-k < p->nBatch ? end-k : p->nBatch;
    i64 stop = k+n;
    for(; k<stop; k++){
      int u = a[k].u, i = a[k].i;
      float e;
      if( k+SGD_AHEAD<end ){
        prefetchRow(aUserFactor + a[k+SGD_AHEAD].u*nF, nF);
        prefetchRow(aItemFactor + a[k+SGD_AHEAD].i*nF, nF);
      }
      e = sgdStep(c, nF, aUserFactor + u*nF, aItemFactor + i*nF,
                  &aUserBias[u], &aItemBias[i],
                  aHalf ? p->aHalfValue[(unsigned char)aHalf[k]] : aValue[k]);
      rLoss += (double)e*e;
    }
    if( mlrecWorkerStop(w, sgdUnits(n, nF)) ) return 0;
  }
  p->aLoss[iBlock] = rLoss;
  return 1;
}

/* True if task iTask may start: the blocks before it in its row and in its
** column (one per earlier stratum) are done. */
static int taskReady(MlrecSgd *p, int iTask){
  int iBlock = p->aTask[iTask], s = iTask/p->nGrid;
  return atomic_load_explicit(&p->aRowDone[iBlock/p->nGrid],
                              memory_order_acquire)==s
      && atomic_load_explicit(&p->aColDone[iBlock%p->nGrid],
                              memory_order_acquire)==s;
}

/*
** Take a task that may start: the first one ready among the next
** SGD_LOOKAHEAD strata of tasks not yet taken, so that a thread held up
** (by the system, say) in one row and column stalls the others only once
** its block is needed everywhere.  Returns -1 when none is left, or if
** told to stop (a wait counts as work, for the calling thread to look at
** the interrupt).
*/
static int claimTask(MlrecSgd *p, MlrecWorker *w){
  int nSpin = 0;
  for(;;){
    int iFirst = atomic_load(&p->nextTask), iTask, iEnd;
    /* move nextTask past the tasks already taken */
    while( iFirst<p->nBlock && atomic_load(&p->aClaimed[iFirst]) ){
      if( atomic_compare_exchange_weak(&p->nextTask, &iFirst, iFirst+1) ){
        iFirst++;
      }
    }
    if( iFirst>=p->nBlock ) return -1;
    if( mlrecWorkerStop(w, nSpin>SGD_SPINS) ) return -1;
    iEnd = iFirst + SGD_LOOKAHEAD*p->nGrid;
    if( iEnd>p->nBlock ) iEnd = p->nBlock;
    for(iTask=iFirst; iTask<iEnd; iTask++){
      char cFree = 0;
      if( !atomic_load_explicit(&p->aClaimed[iTask], memory_order_relaxed)
       && taskReady(p, iTask)
       && atomic_compare_exchange_strong(&p->aClaimed[iTask], &cFree, 1) ){
        return iTask;
      }
    }
    if( ++nSpin>SGD_SPINS ) sched_yield();
  }
}

/* A worker of the epoch's job: takes and trains blocks until none is left
** or it is told to stop (the pool has the reason). */
static int trainTasks(void *pCtx, MlrecWorker *w){
  MlrecSgd *p = (MlrecSgd*)pCtx;
  int iTask;
  while( (iTask = claimTask(p, w))>=0 ){
    int iBlock = p->aTask[iTask];
    if( !trainBlock(p, w, iBlock) ) break;
    atomic_fetch_add_explicit(&p->aRowDone[iBlock/p->nGrid], 1,
                              memory_order_release);
    atomic_fetch_add_explicit(&p->aColDone[iBlock%p->nGrid], 1,
                              memory_order_release);
  }
  return SQLITE_OK;
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
** Deal the n rows of a CSR (offsets aStart) into nGrid groups of nearly
** equal rating counts: by count, largest first, in snake order.  Fills
** pG, and aGroup[] and aPos[] with the group and position of each row.
*/
static int dealGroups(const i64 *aStart, int n, int nGrid, SgdGroups *pG,
                      int *aGroup, unsigned short *aPos){
  SgdRank *a = sqlite3_malloc64(sizeof(SgdRank)*((i64)n+1));
  int *aNext = sqlite3_malloc64(sizeof(int)*((i64)nGrid+1));
  int j;
  pG->aOrder = sqlite3_malloc64(sizeof(int)*((i64)n+1));
  pG->aFirst = sqlite3_malloc64(sizeof(int)*((i64)nGrid+1));
  if( a==0 || aNext==0 || pG->aOrder==0 || pG->aFirst==0 ){
    sqlite3_free(a);
    sqlite3_free(aNext);
    return SQLITE_NOMEM;
  }
  for(j=0; j<n; j++){
    a[j].nRating = aStart[j+1]-aStart[j];
    a[j].idx = j;
  }
  qsort(a, (size_t)n, sizeof(SgdRank), cmpRank);
  memset(pG->aFirst, 0, sizeof(int)*((i64)nGrid+1));
  for(j=0; j<n; j++){
    int iRound = j/nGrid, iPos = j%nGrid;
    int g = iRound&1 ? nGrid-1-iPos : iPos;
    aGroup[a[j].idx] = g;
    pG->aFirst[g+1]++;
  }
  for(j=0; j<nGrid; j++) pG->aFirst[j+1] += pG->aFirst[j];
  memcpy(aNext, pG->aFirst, sizeof(int)*nGrid);
  for(j=0; j<n; j++){
    int iPos = aNext[aGroup[j]]++;
    aPos[j] = (unsigned short)(iPos - pG->aFirst[aGroup[j]]);
    pG->aOrder[iPos] = j;
  }
  sqlite3_free(a);
  sqlite3_free(aNext);
  return SQLITE_OK;
}

/* Lay the ratings of pR out block by block. */
static int buildGrid(MlrecSgd *p, const MlrecRatings *pR,
                     MlrecInterrupt *pIntr){
  int nGrid = p->nGrid;
  int *aUserGroup = sqlite3_malloc64(sizeof(int)*((i64)pR->nUser+1));
  int *aItemGroup = sqlite3_malloc64(sizeof(int)*((i64)pR->nItem+1));
  unsigned short *aUserPos = sqlite3_malloc64(2*((i64)pR->nUser+1));
  unsigned short *aItemPos = sqlite3_malloc64(2*((i64)pR->nItem+1));
  i64 *aNext = sqlite3_malloc64(sizeof(i64)*((i64)p->nBlock+1));
  i64 k;
  int rc = SQLITE_NOMEM, u, j;
  p->aEntry = sqlite3_malloc64(sizeof(SgdEntry)*(pR->nRating+1));
  if( pR->aUserHalf ){
    p->aHalf = sqlite3_malloc64(pR->nRating+1);
    for(j=0; j<256; j++){
      float v = (float)(signed char)j * 0.5f;
      p->aHalfValue[j] = p->m->scale==1.0 ? v : (float)(v/p->m->scale);
    }
  }else{
    p->aValue = sqlite3_malloc64(sizeof(float)*(pR->nRating+1));
  }
  if( aUserGroup && aItemGroup && aUserPos && aItemPos && aNext && p->aEntry
   && (p->aHalf || p->aValue) ){
    rc = dealGroups(pR->aUserStart, pR->nUser, nGrid, &p->users,
                    aUserGroup, aUserPos);
  }
  if( rc==SQLITE_OK ){
    rc = dealGroups(pR->aItemStart, pR->nItem, nGrid, &p->items,
                    aItemGroup, aItemPos);
  }
  if( rc==SQLITE_OK ){
    memset(p->aBlock, 0, sizeof(i64)*((i64)p->nBlock+1));
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        p->aBlock[aUserGroup[u]*nGrid + aItemGroup[pR->aUserItem[k]] + 1]++;
        rc = mlrecInterruptedEvery(pIntr, k);
      }
    }
  }
  if( rc==SQLITE_OK ){
    for(j=0; j<p->nBlock; j++) p->aBlock[j+1] += p->aBlock[j];
    memcpy(aNext, p->aBlock, sizeof(i64)*p->nBlock);
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        int i = pR->aUserItem[k];
        i64 m = aNext[aUserGroup[u]*nGrid + aItemGroup[i]]++;
        p->aEntry[m].u = aUserPos[u];
        p->aEntry[m].i = aItemPos[i];
        if( p->aHalf ){
          p->aHalf[m] = pR->aUserHalf[k];
        }else{
          float r = mlrecUserRating(pR, k);
          p->aValue[m] = p->m->scale==1.0 ? r : (float)(r/p->m->scale);
        }
        rc = mlrecInterruptedEvery(pIntr, k);
      }
    }
  }
  sqlite3_free(aUserGroup);
  sqlite3_free(aItemGroup);
  sqlite3_free(aUserPos);
  sqlite3_free(aItemPos);
  sqlite3_free(aNext);
  return rc;
}

/* Swap grid entries a and b, with their values. */
static void swapEntries(MlrecSgd *p, i64 a, i64 b){
  SgdEntry t = p->aEntry[a];
  p->aEntry[a] = p->aEntry[b];
  p->aEntry[b] = t;
  if( p->aHalf ){
    signed char h = p->aHalf[a];
    p->aHalf[a] = p->aHalf[b];
    p->aHalf[b] = h;
  }else{
    float v = p->aValue[a];
    p->aValue[a] = p->aValue[b];
    p->aValue[b] = v;
  }
}

/*
** Shuffle the ratings inside each block, from the seed: two updates in a
** row then rarely share a user or a movie, so the processor can overlap
** them instead of waiting for one to finish before the next can start.
*/
static int shuffleBlocks(MlrecSgd *p, MlrecInterrupt *pIntr){
  int j, rc = SQLITE_OK;
  for(j=0; rc==SQLITE_OK && j<p->nBlock; j++){
    i64 k0 = p->aBlock[j], n = p->aBlock[j+1] - k0, k;
    for(k=n-1; rc==SQLITE_OK && k>0; k--){
      i64 x = mlrecRandomBelow(&p->rng, k+1);
      swapEntries(p, k0+k, k0+x);
      rc = mlrecInterruptedEvery(pIntr, k0 + k);
    }
  }
  return rc;
}

/*
** The grid for up to nMost users or movies: G groups of at most
** SGD_GROUP_MAX, and the arrays of its blocks.
*/
static int allocateGrid(MlrecSgd *p, int nMost){
  int j;
  p->nGrid = SGD_GRID;
  if( (i64)p->nGrid*SGD_GROUP_MAX < nMost ){
    p->nGrid = (int)(((i64)nMost + SGD_GROUP_MAX - 1)/SGD_GROUP_MAX);
  }
  p->nBlock = p->nGrid*p->nGrid;
  p->aBlock = sqlite3_malloc64(sizeof(i64)*((i64)p->nBlock+1));
  p->aTask = sqlite3_malloc64(sizeof(int)*(i64)p->nBlock);
  p->aLoss = sqlite3_malloc64(sizeof(double)*(i64)p->nBlock);
  p->aRowDone = sqlite3_malloc64(sizeof(atomic_int)*(i64)p->nGrid);
  p->aColDone = sqlite3_malloc64(sizeof(atomic_int)*(i64)p->nGrid);
  p->aClaimed = sqlite3_malloc64(sizeof(atomic_char)*(i64)p->nBlock);
  if( !p->aBlock || !p->aTask || !p->aLoss || !p->aRowDone || !p->aColDone
   || !p->aClaimed ){
    return SQLITE_NOMEM;
  }
  memset(p->aLoss, 0, sizeof(double)*(i64)p->nBlock);
  for(j=0; j<p->nGrid; j++){
    atomic_init(&p->aRowDone[j], 0);
    atomic_init(&p->aColDone[j], 0);
  }
  return SQLITE_OK;
}

/*
** Copy the bias and factors of the rows of groups pG between the model's
** arrays (aBias, aFactor: by dense index) and the grid's (aGridBias,
** aGridFactor: in group order), to the grid if bToGrid, else back.
*/
static int copyRows(const SgdGroups *pG, int nGrid, int nF, float *aBias,
                    float *aFactor, float *aGridBias, float *aGridFactor,
                    int bToGrid, MlrecInterrupt *pIntr){
  int j, rc = SQLITE_OK;
  size_t nByte = sizeof(float)*(size_t)nF;
  for(j=0; rc==SQLITE_OK && j<pG->aFirst[nGrid]; j++){
    i64 iRow = pG->aOrder[j];
    if( bToGrid ){
      aGridBias[j] = aBias[iRow];
      memcpy(aGridFactor + (i64)j*nF, aFactor + iRow*nF, nByte);
    }else{
      aBias[iRow] = aGridBias[j];
      memcpy(aFactor + iRow*nF, aGridFactor + (i64)j*nF, nByte);
    }
    rc = mlrecInterruptedEvery(pIntr, j+1);
  }
  return rc;
}

/* Multiply the n biases and n x nF factors by rBias and rFactor. */
static void scaleRows(float *aBias, float *aFactor, i64 n, int nF,
                      double rBias, double rFactor){
  i64 k;
  for(k=0; k<n; k++) aBias[k] = (float)(aBias[k]*rBias);
  for(k=0; k<n*nF; k++) aFactor[k] = (float)(aFactor[k]*rFactor);
}

/*
** The parameters of the model (ratings of the training data's scale) in
** SGD's units (ratings divided by the model's scale) if bToGrid, else back:
** biases scale as ratings, factors as their square root (a product of two).
*/
static void scaleParameters(MlrecSgd *p, int bToGrid){
  const MlrecModel *m = p->m;
  double s = bToGrid ? 1.0/m->scale : m->scale, f = sqrt(s);
  if( m->scale==1.0 ) return;
  scaleRows(bToGrid ? p->aUserBias : m->aUserBias,
            bToGrid ? p->aUserFactor : m->aUserFactor, m->nUser, m->nFactor,
            s, f);
  scaleRows(bToGrid ? p->aItemBias : m->aItemBias,
            bToGrid ? p->aItemFactor : m->aItemFactor, m->nItem, m->nFactor,
            s, f);
}

/* Copy the parameters of the model to the grid (bToGrid) or back. */
static int copyParameters(MlrecSgd *p, int bToGrid, MlrecInterrupt *pIntr){
  MlrecModel *m = p->m;
  int rc = copyRows(&p->users, p->nGrid, m->nFactor, m->aUserBias,
                    m->aUserFactor, p->aUserBias, p->aUserFactor, bToGrid,
                    pIntr);
  if( rc!=SQLITE_OK ) return rc;
  return copyRows(&p->items, p->nGrid, m->nFactor, m->aItemBias,
                  m->aItemFactor, p->aItemBias, p->aItemFactor, bToGrid, pIntr);
}

/* Room for the parameters in grid order, filled from the model. */
static int gridParameters(MlrecSgd *p, MlrecInterrupt *pIntr){
  const MlrecModel *m = p->m;
  int rc;
  p->aUserBias = sqlite3_malloc64(sizeof(float)*((i64)m->nUser+1));
  p->aItemBias = sqlite3_malloc64(sizeof(float)*((i64)m->nItem+1));
  p->aUserFactor = sqlite3_malloc64(sizeof(float)*((i64)m->nUser*m->nFactor+1));
  p->aItemFactor = sqlite3_malloc64(sizeof(float)*((i64)m->nItem*m->nFactor+1));
  if( !p->aUserBias || !p->aItemBias || !p->aUserFactor || !p->aItemFactor ){
    return SQLITE_NOMEM;
  }
  rc = copyParameters(p, 1, pIntr);
  if( rc==SQLITE_OK ) scaleParameters(p, 1);
  return rc;
}

/*
** Prepare to train model m (initialised by the caller) on snapshot pR with
** up to nThread threads of the pool of pState.  Steps the probe pIntr as it
** goes: SQLITE_INTERRUPT if asked to stop.
*/
int mlrecSgdBegin(MlrecState *pState, const MlrecRatings *pR, MlrecModel *m,
                  int nThread, MlrecInterrupt *pIntr, MlrecSgd **ppOut){
  MlrecSgd *p = sqlite3_malloc64(sizeof(*p));
  i64 nUseful = pR->nRating/SGD_RATINGS_PER_THREAD;
  int rc;
  *ppOut = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pState = pState;
  p->m = m;
  p->rates.mu = (float)(m->mu/m->scale);
  p->rates.lr = (float)m->opt.learningRate;
  p->rates.decay = (float)(1.0 - m->opt.learningRate*m->opt.regularization);
  p->rates.decayBias = (float)(1.0 - m->opt.learningRate
                                     *m->opt.biasRegularization);
  p->nBatch = 1 + ((i64)MLREC_CHECK_UNITS<<11)/(m->nFactor+16);
  p->rng = (u64)m->opt.seed ^ 0x5851f42d4c957f2dULL;
  rc = allocateGrid(p, pR->nUser>pR->nItem ? pR->nUser : pR->nItem);
  if( rc==SQLITE_OK ) rc = buildGrid(p, pR, pIntr);
  if( rc==SQLITE_OK ) rc = shuffleBlocks(p, pIntr);
  if( rc==SQLITE_OK ) rc = gridParameters(p, pIntr);
  if( rc!=SQLITE_OK ){
    mlrecSgdEnd(p);
    return rc;
  }
  if( nThread>p->nGrid ) nThread = p->nGrid;
  if( nThread>nUseful ) nThread = (int)nUseful;
  p->nWorker = mlrecPoolReserve(pState, nThread);
  *ppOut = p;
  return SQLITE_OK;
}

/*
** Draw the order of the strata of the next epoch into aTask: a permutation
** of the offsets, drawn in aTask's first row, then the blocks.
*/
static void drawSchedule(MlrecSgd *p){
  int G = p->nGrid, *aOff = p->aTask;
  int s, a;
  for(s=0; s<G; s++) aOff[s] = s;
  for(s=G-1; s>0; s--){
    int j = (int)mlrecRandomBelow(&p->rng, s+1);
    int t = aOff[s];
    aOff[s] = aOff[j];
    aOff[j] = t;
  }
  /* rows 1.. lie past the offsets; row 0, written last, needs only aOff[0] */
  for(s=G-1; s>=0; s--){
    int off = aOff[s];
    for(a=0; a<G; a++) p->aTask[s*G + a] = a*G + (a+off)%G;
  }
  atomic_store(&p->nextTask, 0);
  for(a=0; a<p->nBlock; a++) atomic_store(&p->aClaimed[a], 0);
  for(a=0; a<G; a++){
    atomic_store(&p->aRowDone[a], 0);
    atomic_store(&p->aColDone[a], 0);
  }
}

/*
** Run one epoch, every rating once, as a job on the pool.  Returns
** SQLITE_OK, or the error of the probe pIntr (SQLITE_INTERRUPT) if asked to
** stop part way.
*/
int mlrecSgdEpoch(MlrecSgd *p, MlrecInterrupt *pIntr){
  drawSchedule(p);
  return mlrecPoolRun(p->pState, pIntr, p->nWorker, trainTasks, p, 0);
}

/* Give the model the parameters trained so far. */
int mlrecSgdSync(MlrecSgd *p, MlrecInterrupt *pIntr){
  int rc = copyParameters(p, 0, pIntr);
  if( rc==SQLITE_OK ) scaleParameters(p, 0);
  return rc;
}

/*
** True if training has blown up: an overflow reaches the biases through the
** error term within one epoch, so checking them is enough and cheap.
*/
int mlrecSgdDiverged(const MlrecSgd *p){
  double rSum = 0.0;
  int i;
  for(i=0; i<p->m->nUser; i++) rSum += p->aUserBias[i];
  for(i=0; i<p->m->nItem; i++) rSum += p->aItemBias[i];
  return !isfinite(rSum);
}

/*
** The training loss of the last epoch: the RMSE of its steps, each rating's
** error just before its own step.  Summed block by block in a fixed order,
** so that it too does not depend on the number of threads.
*/
double mlrecSgdLoss(const MlrecSgd *p){
  double rSum = 0.0;
  int j;
  for(j=0; j<p->nBlock; j++) rSum += p->aLoss[j];
  return p->aBlock[p->nBlock]
         ? p->m->scale*sqrt(rSum/(double)p->aBlock[p->nBlock]) : 0.0;
}

/* Threads the training runs on, the calling thread included. */
int mlrecSgdThreads(const MlrecSgd *p){
  return p->nWorker;
}

/* Free everything. */
void mlrecSgdEnd(MlrecSgd *p){
  if( p==0 ) return;
  sqlite3_free(p->aEntry);
  sqlite3_free(p->aHalf);
  sqlite3_free(p->aValue);
  sqlite3_free(p->aUserBias);
  sqlite3_free(p->aItemBias);
  sqlite3_free(p->aUserFactor);
  sqlite3_free(p->aItemFactor);
  sqlite3_free(p->users.aOrder);
  sqlite3_free(p->users.aFirst);
  sqlite3_free(p->items.aOrder);
  sqlite3_free(p->items.aFirst);
  sqlite3_free(p->aBlock);
  sqlite3_free(p->aTask);
  sqlite3_free(p->aLoss);
  sqlite3_free((void*)p->aRowDone);
  sqlite3_free((void*)p->aColDone);
  sqlite3_free((void*)p->aClaimed);
  sqlite3_free(p);
}
