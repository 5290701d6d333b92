/*
** knn.c: item-item cosine neighbours, exactly as scikit-learn's
** NearestNeighbors(metric="cosine", algorithm="brute") ranks them on the
** movie x user matrix of raw ratings (missing = 0): one query.
**
**     SELECT * FROM similar_movies(260, 10);
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
** SPEED.  The accumulators are one dense array per worker, zero between
** queries: the inner loop is a plain multiply-add with no test.  A query
** that reaches most movies then reads and clears the whole array, skipping
** with one multiplication each movie whose dot product is clearly below
** the k-th best so far; one that reaches few walks its rows again instead.
** A query that reaches more than a million (user, movie) pairs runs on the
** connection's pool of threads (core/pool.c) when the ratings make every
** sum exact (half stars, say: products are multiples of 1/4 and sums stay
** far below 2^51): its raters are cut into pieces of about equal pairs,
** each added up by the worker that takes it into that worker's array, so
** the answer is the same bit for bit whatever the order of the additions.
**
** THE SWEEP.  Movies asked for in order in one statement (a join over all
** movies) are handed to sweep.c, which computes them ahead, with half the
** work, and gives the same answers; any other order turns it off for the
** rest of the cursor.
*/
#include "similar.h"
#include <math.h>
#include <string.h>

#ifndef KNN_PARALLEL_PAIRS           /* (tests/threads.c: 0, every query) */
# define KNN_PARALLEL_PAIRS 1000000 /* a query reaching more runs on the
                                    ** pool */
#endif
#define KNN_PIECES 4                /* pieces of such a query per worker */

/*
** Per-cursor work space, sized for one snapshot's number of movies:
** accumulator arrays (MlrecKnnAcc), as doubles or integers, end to end: one,
** and one per worker from the first work on the pool.
*/
struct MlrecKnnScratch {
  int nItem;
  int nPart;              /* most accumulator arrays: one per core */
  int nAlloc;             /* accumulator arrays allocated */
  int bInt;               /* integer accumulators in aAcc, else aDot */
  int bExact;             /* made for a snapshot with exact sums */
  unsigned int stamp;     /* aStamp[j]==stamp: movie j ranked this query */
  unsigned int *aStamp;
  double *aDot;           /* nAlloc x nItem accumulators, zero between
                          ** queries */
  int *aAcc;              /* the same, as integers */
  int iNext;              /* the sweep: movie expected next; -1 none yet,
                          ** -2 off for this cursor */
  int kSweep;             /* its k */
  MlrecSweep *pSweep;     /* the sweep's state, while iNext >= 0 */
};

void mlrecKnnScratchFree(MlrecKnnScratch *p){
  if( p==0 ) return;
  mlrecSweepFree(p->pSweep);
  sqlite3_free(p->aStamp);
  sqlite3_free(p->aDot);
  sqlite3_free(p->aAcc);
  sqlite3_free(p);
}

/* Accumulator array q of s. */
static MlrecKnnAcc accOf(const MlrecKnnScratch *s, int q){
  MlrecKnnAcc a;
  a.aDot = s->bInt ? 0 : s->aDot + (i64)q*s->nItem;
  a.aAcc = s->bInt ? s->aAcc + (i64)q*s->nItem : 0;
  return a;
}

/* Read, and clear, the dot product with movie j: the sum of accumulator
** arrays 0 to nPart-1. */
static inline double takeDot(MlrecKnnScratch *s, int nPart, int j){
  double rDot = 0.0;
  int q;
  if( s->bInt ){
    i64 n = 0;
    for(q=0; q<nPart; q++){
      n += s->aAcc[(i64)q*s->nItem + j];
      s->aAcc[(i64)q*s->nItem + j] = 0;
    }
    return 0.25*(double)n;
  }
  for(q=0; q<nPart; q++){
    rDot += s->aDot[(i64)q*s->nItem + j];
    s->aDot[(i64)q*s->nItem + j] = 0.0;
  }
  return rDot;
}

/*
** Make room in s for nPart accumulator arrays, zero.  The arrays move: no
** MlrecKnnAcc of s may be in use (no sweep runs).
*/
static int scratchParts(MlrecKnnScratch *s, int nPart){
  size_t nSize = s->bInt ? sizeof(int) : sizeof(double);
  void *aOld = s->bInt ? (void*)s->aAcc : (void*)s->aDot;
  char *aNew;
  if( nPart<=s->nAlloc ) return SQLITE_OK;
  aNew = sqlite3_realloc64(aOld, nSize*((u64)nPart*s->nItem+1));
  if( aNew==0 ) return SQLITE_NOMEM;
  memset(aNew + nSize*s->nAlloc*s->nItem, 0,
         nSize*(nPart-s->nAlloc)*s->nItem);
  if( s->bInt ) s->aAcc = (int*)aNew;
  else s->aDot = (double*)aNew;
  s->nAlloc = nPart;
  return SQLITE_OK;
}

/*
** Work space for pR, with one accumulator array; more come when work runs
** on the pool, up to one per core (a query is split over them only when
** the sums are exact: then the order in which workers add up does not
** matter; the sweep gives each worker whole queries).
*/
static int scratchFor(const MlrecRatings *pR, MlrecKnnScratch **pp){
  MlrecKnnScratch *p = *pp;
  int nItem = pR->nItem;
  int bInt = pR->bIntDots;
  if( p && p->nItem==nItem && p->bInt==bInt && p->bExact==pR->bExactDots ){
    return SQLITE_OK;
  }
  mlrecKnnScratchFree(p);
  *pp = p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->nItem = nItem;
  /* counting the cores reads a file: once per work space, not per query */
  p->nPart = mlrecOnlineCores();
  p->bInt = bInt;
  p->bExact = pR->bExactDots;
  p->iNext = -1;
  p->aStamp = sqlite3_malloc64(sizeof(unsigned int)*((i64)nItem+1));
  if( p->aStamp==0 || scratchParts(p, 1)!=SQLITE_OK ){
    mlrecKnnScratchFree(p);
    *pp = 0;
    return SQLITE_NOMEM;
  }
  memset(p->aStamp, 0, sizeof(unsigned int)*((i64)nItem+1));
  return SQLITE_OK;
}

/* The number of (user, movie) pairs reached from movie iItem. */
static i64 pairsReached(const MlrecRatings *pR, int iItem){
  i64 n = 0, k;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    n += pR->aUserStart[u+1] - pR->aUserStart[u];
  }
  return n;
}

/* The rows of a query: all of every rater's. */
static const MlrecKnnRows wholeRows = {0, 0};

/* A query on the pool: its raters in pieces of about equal pairs. */
typedef struct KnnSplit KnnSplit;
struct KnnSplit {
  const MlrecRatings *pR;
  const MlrecKnnScratch *s;
  i64 nUnit;              /* work of a piece, in units of the pool */
  i64 aStart[KNN_PIECES*MLREC_MAX_THREADS+1];  /* piece t: the ratings
                          ** [aStart[t], aStart[t+1]) of the movie */
};

/* Add up piece iPiece into the accumulators of the worker that takes it. */
static int accumulatePiece(void *pCtx, MlrecWorker *w, i64 iPiece){
  const KnnSplit *p = (const KnnSplit*)pCtx;
  MlrecKnnAcc acc = accOf(p->s, w->iWorker);
  if( mlrecWorkerStop(w, p->nUnit) ) return SQLITE_INTERRUPT;
  mlrecKnnAccumulate(p->pR, &wholeRows, p->aStart[iPiece],
                     p->aStart[iPiece+1], &acc);
  return SQLITE_OK;
}

/* Cut the raters of movie iItem, who reach nPairs pairs, into nPiece pieces
** of about equal pairs (a unit of work is a thousand). */
static void splitRaters(KnnSplit *p, int iItem, i64 nPairs, int nPiece){
  const MlrecRatings *pR = p->pR;
  i64 k = pR->aItemStart[iItem], end = pR->aItemStart[iItem+1], nDone = 0;
  int t;
  for(t=0; t<nPiece; t++){
    p->aStart[t] = k;
    while( k<end && nDone*nPiece < nPairs*(t+1) ){
      int u = pR->aItemUser[k++];
      nDone += pR->aUserStart[u+1] - pR->aUserStart[u];
    }
  }
  p->aStart[nPiece] = end;
  p->nUnit = 1 + nPairs/nPiece/1000;
}

/*
** Accumulate dot(iItem, j) for every movie j (nPairs pairs) as a job on the
** pool of pState: *pnPart gets the number of workers that ran, whose
** arrays hold the sums.  If the job stops (an interrupt), their arrays are
** cleared and the error returned.
*/
static int accumulateOnPool(MlrecState *pState, const MlrecRatings *pR,
                            int iItem, i64 nPairs, MlrecKnnScratch *s,
                            int *pnPart){
  KnnSplit split;
  MlrecInterrupt intr;
  int nWorker = mlrecPoolReserve(pState, s->nPart);
  int rc = scratchParts(s, nWorker);
  *pnPart = 1;
  if( rc==SQLITE_OK ) rc = mlrecInterruptBegin(pState->db, &intr);
  if( rc!=SQLITE_OK ) return rc;
  split.pR = pR;
  split.s = s;
  splitRaters(&split, iItem, nPairs, KNN_PIECES*nWorker);
  rc = mlrecParallelRun(pState, &intr, nWorker, KNN_PIECES*nWorker,
                        accumulatePiece, &split, pnPart);
  mlrecInterruptEnd(&intr);
  if( rc!=SQLITE_OK ){
    i64 n = (i64)*pnPart*s->nItem;
    if( s->bInt ) memset(s->aAcc, 0, sizeof(int)*n);
    else memset(s->aDot, 0, sizeof(double)*n);
  }
  return rc;
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
  mlrecTopKPush(p->pOut, mlrecKnnRankKey(score), score, j);
  setBound(p);
}

/* Read, clear and offer movie j. */
static void rankOne(Ranking *p, int iItem, MlrecKnnScratch *s, int nPart,
                    int j){
  double rDot = takeDot(s, nPart, j);
  if( mayEnter(p, j, rDot) && j!=iItem ) offer(p, j, rDot);
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
    for(; j+MLREC_KNN_LANES<=s->nItem; j+=MLREC_KNN_LANES){
      float rLimit = (float)(4.0*p->rBound - 4e-5*p->rNorm);
      MlrecKnnVecI acc;
      MlrecKnnVecF inv;
      memcpy(&acc, s->aAcc+j, sizeof(acc));
      memcpy(&inv, aInv+j, sizeof(inv));
      if( !mlrecKnnAnyLane(__builtin_convertvector(acc, MlrecKnnVecF)*inv
                           >= rLimit) ){
        memset(s->aAcc+j, 0, sizeof(acc));
        continue;
      }
      for(jj=j; jj<j+MLREC_KNN_LANES; jj++) rankOne(p, iItem, s, 1, jj);
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
** Rank the movies the accumulation reached (in array 0), walking the same
** rows again and clearing the array behind, then the movies it did not
** reach (score 0) as long as one could enter: for a query that reaches few
** movies.
*/
static void rankReached(Ranking *p, int iItem, MlrecKnnScratch *s){
  const MlrecRatings *pR = p->pR;
  unsigned int stamp = nextStamp(s);
  i64 k, m;
  double rDot;
  int j;
  s->aStamp[iItem] = stamp;
  takeDot(s, 1, iItem);
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    for(m=pR->aUserStart[u]; m<pR->aUserStart[u+1]; m++){
      j = pR->aUserItem[m];
      if( s->aStamp[j]==stamp ) continue;
      s->aStamp[j] = stamp;
      rDot = takeDot(s, 1, j);
      if( mayEnter(p, j, rDot) ) offer(p, j, rDot);
    }
  }
  for(j=0; j<pR->nItem && !mlrecTopKWorse(p->pOut, 0.0, j); j++){
    if( s->aStamp[j]!=stamp ) mlrecTopKPush(p->pOut, 0.0, 0.0, j);
  }
}

/* Turn the sweep off for the rest of the cursor (its answers stay right). */
static void sweepOff(MlrecKnnScratch *s){
  mlrecSweepFree(s->pSweep);
  s->pSweep = 0;
  s->iNext = -2;
}

/* Start the sweep of this cursor for k hits, if sweep.c can take it, with
** an accumulator array for each worker it can use (fewer without room). */
static void sweepStart(MlrecKnnScratch *s, const MlrecRatings *pR, int k){
  MlrecKnnAcc aAcc[MLREC_MAX_THREADS];
  int q, nWorker = mlrecSweepWorkers(pR, k, s->nPart);
  if( nWorker==0 ) return;
  if( scratchParts(s, nWorker)!=SQLITE_OK ) nWorker = s->nAlloc;
  for(q=0; q<nWorker; q++) aAcc[q] = accOf(s, q);
  s->pSweep = mlrecSweepNew(pR, k, nWorker, aAcc);
  s->kSweep = k;
  if( s->pSweep ) s->iNext = 0;
}

/*
** True if the query of movie iItem for k hits continues the sweep of this
** cursor, which starts at movie 0; otherwise the sweep is off for the rest
** of the cursor.
*/
static int sweepContinues(MlrecKnnScratch *s, const MlrecRatings *pR,
                          int iItem, int k){
  if( s->iNext==-1 && iItem==0 ) sweepStart(s, pR, k);
  if( s->iNext>=0 && iItem==s->iNext && k==s->kSweep ){
    s->iNext++;
    return 1;
  }
  sweepOff(s);
  return 0;
}

/*
** Select into pOut (initialised for k hits) the k movies most similar to
** movie index iItem.  *ppScratch is work space kept by the caller between
** calls; pState is the connection, whose pool runs long queries and the
** sweep, which honour its interrupt.
*/
int mlrecSimilar(
  MlrecState *pState,
  const MlrecRatings *pR,
  int iItem,
  MlrecTopK *pOut,
  MlrecKnnScratch **ppScratch
){
  MlrecKnnScratch *s;
  Ranking ranking;
  i64 nPairs;
  int nPart = 1;
  int rc = scratchFor(pR, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  if( pOut->k==0 ) return SQLITE_OK;
  s = *ppScratch;
  if( sweepContinues(s, pR, iItem, pOut->k) ){
    rc = mlrecSweepAnswer(s->pSweep, pState, iItem, pOut);
    if( rc!=SQLITE_OK || s->iNext==pR->nItem ) sweepOff(s);
    if( rc==SQLITE_OK ) mlrecTopKSort(pOut);
    return rc;
  }
  ranking.pR = pR;
  ranking.pOut = pOut;
  ranking.rNorm = pR->aItemNorm[iItem];
  setBound(&ranking);
  nPairs = pairsReached(pR, iItem);
  if( nPairs>=KNN_PARALLEL_PAIRS && s->bExact && s->nPart>1 ){
    rc = accumulateOnPool(pState, pR, iItem, nPairs, s, &nPart);
    if( rc!=SQLITE_OK ) return rc;
  }else{
    MlrecKnnAcc acc = accOf(s, 0);
    mlrecKnnAccumulate(pR, &wholeRows, pR->aItemStart[iItem],
                       pR->aItemStart[iItem+1], &acc);
  }
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

/* Number of users who rated both movie indexes i and j of pR (of a
** transposed snapshot: the movies both users rated). */
i64 mlrecCorated(const MlrecRatings *pR, int i, int j){
  i64 a = pR->aItemStart[i], aEnd = pR->aItemStart[i+1];
  i64 b = pR->aItemStart[j], bEnd = pR->aItemStart[j+1];
  i64 n = 0;
  while( a<aEnd && b<bEnd ){
    int va = pR->aItemUser[a], vb = pR->aItemUser[b];
    n += va==vb;
    a += va<=vb;
    b += vb<=va;
  }
  return n;
}
