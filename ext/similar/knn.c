/*
** knn.c: item-item cosine neighbours, exactly as scikit-learn's
** NearestNeighbors(metric="cosine", algorithm="brute") ranks them on the
** movie x user matrix of raw ratings (missing = 0).
**
**     SELECT * FROM similar_movies(260, 10);
**     SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) r,
**                          similar_movies(r.movieId, 10);     -- the sweep
**
** The cosine of movies i and j is dot(i,j) / (|i| |j|).  Only movies that
** share a user with i have a non-zero dot product, so the query walks the
** users who rated i and, for each, the movies that user rated, adding
** r(u,i) * r(u,j) into an accumulator per movie.  The cost is the number of
** (user, movie) pairs reached, not movies x users.  Half-star ratings and
** their products are exact in double precision, so the dot products are
** exact; the score is then one division away from the true cosine.
**
** Ranking: by score, larger first; scores that agree to 12 decimal places
** are ties (a mathematical tie can differ in the last bit after rounding),
** broken by smaller movieId.  The query movie itself is never returned.
** Movies that share no user with i have cosine 0 and fill the list, in
** movieId order, when fewer than k movies have a positive score, as
** scikit-learn's brute search would return them at distance 1.
**
** SPEED.  The accumulators are one dense array per thread, zero between
** queries: the inner loop is a plain multiply-add with no test.  A query
** that reaches most movies then reads and clears the whole array, skipping
** with one multiplication each movie whose dot product is clearly below
** the k-th best so far; one that reaches few walks its rows again instead.
** A query that reaches more than a million (user, movie) pairs is split
** over all cores, each thread adding up its share of the users into its own
** array, when the ratings make every sum exact (half stars, say: products
** are multiples of 1/4 and sums stay far below 2^51), so that the answer is
** the same bit for bit whatever the order of the additions.  Movies asked
** for in order in one statement (a join over all movies) are computed ahead
** in chunks on all cores: see THE SWEEP below.
*/
#include "similar.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define KNN_PARALLEL_PAIRS 1000000  /* a query reaching more uses all cores */
#define KNN_MAX_PARTS 8              /* most threads one query runs on */

typedef struct KnnSweep KnnSweep;

/*
** Per-cursor work space, sized for one snapshot's number of movies.  The
** accumulators are doubles, or 32-bit integers counting quarters when the
** snapshot has its ratings as small half stars (aUserHalf).
*/
struct MlrecKnnScratch {
  int nItem;
  int nPart;              /* accumulator arrays: one per core */
  int bInt;               /* integer accumulators in aAcc, else aDot */
  int bExact;             /* made for a snapshot with exact sums */
  unsigned int stamp;     /* aStamp[j]==stamp: movie j ranked this query */
  unsigned int *aStamp;
  double *aDot;           /* nPart x nItem accumulators, zero between queries */
  int *aAcc;              /* the same, as integers */
  int iNext;              /* the sweep: movie expected next; -1 none yet,
                          ** -2 off for this cursor */
  KnnSweep *pSweep;       /* the sweep's state, while iNext >= 0 */
};

static void sweepFree(KnnSweep*);

void mlrecKnnScratchFree(MlrecKnnScratch *p){
  if( p==0 ) return;
  sweepFree(p->pSweep);
  sqlite3_free(p->aStamp);
  sqlite3_free(p->aDot);
  sqlite3_free(p->aAcc);
  sqlite3_free(p);
}

/* Read, and clear, the dot product with movie j: the sum of the nPart
** accumulator arrays from array q0. */
static inline double takeDot(MlrecKnnScratch *s, int q0, int nPart, int j){
  double rDot = 0.0;
  int q;
  if( s->bInt ){
    i64 n = 0;
    for(q=q0; q<q0+nPart; q++){
      n += s->aAcc[(i64)q*s->nItem + j];
      s->aAcc[(i64)q*s->nItem + j] = 0;
    }
    return 0.25*(double)n;
  }
  for(q=q0; q<q0+nPart; q++){
    rDot += s->aDot[(i64)q*s->nItem + j];
    s->aDot[(i64)q*s->nItem + j] = 0.0;
  }
  return rDot;
}

/*
** Work space for pR: one accumulator array per core (a query is split over
** them only when the sums are exact: then the order in which threads add
** up does not matter; the sweep gives each thread whole queries).
*/
static int scratchFor(const MlrecRatings *pR, MlrecKnnScratch **pp){
  MlrecKnnScratch *p = *pp;
  int nItem = pR->nItem;
  int bInt = pR->aUserHalf!=0;
  int nPart;
  i64 nDot;
  if( p && p->nItem==nItem && p->bInt==bInt && p->bExact==pR->bExactDots ){
    return SQLITE_OK;
  }
  /* counting the cores reads a file: once per work space, not per query */
  nPart = mlrecOnlineCores();
  if( nPart>KNN_MAX_PARTS ) nPart = KNN_MAX_PARTS;
  mlrecKnnScratchFree(p);
  *pp = p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->nItem = nItem;
  p->nPart = nPart;
  p->bInt = bInt;
  p->bExact = pR->bExactDots;
  p->iNext = -1;
  nDot = (i64)nPart*nItem + 1;
  p->aStamp = sqlite3_malloc64(sizeof(unsigned int)*((i64)nItem+1));
  if( bInt ){
    p->aAcc = sqlite3_malloc64(sizeof(int)*nDot);
    if( p->aAcc ) memset(p->aAcc, 0, sizeof(int)*nDot);
  }else{
    p->aDot = sqlite3_malloc64(sizeof(double)*nDot);
    if( p->aDot ) memset(p->aDot, 0, sizeof(double)*nDot);
  }
  if( p->aStamp==0 || (p->aAcc==0 && p->aDot==0) ){
    mlrecKnnScratchFree(p);
    *pp = 0;
    return SQLITE_NOMEM;
  }
  memset(p->aStamp, 0, sizeof(unsigned int)*((i64)nItem+1));
  return SQLITE_OK;
}

/*
** The part of the row of the user of rating k (of the movie-major order)
** that a query reaches: all of it, or in the sweep only the movies after
** the query's, from aOff[k-kBase] on.
*/
typedef struct KnnRows KnnRows;
struct KnnRows {
  const int *aOff;        /* NULL: whole rows */
  i64 kBase;
};

static inline i64 rowFrom(const MlrecRatings *pR, const KnnRows *p, i64 k){
  i64 start = pR->aUserStart[pR->aItemUser[k]];
  return p->aOff ? start + p->aOff[k - p->kBase] : start;
}

/* The number of (user, movie) pairs reached from movie iItem. */
static i64 pairsReached(const MlrecRatings *pR, const KnnRows *pRows,
                        int iItem){
  i64 n = 0, k;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    n += pR->aUserStart[pR->aItemUser[k]+1] - rowFrom(pR, pRows, k);
  }
  return n;
}

/*
** One thread's share of a query: the users at positions [kStart, kEnd) of
** the query movie's row, added into its own accumulators.
*/
typedef struct KnnPart KnnPart;
struct KnnPart {
  const MlrecRatings *pR;
  KnnRows rows;
  i64 kStart, kEnd;
  double *aDot;           /* accumulators, or */
  int *aAcc;              /* integer ones, counting quarters */
  pthread_t tid;
  int bThread;            /* running on tid */
};

/* Add r(u,iItem) r(u,j) for movie j of the users of part q. */
static void *accumulatePart(void *pArg){
  const KnnPart *q = (const KnnPart*)pArg;
  const MlrecRatings *pR = q->pR;
  const int *aItem = pR->aUserItem;
  i64 k, m;
  for(k=q->kStart; k<q->kEnd; k++){
    int u = pR->aItemUser[k];
    i64 end = pR->aUserStart[u+1], start = rowFrom(pR, &q->rows, k);
    if( q->aAcc ){
      const signed char *aHalf = pR->aUserHalf;
      int *aAcc = q->aAcc;
      int r2 = (int)(2.0f*pR->aItemValue[k]);
      /* four at a time: a row holds distinct movies, so no two of these
      ** additions touch the same accumulator */
      for(m=start; m+4<=end; m+=4){
        int j0 = aItem[m], j1 = aItem[m+1], j2 = aItem[m+2], j3 = aItem[m+3];
        aAcc[j0] += r2*aHalf[m];
        aAcc[j1] += r2*aHalf[m+1];
        aAcc[j2] += r2*aHalf[m+2];
        aAcc[j3] += r2*aHalf[m+3];
      }
      for(; m<end; m++) aAcc[aItem[m]] += r2*aHalf[m];
    }else{
      const float *aValue = pR->aUserValue;
      double *aDot = q->aDot;
      double r = pR->aItemValue[k];
      for(m=start; m<end; m++) aDot[aItem[m]] += r*aValue[m];
    }
  }
  return 0;
}

/*
** Accumulate dot(iItem, j) for every movie j the rows reach into the
** accumulator arrays q0 .. q0+nPart-1, split into nPart parts of about
** nPairs/nPart pairs each, one per thread (the calling thread runs the
** first; a part whose thread cannot start runs there too).
*/
static void accumulateDots(const MlrecRatings *pR, int iItem,
                           const KnnRows *pRows, i64 nPairs, int q0,
                           int nPart, MlrecKnnScratch *s){
  KnnPart aPart[KNN_MAX_PARTS];
  i64 k = pR->aItemStart[iItem], end = pR->aItemStart[iItem+1], nDone = 0;
  int q;
  for(q=0; q<nPart; q++){
    i64 iArray = (i64)(q0+q)*s->nItem;
    aPart[q].pR = pR;
    aPart[q].rows = *pRows;
    aPart[q].aDot = s->bInt ? 0 : s->aDot + iArray;
    aPart[q].aAcc = s->bInt ? s->aAcc + iArray : 0;
    aPart[q].kStart = k;
    while( k<end && (q==nPart-1 || nDone*nPart < nPairs*(q+1)) ){
      nDone += pR->aUserStart[pR->aItemUser[k]+1] - rowFrom(pR, pRows, k);
      k++;
    }
    aPart[q].kEnd = k;
    aPart[q].bThread = q>0
      && pthread_create(&aPart[q].tid, 0, accumulatePart, &aPart[q])==0;
  }
  for(q=0; q<nPart; q++){
    if( aPart[q].bThread ) continue;
    accumulatePart(&aPart[q]);
  }
  for(q=1; q<nPart; q++){
    if( aPart[q].bThread ) pthread_join(aPart[q].tid, 0);
  }
}

/* The ranking key of a cosine: equal to 12 decimal places means a tie. */
static double rankKey(double score){
  return nearbyint(score*1e12);
}

/* The k best so far, and the dot product a movie of norm 1 needs to enter. */
typedef struct Ranking Ranking;
struct Ranking {
  const MlrecRatings *pR;
  MlrecTopK *pOut;
  double rNorm;           /* norm of the query movie */
  double rBound;          /* see setBound() */
};

/*
** A dot product below rBound times the other movie's norm cannot enter:
** the k-th best cosine so far, less a margin far larger than any rounding
** error, times the query's norm.  So most movies are turned away with one
** multiplication, and only the others get the exact division.
*/
static void setBound(Ranking *p){
  p->rBound = p->pOut->n<p->pOut->k ? -HUGE_VAL
              : (p->pOut->a[0].key - 1.0)*1e-12*p->rNorm;
}

/* True if movie j, of dot product rDot with the query, may enter. */
#define mayEnter(p, j, rDot) ((rDot)>=(p)->rBound*(p)->pR->aItemNorm[j])

/* Offer movie j, of dot product rDot with the query. */
static void offer(Ranking *p, int j, double rDot){
  double rDen = p->rNorm*p->pR->aItemNorm[j];
  double score = rDen>0.0 ? rDot/rDen : 0.0;
  mlrecTopKPush(p->pOut, rankKey(score), score, j);
  setBound(p);
}

/* Read, clear and offer movie j. */
static void rankOne(Ranking *p, int iItem, MlrecKnnScratch *s, int nPart,
                    int j){
  double rDot = takeDot(s, 0, nPart, j);
  if( mayEnter(p, j, rDot) && j!=iItem ) offer(p, j, rDot);
}

/* Four lanes of ints and of floats. */
typedef int KnnVecI __attribute__((vector_size(16)));
typedef float KnnVecF __attribute__((vector_size(16)));
#define KNN_LANES 4

/* True if any lane of a comparison's result is set. */
static inline int anyLane(KnnVecI m){
  u64 a[2];
  memcpy(a, &m, sizeof(a));
  return (a[0] | a[1])!=0;
}

/*
** Rank every movie but iItem, reading (adding up the nPart arrays) and
** clearing all the accumulators: for a query that reaches most movies.
** With one integer array, four movies at a time are turned away together
** when none of them can enter: acc / 4 >= rBound * norm, tested in floats
** as acc * (1/norm) >= 4 rBound, less a margin of 1e-5 of the largest
** value that dwarfs the float rounding (a few 1e-7): the test may let a
** movie through for nothing, never turn one away wrongly.
*/
static void rankAll(Ranking *p, int iItem, MlrecKnnScratch *s, int nPart){
  const float *aInv = p->pR->aItemInvNorm;
  int j = 0, jj;
  if( s->bInt && nPart==1 ){
    for(; j+KNN_LANES<=s->nItem; j+=KNN_LANES){
      float rLimit = (float)(4.0*p->rBound - 4e-5*p->rNorm);
      KnnVecI acc;
      KnnVecF inv;
      memcpy(&acc, s->aAcc+j, sizeof(acc));
      memcpy(&inv, aInv+j, sizeof(inv));
      if( !anyLane(__builtin_convertvector(acc, KnnVecF)*inv >= rLimit) ){
        memset(s->aAcc+j, 0, sizeof(acc));
        continue;
      }
      for(jj=j; jj<j+KNN_LANES; jj++) rankOne(p, iItem, s, 1, jj);
    }
  }
  for(; j<s->nItem; j++) rankOne(p, iItem, s, nPart, j);
}

/* A new stamp for aStamp[]: no movie has it yet. */
static unsigned int nextStamp(MlrecKnnScratch *s){
  if( ++s->stamp==0 ){
    memset(s->aStamp, 0, sizeof(unsigned int)*(i64)s->nItem);
    s->stamp = 1;
  }
  return s->stamp;
}

/*
** Rank the movies the accumulation reached, walking the same rows again
** and clearing aDot behind, then the movies it did not reach (score 0) as
** long as one could enter: for a query that reaches few movies.
*/
static void rankReached(Ranking *p, int iItem, MlrecKnnScratch *s){
  const MlrecRatings *pR = p->pR;
  unsigned int stamp = nextStamp(s);
  i64 k, m;
  double rDot;
  int j;
  s->aStamp[iItem] = stamp;
  takeDot(s, 0, 1, iItem);
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    for(m=pR->aUserStart[u]; m<pR->aUserStart[u+1]; m++){
      j = pR->aUserItem[m];
      if( s->aStamp[j]==stamp ) continue;
      s->aStamp[j] = stamp;
      rDot = takeDot(s, 0, 1, j);
      if( mayEnter(p, j, rDot) ) offer(p, j, rDot);
    }
  }
  for(j=0; j<pR->nItem && !mlrecTopKWorse(p->pOut, 0.0, j); j++){
    if( s->aStamp[j]!=stamp ) mlrecTopKPush(p->pOut, 0.0, 0.0, j);
  }
}

/* True if pTop holds movie i. */
static int holds(const MlrecTopK *pTop, int i){
  int t;
  for(t=0; t<pTop->n; t++){
    if( pTop->a[t].idx==i ) return 1;
  }
  return 0;
}

/* Fill pOut with movies of score 0, in index order, while one can enter. */
static void fillZeros(const MlrecRatings *pR, int iItem, MlrecTopK *pOut){
  int i;
  for(i=0; i<pR->nItem && !mlrecTopKWorse(pOut, 0.0, i); i++){
    if( i!=iItem && !holds(pOut, i) ) mlrecTopKPush(pOut, 0.0, 0.0, i);
  }
}

/*
** THE SWEEP.  When a cursor is asked for movies 0, 1, 2, ... in order with
** one k (a join over all movies, as in the all-movies sweep) and every
** rating is positive, query j adds up only the movies after j: dot(j, i)
** for i < j was computed by query i, which offered j to the list of the k
** best hits kept for every later movie (KnnSweep.all).  Query i adds
** r(u,i) r(u,j) over the users who rated both in user order, as query j
** would: the same sum, and the same score, bit for bit.  So the sweep does
** half the work.  Positive ratings make the cosine of two movies that share
** a user positive, so the movies a query does not meet any more are
** exactly those of score 0 not in its list.  Any other order turns the
** sweep off for the cursor (its answers stay right).
**
** Chunks.  The movies are computed ahead in chunks of 1, 1, 2, 4, 8, ...
** movies (each as many as all before it, so a sweep that LIMIT cuts short
** wastes at most about what it used; at most KNN_SWEEP_CHUNK).  Planning a
** chunk works out where, in the row of each user of each of its movies,
** the movies after it start (aOff, from aSeen: the movies of each user
** planned so far).  Query j starts its list (aFwd) from its list in the
** sweep and offers the movies after it to both.  A chunk with enough work
** (KNN_SWEEP_POOL) runs on a pool of threads kept for the sweep: the
** calling thread and the helpers take its movies in increasing order,
** each query on one thread with its own accumulators.  The calling thread
** offers to the sweep's lists; a helper to its own copy of them
** (SweepWorker.priv), whose thresholds start as the sweep's.  After the
** chunk the helpers' lists are merged into the sweep's, and into each
** chunk movie's list go the hits of the chunk's earlier movies.  A list
** keeps the k best under a total order (key, then movie index), so the
** merged list is the one the movies would have made one at a time,
** whatever the thread that computed each hit.  A helper that the system
** has not run yet when the movies are all taken is not waited for.
**
** Turning away.  Every list has a threshold (SweepLists.aThr): the score a
** movie must reach to enter it, less a margin.  A movie's list is offered
** the queries before it in increasing order, and a query loses ties to
** the movies already there, so a full list needs a key one above its
** worst.  Before the second movie, thresholds start
** from a lower bound of each movie's k-th best cosine (sweepFloors()), so
** most of the movies that early lists would take in and throw out again
** are turned away at once.  Eight movies at a time are turned away with a
** float test against the query's threshold and each later movie's; then
** sweepOffer() tests the others exactly, before the division.
**
** The calling thread looks at sqlite3_interrupt() every KNN_SWEEP_PROBE
** pairs of its own work and stops the helpers through bStop; an
** interrupted sweep is dropped (the cursor fails with SQLITE_INTERRUPT).
*/
#define KNN_SWEEP_HITS 4000000     /* most hits kept for the sweep: 96 MB */
#define KNN_SWEEP_CHUNK 4096       /* most movies in a chunk */
#define KNN_SWEEP_OFFSETS 1000000  /* most ratings of a chunk's movies (but
                                   ** one movie may have more) */
#define KNN_SWEEP_WALK 8           /* a query reaching fewer pairs than 1/8 of
                                   ** the movies after it walks its rows */
#define KNN_SWEEP_PROBE 1000000    /* pairs between looks at the interrupt */
#define KNN_SWEEP_TAKE 8           /* movies a thread takes at once: their
                                   ** lists (aFwd) share no cache line with
                                   ** another thread's */
#ifndef KNN_SWEEP_POOL              /* (tests/threads.c: 0, every chunk) */
# define KNN_SWEEP_POOL 1000000    /* a chunk with less work (sweepPlan())
                                   ** runs on the calling thread alone: a
                                   ** thread the system holds up costs more */
#endif

/* Lists of the k best hits, one per movie, and their thresholds. */
typedef struct SweepLists SweepLists;
struct SweepLists {
  MlrecTopK *aList;      /* nItem lists */
  MlrecHit *aHit;        /* their storage, nItem x k */
  double *aThr;          /* nItem: the score that may enter, less a margin
                         ** (enterScore(), sweepFloors()) */
  float *aLim;           /* nItem: aThr less 1e-5, as floats */
};

/* One thread of the sweep. */
typedef struct SweepWorker SweepWorker;
struct SweepWorker {
  KnnSweep *pSw;
  const MlrecRatings *pR;
  MlrecKnnScratch *s;
  int iPart;             /* its accumulator array in s */
  SweepLists *pTo;       /* the lists it offers to: the sweep's, or priv */
  SweepLists priv;       /* a helper's copy of them */
  MlrecInterrupt *pIntr; /* the calling thread's probe, else NULL */
  int rc;                /* the probe's error */
  pthread_t tid;
  int bThread;           /* a thread of the pool, running on tid */
};

struct KnnSweep {
  int k;
  int bFloors;           /* sweepFloors() has run */
  SweepLists all;        /* each movie's best hits among the movies done */
  int *aSeen;            /* nUser: movies of each user whose chunk is planned */
  int *aOff;             /* the chunk: for each rating of its movies, where
                         ** in the user's row the movies after it start */
  i64 nOff;              /* room in aOff */
  i64 *aPairs;           /* pairs each movie of the chunk reaches */
  MlrecTopK *aFwd;       /* the chunk: each movie's list, its best hits
                         ** with the movies after it, then its whole list */
  MlrecHit *aFwdHit;
  int nChunk;            /* room in aFwd and aPairs: most movies in a chunk */
  int iFrom, iTo;        /* the chunk: movies [iFrom, iTo) */
  int nWorker;           /* threads; 1: the chunks have one movie */
  SweepWorker aWorker[KNN_MAX_PARTS];    /* [0]: the calling thread */
  /* The pool: the helpers aWorker[1..] wait for chunks */
  int bPool;             /* started: the mutex and conditions below live */
  pthread_mutex_t mutex;
  pthread_cond_t wake;   /* a new chunk, or bQuit */
  pthread_cond_t idle;   /* the last helper in the chunk left it */
  int iTask;             /* chunks published */
  int bOpen;             /* the last chunk may still be joined */
  int nActive;           /* helpers in it */
  int bQuit;
  atomic_int iClaim;     /* the next movie of the chunk, from iFrom */
  atomic_int bStop;      /* set by the calling thread when interrupted */
};

static void sweepPoolStop(KnnSweep*);

static void listsFree(SweepLists *p){
  sqlite3_free(p->aList);
  sqlite3_free(p->aHit);
  sqlite3_free(p->aThr);
  sqlite3_free(p->aLim);
  memset(p, 0, sizeof(*p));
}

/* Empty lists of k hits for nItem movies (thresholds set by the caller);
** SQLITE_NOMEM if there is no room. */
static int listsInit(SweepLists *p, int nItem, int k){
  int i;
  p->aList = sqlite3_malloc64(sizeof(MlrecTopK)*((i64)nItem+1));
  p->aHit = sqlite3_malloc64(sizeof(MlrecHit)*((i64)nItem*k+1));
  p->aThr = sqlite3_malloc64(sizeof(double)*((i64)nItem+1));
  p->aLim = sqlite3_malloc64(sizeof(float)*((i64)nItem+1));
  if( !p->aList || !p->aHit || !p->aThr || !p->aLim ){
    listsFree(p);
    return SQLITE_NOMEM;
  }
  for(i=0; i<nItem; i++){
    p->aList[i].a = p->aHit + (i64)i*k;
    p->aList[i].n = 0;
    p->aList[i].k = k;
  }
  return SQLITE_OK;
}

static void sweepFree(KnnSweep *p){
  int t;
  if( p==0 ) return;
  sweepPoolStop(p);
  listsFree(&p->all);
  for(t=1; t<p->nWorker; t++) listsFree(&p->aWorker[t].priv);
  sqlite3_free(p->aSeen);
  sqlite3_free(p->aOff);
  sqlite3_free(p->aPairs);
  sqlite3_free(p->aFwd);
  sqlite3_free(p->aFwdHit);
  sqlite3_free(p);
}

/*
** The score a hit must reach to enter the full list h, less a margin of
** 1e-14: far above the rounding of a score (1e-16), far below the unit of
** the key (1e-12).  A hit after every hit of h in movie order (bAfter)
** loses ties, so it needs a key one above the worst.
*/
static double enterScore(const MlrecTopK *h, int bAfter){
  if( h->n<h->k ) return -HUGE_VAL;
  return (h->a[0].key + (bAfter ? 0.5 : -0.5))*1e-12 - 1e-14;
}

/* Raise the threshold of list i of p to thr if that is higher. */
static void raiseThr(SweepLists *p, int i, double thr){
  if( thr>p->aThr[i] ){
    p->aThr[i] = thr;
    p->aLim[i] = (float)(thr - 1e-5);
  }
}

/*
** The sweep for pR with k hits per movie, starting at movie 0, or NULL
** when the ratings are not all positive, there is no room (KNN_SWEEP_HITS
** or memory) or k is 0.  As many threads as s has accumulator arrays, if
** the helpers' copies of the lists fit too.
*/
static KnnSweep *sweepNew(const MlrecRatings *pR, MlrecKnnScratch *s,
                          int k){
  int nPart = s->nPart;
  i64 nHits = (i64)pR->nItem*k;
  i64 nOff = KNN_SWEEP_OFFSETS;
  KnnSweep *p;
  int i, nChunk;
  if( pR->rMin<=0.0 || k<=0 || nHits>KNN_SWEEP_HITS ) return 0;
  while( nPart>1 && nHits*nPart + (i64)KNN_SWEEP_CHUNK*k>KNN_SWEEP_HITS ){
    nPart--;
  }
  nChunk = nPart>1 ? (pR->nItem<KNN_SWEEP_CHUNK ? pR->nItem : KNN_SWEEP_CHUNK)
                   : 1;
  for(i=0; i<pR->nItem; i++){
    i64 n = pR->aItemStart[i+1] - pR->aItemStart[i];
    if( n>nOff ) nOff = n;
  }
  if( nOff>pR->nRating ) nOff = pR->nRating;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  p->k = k;
  p->nWorker = nPart;
  p->nOff = nOff;
  p->nChunk = nChunk;
  p->aSeen = sqlite3_malloc64(sizeof(int)*((i64)pR->nUser+1));
  p->aOff = sqlite3_malloc64(sizeof(int)*(nOff+1));
  p->aPairs = sqlite3_malloc64(sizeof(i64)*nChunk);
  p->aFwd = sqlite3_malloc64(sizeof(MlrecTopK)*nChunk);
  p->aFwdHit = sqlite3_malloc64(sizeof(MlrecHit)*(i64)nChunk*k);
  if( !p->aSeen || !p->aOff || !p->aPairs || !p->aFwd || !p->aFwdHit
   || listsInit(&p->all, pR->nItem, k)!=SQLITE_OK ){
    sweepFree(p);
    return 0;
  }
  memset(p->aSeen, 0, sizeof(int)*((i64)pR->nUser+1));
  for(i=0; i<pR->nItem; i++){
    p->all.aThr[i] = -HUGE_VAL;
    p->all.aLim[i] = -HUGE_VALF;
  }
  for(i=0; i<nChunk; i++){
    p->aFwd[i].a = p->aFwdHit + (i64)i*k;
    p->aFwd[i].n = 0;
    p->aFwd[i].k = k;
  }
  for(i=0; i<nPart; i++){
    p->aWorker[i].pSw = p;
    p->aWorker[i].pR = pR;
    p->aWorker[i].s = s;
    p->aWorker[i].iPart = i;
  }
  return p;
}

/* Keep in the min-heap a[0..*pn), of at most m values, the m largest. */
static void keepLargest(double *a, int *pn, int m, double v){
  int i, c;
  if( *pn<m ){
    for(i=(*pn)++; i>0 && v<a[(i-1)/2]; i=(i-1)/2) a[i] = a[(i-1)/2];
    a[i] = v;
    return;
  }
  if( v<=a[0] ) return;
  for(i=0; (c = 2*i+1)<m; i=c){
    if( c+1<m && a[c+1]<a[c] ) c++;
    if( v<=a[c] ) break;
    a[i] = a[c];
  }
  a[i] = v;
}

/*
** Floors.  Ratings are positive, so a dot product over some of the users
** is at most the whole one.  For user u let W(u) be the (k+1)-th best
** r(u,j) / |j| of the movies u rated.  Any movie i that u rated has at
** least k other movies j with cos(i,j) >= r(u,i) r(u,j) / (|i| |j|) >=
** r(u,i) W(u) / |i|: so its k-th best cosine is at least the largest of
** these over its users.  A movie scoring more than 3e-12 below (three units
** of the key: far above the rounding of either side) cannot enter its list.
** Best effort: without memory, the thresholds stay as they are.
*/
static void sweepFloors(KnnSweep *p, const MlrecRatings *pR){
  int m = p->k+1;
  double *aInv = sqlite3_malloc64(sizeof(double)*((i64)pR->nItem+1));
  double *aW = sqlite3_malloc64(sizeof(double)*((i64)pR->nUser+1));
  double *aHeap = sqlite3_malloc64(sizeof(double)*(i64)m);
  i64 r, kk;
  int u, i, n;
  p->bFloors = 1;
  if( aInv && aW && aHeap ){
    for(i=0; i<pR->nItem; i++) aInv[i] = 1.0/pR->aItemNorm[i];
    for(u=0; u<pR->nUser; u++){
      n = 0;
      if( pR->aUserStart[u+1]-pR->aUserStart[u]>p->k ){
        for(r=pR->aUserStart[u]; r<pR->aUserStart[u+1]; r++){
          keepLargest(aHeap, &n, m,
                      pR->aUserValue[r]*aInv[pR->aUserItem[r]]);
        }
      }
      aW[u] = n==m ? aHeap[0] : 0.0;
    }
    for(i=0; i<pR->nItem; i++){
      double best = 0.0;
      for(kk=pR->aItemStart[i]; kk<pR->aItemStart[i+1]; kk++){
        double v = pR->aItemValue[kk]*aW[pR->aItemUser[kk]];
        if( v>best ) best = v;
      }
      if( best>0.0 ) raiseThr(&p->all, i, best*aInv[i] - 3e-12);
    }
  }
  sqlite3_free(aInv);
  sqlite3_free(aW);
  sqlite3_free(aHeap);
}

/* One query of the sweep: movie j, whose best hits after it go to pFwd. */
typedef struct SweepQuery SweepQuery;
struct SweepQuery {
  int j;
  double rNorm;          /* |j| */
  double rThr;           /* the score a movie needs to enter pFwd, less
                         ** 1e-14 */
  float rLimit;          /* 4 |j| (rThr - 1e-5), for the float test */
  int bAfter;            /* movies are offered in increasing order */
  MlrecTopK *pFwd;
};

static void setQueryThr(SweepQuery *q, double thr){
  q->rThr = thr;
  q->rLimit = (float)(4.0*(thr - 1e-5)*q->rNorm);
}

/*
** Offer movie i, after the query, of dot product rDot: to the query's list
** and, the query, to the list of movie i.  sweepOffer() turns most movies
** away before the division.
*/
static void sweepEnter(SweepWorker *w, SweepQuery *q, int i, double rDot,
                       int bMine, int bTheirs){
  SweepLists *pTo = w->pTo;
  double rDen = q->rNorm*w->pR->aItemNorm[i];
  double score = rDen>0.0 ? rDot/rDen : 0.0;
  double key = rankKey(score);
  if( bTheirs ){
    MlrecTopK *h = &pTo->aList[i];
    /* the query, after every movie of that list, loses the ties */
    if( h->n<h->k || key>h->a[0].key ){
      mlrecTopKPush(h, key, score, q->j);
      raiseThr(pTo, i, enterScore(h, 1));
    }
  }
  if( bMine ){
    double thr;
    mlrecTopKPush(q->pFwd, key, score, i);
    thr = enterScore(q->pFwd, q->bAfter);
    if( thr>q->rThr ) setQueryThr(q, thr);
  }
}

static inline void sweepOffer(SweepWorker *w, SweepQuery *q, int i,
                              double rDot){
  double rDen = q->rNorm*w->pR->aItemNorm[i];
  int bMine = rDot>=q->rThr*rDen;
  int bTheirs = rDot>=w->pTo->aThr[i]*rDen;
  if( bMine || bTheirs ) sweepEnter(w, q, i, rDot, bMine, bTheirs);
}

/*
** Offer the movies after the query from the accumulator array of the
** worker, as integers, eight at a time: the lanes that can enter neither
** list are turned away with the float test of rankAll(), against the
** query's threshold and each movie's (lim: acc / |i| >= 4 |j| lim).
*/
static void sweepScanQuarters(SweepWorker *w, SweepQuery *q){
  const MlrecRatings *pR = w->pR;
  const float *aInv = pR->aItemInvNorm;
  const float *aLim = w->pTo->aLim;
  int *aAcc = w->s->aAcc + (i64)w->iPart*pR->nItem;
  int nItem = pR->nItem;
  KnnVecF vZero = {0, 0, 0, 0};
  KnnVecF vC = vZero + (float)(4.0*q->rNorm), vLimit = vZero + q->rLimit;
  int i, t;
  /* two vectors at a time, with no other test (a branch on whether the
  ** movies were reached is mispredicted too often); the movies of a block
  ** that passes go to sweepOffer()'s exact test */
  for(i=q->j+1; i+2*KNN_LANES<=nItem; i+=2*KNN_LANES){
    KnnVecI a0, a1;
    KnnVecF f0, f1, l0, l1;
    memcpy(&a0, aAcc+i, sizeof(a0));
    memcpy(&a1, aAcc+i+KNN_LANES, sizeof(a1));
    memcpy(&f0, aInv+i, sizeof(f0));
    memcpy(&f1, aInv+i+KNN_LANES, sizeof(f1));
    memcpy(&l0, aLim+i, sizeof(l0));
    memcpy(&l1, aLim+i+KNN_LANES, sizeof(l1));
    f0 *= __builtin_convertvector(a0, KnnVecF);
    f1 *= __builtin_convertvector(a1, KnnVecF);
    if( anyLane((f0>=vLimit) | (f0>=vC*l0) | (f1>=vLimit) | (f1>=vC*l1)) ){
      for(t=i; t<i+2*KNN_LANES; t++){
        if( aAcc[t] ) sweepOffer(w, q, t, 0.25*(double)aAcc[t]);
      }
      vLimit = vZero + q->rLimit;
    }
    memset(aAcc+i, 0, 2*sizeof(a0));
  }
  for(; i<nItem; i++){
    int n = aAcc[i];
    aAcc[i] = 0;
    if( n ) sweepOffer(w, q, i, 0.25*(double)n);
  }
}

/*
** Query j of the chunk: add up its dot products with the movies after it
** in the worker's own array and offer them, walking the rows again for a
** query that reaches few movies, reading all the movies after it
** otherwise.  A query runs on one thread: its sums are added in user
** order, whatever the ratings.
*/
static void sweepQuery(SweepWorker *w, int j){
  KnnSweep *p = w->pSw;
  const MlrecRatings *pR = w->pR;
  MlrecKnnScratch *s = w->s;
  i64 iArray = (i64)w->iPart*pR->nItem;
  i64 nPairs = p->aPairs[j - p->iFrom];
  KnnPart part;
  SweepQuery q;
  int i;
  part.pR = pR;
  part.rows.aOff = p->aOff;
  part.rows.kBase = pR->aItemStart[p->iFrom];
  part.kStart = pR->aItemStart[j];
  part.kEnd = pR->aItemStart[j+1];
  part.aAcc = s->bInt ? s->aAcc + iArray : 0;
  part.aDot = s->bInt ? 0 : s->aDot + iArray;
  accumulatePart(&part);
  q.j = j;
  q.rNorm = pR->aItemNorm[j];
  q.pFwd = &p->aFwd[j - p->iFrom];
  setQueryThr(&q, w->pTo->aThr[j]);
  if( nPairs*KNN_SWEEP_WALK < pR->nItem-j ){
    i64 k, m;
    /* a movie already offered has been cleared to 0 */
    q.bAfter = 0;
    for(k=part.kStart; k<part.kEnd; k++){
      i64 end = pR->aUserStart[pR->aItemUser[k]+1];
      for(m=rowFrom(pR, &part.rows, k); m<end; m++){
        double rDot = takeDot(s, w->iPart, 1, pR->aUserItem[m]);
        if( rDot!=0.0 ) sweepOffer(w, &q, pR->aUserItem[m], rDot);
      }
    }
  }else if( s->bInt ){
    q.bAfter = 1;
    sweepScanQuarters(w, &q);
  }else{
    q.bAfter = 1;
    for(i=j+1; i<pR->nItem; i++){
      double rDot = takeDot(s, w->iPart, 1, i);
      if( rDot!=0.0 ) sweepOffer(w, &q, i, rDot);
    }
  }
}

/*
** Plan the chunk from movie iFrom: its movies, where their users' rows
** continue after them (aOff, from aSeen) and the pairs each reaches.
** Returns the work of the chunk: pairs added up, then walked again or
** movies read (see sweepQuery()).
*/
static i64 sweepPlan(KnnSweep *p, const MlrecRatings *pR, int iFrom){
  i64 kBase = pR->aItemStart[iFrom], nAll = 0;
  int nMax = iFrom>1 ? iFrom : 1;
  int j;
  if( nMax>p->nChunk ) nMax = p->nChunk;
  for(j=iFrom; j<pR->nItem && j-iFrom<nMax; j++){
    i64 kEnd = pR->aItemStart[j+1], k, nPairs = 0;
    if( j>iFrom && kEnd-kBase>p->nOff ) break;
    for(k=pR->aItemStart[j]; k<kEnd; k++){
      int u = pR->aItemUser[k];
      nPairs += pR->aUserStart[u+1] - pR->aUserStart[u] - p->aSeen[u] - 1;
      p->aOff[k-kBase] = ++p->aSeen[u];
    }
    p->aPairs[j-iFrom] = nPairs;
    nAll += nPairs + (nPairs*KNN_SWEEP_WALK < pR->nItem-j ? nPairs
                                                        : pR->nItem-j);
  }
  p->iFrom = iFrom;
  p->iTo = j;
  return nAll;
}

/* The queries of the chunk a worker takes, until none is left. */
static void sweepQueries(SweepWorker *w){
  KnnSweep *p = w->pSw;
  i64 nSince = 0;        /* pairs added up since the last look */
  while( !atomic_load_explicit(&p->bStop, memory_order_relaxed) ){
    int j = p->iFrom + KNN_SWEEP_TAKE
          * atomic_fetch_add_explicit(&p->iClaim, 1, memory_order_relaxed);
    int jEnd = j+KNN_SWEEP_TAKE<p->iTo ? j+KNN_SWEEP_TAKE : p->iTo;
    if( j>=p->iTo ) break;
    for(; j<jEnd; j++){
      sweepQuery(w, j);
      nSince += p->aPairs[j - p->iFrom];
    }
    if( w->pIntr && nSince>=KNN_SWEEP_PROBE ){
      nSince = 0;
      w->rc = mlrecInterrupted(w->pIntr);
      if( w->rc!=SQLITE_OK ){
        atomic_store_explicit(&p->bStop, 1, memory_order_relaxed);
      }
    }
  }
}

/* Push the hits of h, of movies from iFrom on only, into pTo. */
static void pushHits(MlrecTopK *pTo, const MlrecTopK *h, int iFrom){
  int m;
  for(m=0; m<h->n; m++){
    if( h->a[m].idx>=iFrom ){
      mlrecTopKPush(pTo, h->a[m].key, h->a[m].score, h->a[m].idx);
    }
  }
}

/*
** Merge the helpers' lists after a chunk on the pool.  Those of a later
** movie go into the sweep's; a chunk movie's whole list is its list of
** hits with later movies (which started as its list in the sweep before
** the chunk) with the hits of the chunk's earlier movies: those the calling
** thread gave the sweep's list during the chunk, and the helpers'.  A list
** keeps the best k under a total order: the order of the pushes does not
** matter.
*/
static void sweepMerge(KnnSweep *p, int nItem){
  int i, t;
  for(i=p->iFrom; i<nItem; i++){
    MlrecTopK *pTo = i<p->iTo ? &p->aFwd[i - p->iFrom] : &p->all.aList[i];
    if( i<p->iTo ) pushHits(pTo, &p->all.aList[i], p->iFrom);
    for(t=1; t<p->nWorker; t++){
      MlrecTopK *h = &p->aWorker[t].priv.aList[i];
      pushHits(pTo, h, 0);
      h->n = 0;
    }
    if( i>=p->iTo ) raiseThr(&p->all, i, enterScore(pTo, 1));
  }
}

/*
** A helper: joins each chunk published while it is open.  One that the
** system has not run yet when the calling thread has taken the last movie
** of a chunk is not waited for: it skips that chunk.
*/
static void *sweepThread(void *pArg){
  SweepWorker *w = (SweepWorker*)pArg;
  KnnSweep *p = w->pSw;
  int iSeen;
  pthread_mutex_lock(&p->mutex);
  iSeen = p->iTask;
  for(;;){
    while( !p->bQuit && iSeen==p->iTask ){
      pthread_cond_wait(&p->wake, &p->mutex);
    }
    if( p->bQuit ) break;
    iSeen = p->iTask;
    if( !p->bOpen ) continue;
    p->nActive++;
    pthread_mutex_unlock(&p->mutex);
    sweepQueries(w);
    pthread_mutex_lock(&p->mutex);
    if( --p->nActive==0 ) pthread_cond_signal(&p->idle);
  }
  pthread_mutex_unlock(&p->mutex);
  return 0;
}

/* Run the chunk's queries on the calling thread and the helpers. */
static void sweepRunChunk(KnnSweep *p){
  atomic_store(&p->iClaim, 0);
  pthread_mutex_lock(&p->mutex);
  p->iTask++;
  p->bOpen = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  sweepQueries(&p->aWorker[0]);
  pthread_mutex_lock(&p->mutex);
  p->bOpen = 0;
  while( p->nActive>0 ) pthread_cond_wait(&p->idle, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
}

/* Stop and join the threads of the pool, if it was started. */
static void sweepPoolStop(KnnSweep *p){
  int t;
  if( !p->bPool ) return;
  pthread_mutex_lock(&p->mutex);
  p->bQuit = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  for(t=1; t<p->nWorker; t++){
    if( p->aWorker[t].bThread ) pthread_join(p->aWorker[t].tid, 0);
  }
  pthread_cond_destroy(&p->idle);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mutex);
  p->bPool = 0;
}

/*
** Room for each helper's copy of the lists, and the helpers' threads (one
** that cannot start leaves its share to the others).  Without room or a
** mutex, the sweep goes on one movie at a time on the calling thread.
*/
static void sweepPoolStart(KnnSweep *p, const MlrecRatings *pR){
  int t, bSync = 0;
  for(t=1; t<p->nWorker; t++){
    if( listsInit(&p->aWorker[t].priv, pR->nItem, p->k)!=SQLITE_OK ) break;
  }
  if( t==p->nWorker && pthread_mutex_init(&p->mutex, 0)==0 ){
    bSync = 1;
    if( pthread_cond_init(&p->wake, 0)==0 ){
      bSync = 2;
      if( pthread_cond_init(&p->idle, 0)==0 ) bSync = 3;
    }
  }
  if( bSync==3 ){
    p->bPool = 1;
    for(t=1; t<p->nWorker; t++){
      SweepWorker *w = &p->aWorker[t];
      w->bThread = pthread_create(&w->tid, 0, sweepThread, w)==0;
    }
    return;
  }
  if( bSync>=2 ) pthread_cond_destroy(&p->wake);
  if( bSync>=1 ) pthread_mutex_destroy(&p->mutex);
  for(t=0; t<p->nWorker; t++) listsFree(&p->aWorker[t].priv);
  p->nWorker = 1;
  p->nChunk = 1;
}

/*
** Run the chunk on the pool, the calling thread offering to the sweep's
** lists and looking at the interrupt, then merge the helpers' lists.
*/
static int sweepRunPool(KnnSweep *p, const MlrecRatings *pR, sqlite3 *db){
  MlrecInterrupt intr;
  SweepWorker *w = &p->aWorker[0];
  i64 nCopy = (i64)(pR->nItem - p->iFrom);
  int t, rc = mlrecInterruptBegin(db, &intr);
  if( rc!=SQLITE_OK ) return rc;
  atomic_store(&p->bStop, 0);
  w->pTo = &p->all;
  for(t=1; t<p->nWorker; t++){
    SweepLists *pPriv = &p->aWorker[t].priv;
    p->aWorker[t].pTo = pPriv;
    memcpy(pPriv->aThr + p->iFrom, p->all.aThr + p->iFrom,
           sizeof(double)*nCopy);
    memcpy(pPriv->aLim + p->iFrom, p->all.aLim + p->iFrom,
           sizeof(float)*nCopy);
  }
  w->pIntr = &intr;
  w->rc = SQLITE_OK;
  sweepRunChunk(p);
  w->pIntr = 0;
  mlrecInterruptEnd(&intr);
  if( w->rc==SQLITE_OK ) sweepMerge(p, pR->nItem);
  return w->rc;
}

/* Start the list of chunk movie j with its list in the sweep. */
static void startFwd(KnnSweep *p, int j){
  MlrecTopK *pFwd = &p->aFwd[j - p->iFrom];
  const MlrecTopK *h = &p->all.aList[j];
  memcpy(pFwd->a, h->a, sizeof(MlrecHit)*h->n);
  pFwd->n = h->n;
}

/*
** Make sure movie j, the next of the sweep, has its whole list (in aFwd):
** compute the chunk from j if it is not done yet.  A chunk on the pool
** starts every movie's list before it runs; one on the calling thread
** alone starts each just before its query, when the movies before it in
** the chunk have all offered to it.
*/
static int sweepAdvance(KnnSweep *p, const MlrecRatings *pR, sqlite3 *db,
                        int j){
  int rc = SQLITE_OK;
  i64 nWork;
  if( j<p->iTo ) return SQLITE_OK;
  if( j>0 && !p->bFloors ) sweepFloors(p, pR);
  if( p->nWorker>1 && !p->bPool && j>1 ) sweepPoolStart(p, pR);
  nWork = sweepPlan(p, pR, j);
  if( p->iTo-p->iFrom>1 && nWork>=KNN_SWEEP_POOL ){
    for(; j<p->iTo; j++) startFwd(p, j);
    rc = sweepRunPool(p, pR, db);
  }else{
    p->aWorker[0].pTo = &p->all;
    for(; j<p->iTo; j++){
      startFwd(p, j);
      sweepQuery(&p->aWorker[0], j);
    }
  }
  return rc;
}

/*
** True if the query of movie iItem for k hits continues the sweep of this
** cursor, which starts at movie 0 when there is room for it; otherwise
** the sweep is off for the rest of the cursor (its answers stay right).
*/
static int sweepContinues(MlrecKnnScratch *s, const MlrecRatings *pR,
                          int iItem, int k){
  if( s->iNext==-1 && iItem==0 ){
    s->pSweep = sweepNew(pR, s, k);
    if( s->pSweep ) s->iNext = 0;
  }
  if( s->iNext>=0 && iItem==s->iNext && k==s->pSweep->k ){
    s->iNext++;
    return 1;
  }
  sweepFree(s->pSweep);
  s->pSweep = 0;
  s->iNext = -2;
  return 0;
}

/*
** Query iItem of the sweep into pOut: its list, then score 0.  The sweep
** ends after the last movie, or on an error (SQLITE_INTERRUPT).
*/
static int sweepAnswer(MlrecKnnScratch *s, const MlrecRatings *pR,
                       sqlite3 *db, int iItem, MlrecTopK *pOut){
  KnnSweep *p = s->pSweep;
  int rc = sweepAdvance(p, pR, db, iItem);
  if( rc==SQLITE_OK ){
    const MlrecTopK *h = &p->aFwd[iItem - p->iFrom];
    memcpy(pOut->a, h->a, sizeof(MlrecHit)*h->n);
    pOut->n = h->n;
    fillZeros(pR, iItem, pOut);
  }
  if( rc!=SQLITE_OK || s->iNext==pR->nItem ){
    sweepFree(p);
    s->pSweep = 0;
    s->iNext = -2;
  }
  return rc;
}

/*
** Select into pOut (initialised for k hits) the k movies most similar to
** movie index iItem.  *ppScratch is work space kept by the caller between
** calls; db is the connection, whose interrupt a long sweep honours.
*/
int mlrecSimilar(
  sqlite3 *db,
  const MlrecRatings *pR,
  int iItem,
  MlrecTopK *pOut,
  MlrecKnnScratch **ppScratch
){
  MlrecKnnScratch *s;
  Ranking ranking;
  KnnRows rows;
  i64 nPairs;
  int nPart;
  int rc = scratchFor(pR, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  if( pOut->k==0 ) return SQLITE_OK;
  s = *ppScratch;
  if( sweepContinues(s, pR, iItem, pOut->k) ){
    rc = sweepAnswer(s, pR, db, iItem, pOut);
    if( rc==SQLITE_OK ) mlrecTopKSort(pOut);
    return rc;
  }
  ranking.pR = pR;
  ranking.pOut = pOut;
  ranking.rNorm = pR->aItemNorm[iItem];
  setBound(&ranking);
  rows.aOff = 0;
  rows.kBase = 0;
  nPairs = pairsReached(pR, &rows, iItem);
  nPart = nPairs>=KNN_PARALLEL_PAIRS && s->bExact ? s->nPart : 1;
  accumulateDots(pR, iItem, &rows, nPairs, 0, nPart, s);
  /* Every way, a movie sharing no user with iItem has score 0, as
  ** scikit-learn's brute search ranks it. */
  if( nPart==1 && nPairs*2 < pR->nItem ){
    rankReached(&ranking, iItem, s);
  }else{
    rankAll(&ranking, iItem, s, nPart);
  }
  mlrecTopKSort(pOut);
  return SQLITE_OK;
}
