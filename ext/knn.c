/*
** knn.c: item-item cosine neighbours, exactly as scikit-learn's
** NearestNeighbors(metric="cosine", algorithm="brute") ranks them on the
** movie x user matrix of raw ratings (missing = 0).
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
** SPEED.  The accumulators are one dense array per cursor, zero between
** queries: the inner loop is a plain multiply-add with no test.  A query
** that reaches most movies then reads and clears the whole array, skipping
** with one multiplication each movie whose dot product is clearly below
** the k-th best so far; one that reaches few walks its rows again instead.
** A query that reaches more than a million (user, movie) pairs is split
** over all cores, each thread adding up its share of the users into its own
** array, when the ratings make every sum exact (half stars, say: products
** are multiples of 1/4 and sums stay far below 2^51), so that the answer is
** the same bit for bit whatever the order of the additions.
*/
#include "mlrec.h"
#include <math.h>
#include <pthread.h>
#include <string.h>

#define KNN_PARALLEL_PAIRS 1000000  /* a query reaching more uses all cores */
#define KNN_MAX_PARTS 8              /* most threads one query runs on */

/*
** Per-cursor work space, sized for one snapshot's number of movies.  The
** accumulators are doubles, or 32-bit integers counting quarters when the
** snapshot has its ratings as small half stars (aUserHalf).
*/
struct MlrecKnnScratch {
  int nItem;
  int nPart;              /* accumulator arrays: one per thread */
  int bInt;               /* integer accumulators in aAcc, else aDot */
  int bExact;             /* made for a snapshot with exact sums */
  unsigned int stamp;     /* aStamp[j]==stamp: movie j ranked this query */
  unsigned int *aStamp;
  double *aDot;           /* nPart x nItem accumulators, zero between queries */
  int *aAcc;              /* the same, as integers */
  /* The sweep: movies asked for in order 0, 1, 2, ... with one k */
  int iNext;              /* the movie it expects next; -1 none yet, -2 off */
  MlrecTopK *aSweep;      /* nItem: best hits of each movie among those done */
  MlrecHit *aSweepHit;    /* their storage, nItem x k */
  float *aSweepLim;       /* nItem: see sweepBound() */
  int *aSweepSeen;        /* nUser: movies of each user the sweep has done */
};

static void sweepFree(MlrecKnnScratch *p){
  sqlite3_free(p->aSweep);
  sqlite3_free(p->aSweepHit);
  sqlite3_free(p->aSweepLim);
  sqlite3_free(p->aSweepSeen);
  p->aSweep = 0;
  p->aSweepHit = 0;
  p->aSweepLim = 0;
  p->aSweepSeen = 0;
}

void mlrecKnnScratchFree(MlrecKnnScratch *p){
  if( p==0 ) return;
  sweepFree(p);
  sqlite3_free(p->aStamp);
  sqlite3_free(p->aDot);
  sqlite3_free(p->aAcc);
  sqlite3_free(p);
}

/* Read, and clear, the dot product of the query with movie j. */
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
** Work space for pR: one accumulator array, or one per core when the sums
** are exact (then the order in which threads add up does not matter).
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
  nPart = pR->bExactDots ? mlrecOnlineCores() : 1;
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
** Where the part of the row of user u that a query reaches starts: all of
** it, or in the sweep (bSweep) the movies after the query's, which is the
** next of the user's movies the sweep comes to (aSweepSeen[u] are done).
*/
static i64 rowFrom(const MlrecRatings *pR, const MlrecKnnScratch *s, int u,
                   int bSweep){
  return pR->aUserStart[u] + (bSweep ? s->aSweepSeen[u] + 1 : 0);
}

/* The number of (user, movie) pairs reached from movie iItem. */
static i64 pairsReached(const MlrecRatings *pR, const MlrecKnnScratch *s,
                        int iItem, int bSweep){
  i64 n = 0, k;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    n += pR->aUserStart[u+1] - rowFrom(pR, s, u, bSweep);
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
  const MlrecKnnScratch *s;
  i64 kStart, kEnd;
  int bSweep;             /* only the movies after the query's */
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
    i64 end = pR->aUserStart[u+1], start = rowFrom(pR, q->s, u, q->bSweep);
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
** Accumulate dot(iItem, j) for every movie j (after iItem in the sweep),
** split into nPart parts of
** about nPairs/nPart pairs each, one per thread (the calling thread runs
** the first; a part whose thread cannot start runs there too).
*/
static void accumulateDots(const MlrecRatings *pR, int iItem, int bSweep,
                           i64 nPairs, int nPart, MlrecKnnScratch *s){
  KnnPart aPart[KNN_MAX_PARTS];
  i64 k = pR->aItemStart[iItem], end = pR->aItemStart[iItem+1], nDone = 0;
  int q;
  for(q=0; q<nPart; q++){
    aPart[q].pR = pR;
    aPart[q].aDot = s->bInt ? 0 : s->aDot + (i64)q*s->nItem;
    aPart[q].aAcc = s->bInt ? s->aAcc + (i64)q*s->nItem : 0;
    aPart[q].kStart = k;
    aPart[q].s = s;
    aPart[q].bSweep = bSweep;
    while( k<end && (q==nPart-1 || nDone*nPart < nPairs*(q+1)) ){
      int u = pR->aItemUser[k++];
      nDone += pR->aUserStart[u+1] - rowFrom(pR, s, u, bSweep);
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
  double rDot = takeDot(s, nPart, j);
  if( mayEnter(p, j, rDot) && j!=iItem ) offer(p, j, rDot);
}

/* Four lanes of ints and of floats. */
typedef int KnnVecI __attribute__((vector_size(16)));
typedef float KnnVecF __attribute__((vector_size(16)));
#define KNN_LANES 4

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
      KnnVecI acc, none;
      KnnVecF inv;
      memcpy(&acc, s->aAcc+j, sizeof(acc));
      memcpy(&inv, aInv+j, sizeof(inv));
      none = __builtin_convertvector(acc, KnnVecF)*inv < rLimit;
      if( none[0] && none[1] && none[2] && none[3] ){
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

/*
** THE SWEEP.  When a cursor is asked for movies 0, 1, 2, ... in order with
** one k (a join over all movies, as in the all-movies sweep) and every
** rating is positive, query j adds up only the movies after j: dot(j, i)
** for i < j was computed by query i, which kept the best such hits of
** every later movie in aSweep[].  Query i adds r(u,i) r(u,j) over the
** users who rated both in user order, as query j would: the same sum, and
** the same score, bit for bit.  So the sweep does half the work.  Positive
** ratings make the cosine of two movies that share a user positive, so the
** movies a query does not meet any more are exactly those of score 0 not
** in its list.  Any other order turns the sweep off for the cursor.
*/
#define KNN_SWEEP_HITS 4000000    /* most hits kept for the sweep: 96 MB */

/*
** Set aSweepLim[i], the cosine the query must reach to enter the list of
** movie i of the sweep, less a margin (1e-5) that dwarfs the rounding of
** the float test that uses it: dot / norm(i) >= aSweepLim[i] * norm(query).
*/
static void sweepBound(MlrecKnnScratch *s, int i){
  const MlrecTopK *h = &s->aSweep[i];
  s->aSweepLim[i] = h->n<h->k ? -HUGE_VALF
                    : (float)((h->a[0].key - 1.0)*1e-12 - 1e-5);
}

/* Room for the sweep with k hits per movie; SQLITE_NOMEM if none. */
static int sweepBegin(MlrecKnnScratch *s, const MlrecRatings *pR, int k){
  int i;
  s->aSweep = sqlite3_malloc64(sizeof(MlrecTopK)*((i64)s->nItem+1));
  s->aSweepHit = sqlite3_malloc64(sizeof(MlrecHit)*((i64)s->nItem*k+1));
  s->aSweepLim = sqlite3_malloc64(sizeof(float)*((i64)s->nItem+1));
  s->aSweepSeen = sqlite3_malloc64(sizeof(int)*((i64)pR->nUser+1));
  if( !s->aSweep || !s->aSweepHit || !s->aSweepLim || !s->aSweepSeen ){
    sweepFree(s);
    return SQLITE_NOMEM;
  }
  for(i=0; i<s->nItem; i++){
    s->aSweep[i].a = s->aSweepHit + (i64)i*k;
    s->aSweep[i].n = 0;
    s->aSweep[i].k = k;
    sweepBound(s, i);
  }
  memset(s->aSweepSeen, 0, sizeof(int)*((i64)pR->nUser+1));
  return SQLITE_OK;
}

/*
** True if the query of movie iItem for k hits continues the sweep of this
** cursor, which starts at movie 0 when there is room for it; otherwise
** the sweep is off for the rest of the cursor (its answers stay right).
*/
static int sweepContinues(MlrecKnnScratch *s, const MlrecRatings *pR,
                          int iItem, int k){
  if( s->iNext==-1 && iItem==0 && pR->rMin>0.0
   && (i64)s->nItem*k<=KNN_SWEEP_HITS && sweepBegin(s, pR, k)==SQLITE_OK ){
    s->iNext = 0;
  }
  if( s->iNext>=0 && iItem==s->iNext && k==s->aSweep[0].k ){
    s->iNext++;
    return 1;
  }
  sweepFree(s);
  s->iNext = -2;
  return 0;
}

/* True if movie i, after the query in the sweep, may enter the query's
** list or the query may enter movie i's. */
#define mayEnterEither(p, s, i, rDot) \
  (mayEnter(p, i, rDot) || (float)((rDot)*(p)->pR->aItemInvNorm[i]) \
                           >= (float)(p)->rNorm*(s)->aSweepLim[i])

/*
** Offer movie i, after the query in the sweep, to the query's list, and
** the query to the list of movie i.
*/
static void offerBoth(Ranking *p, MlrecKnnScratch *s, int iItem, int i,
                      double rDot){
  double rDen = p->rNorm*p->pR->aItemNorm[i];
  double score = rDen>0.0 ? rDot/rDen : 0.0;
  double key = rankKey(score);
  MlrecTopK *pTheirs = &s->aSweep[i];
  /* iItem, after every movie of that list, loses the ties */
  if( pTheirs->n<pTheirs->k || key>pTheirs->a[0].key ){
    mlrecTopKPush(pTheirs, key, score, iItem);
    sweepBound(s, i);
  }
  mlrecTopKPush(p->pOut, key, score, i);
  setBound(p);
}

/* Read, clear and offer movie i, after the query in the sweep (integers). */
static void sweepOne(Ranking *p, MlrecKnnScratch *s, int iItem, int i){
  int n = s->aAcc[i];
  double rDot = 0.25*(double)n;
  s->aAcc[i] = 0;
  if( n!=0 && mayEnterEither(p, s, i, rDot) ) offerBoth(p, s, iItem, i, rDot);
}

/* True if pTop holds movie i. */
static int holds(const MlrecTopK *pTop, int i){
  int t;
  for(t=0; t<pTop->n; t++){
    if( pTop->a[t].idx==i ) return 1;
  }
  return 0;
}

/*
** Rank for query iItem of the sweep: the movies before it from their
** lists, the movies after it from the accumulators (walking the rows again
** for a small query, reading them all for a large one), then score 0.
*/
static void rankSweep(Ranking *p, int iItem, MlrecKnnScratch *s, int nPart,
                      i64 nPairs){
  const MlrecRatings *pR = p->pR;
  const MlrecTopK *pMine = &s->aSweep[iItem];
  double rDot;
  int t, i;
  for(t=0; t<pMine->n; t++){
    mlrecTopKPush(p->pOut, pMine->a[t].key, pMine->a[t].score,
                  pMine->a[t].idx);
  }
  setBound(p);
  if( nPart==1 && nPairs*2 < pR->nItem-iItem ){
    unsigned int stamp = nextStamp(s);
    i64 k, m;
    for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
      int u = pR->aItemUser[k];
      for(m=rowFrom(pR, s, u, 1); m<pR->aUserStart[u+1]; m++){
        i = pR->aUserItem[m];
        if( s->aStamp[i]==stamp ) continue;
        s->aStamp[i] = stamp;
        rDot = takeDot(s, 1, i);
        if( mayEnterEither(p, s, i, rDot) ) offerBoth(p, s, iItem, i, rDot);
      }
    }
  }else if( s->bInt && nPart==1 ){
    /* as rankAll(): four at a time, tested in floats against both lists */
    const float *aInv = pR->aItemInvNorm;
    float c = (float)(4.0*p->rNorm);
    for(i=iItem+1; i+KNN_LANES<=pR->nItem; i+=KNN_LANES){
      float rLimit = (float)(4.0*p->rBound - 4e-5*p->rNorm);
      KnnVecI acc, none;
      KnnVecF f, lim;
      memcpy(&acc, s->aAcc+i, sizeof(acc));
      memcpy(&f, aInv+i, sizeof(f));
      memcpy(&lim, s->aSweepLim+i, sizeof(lim));
      f *= __builtin_convertvector(acc, KnnVecF);
      none = (f<rLimit) & (f<c*lim);
      if( !(none[0] && none[1] && none[2] && none[3]) ){
        for(t=i; t<i+KNN_LANES; t++) sweepOne(p, s, iItem, t);
      }
      memset(s->aAcc+i, 0, sizeof(acc));
    }
    for(; i<pR->nItem; i++) sweepOne(p, s, iItem, i);
  }else{
    for(i=iItem+1; i<pR->nItem; i++){
      rDot = takeDot(s, nPart, i);
      if( rDot!=0.0 && mayEnterEither(p, s, i, rDot) ){
        offerBoth(p, s, iItem, i, rDot);
      }
    }
  }
  for(i=0; i<pR->nItem && !mlrecTopKWorse(p->pOut, 0.0, i); i++){
    if( i!=iItem && !holds(p->pOut, i) ) mlrecTopKPush(p->pOut, 0.0, 0.0, i);
  }
}

/*
** Select into pOut (initialised for k hits) the k movies most similar to
** movie index iItem.  *ppScratch is work space kept by the caller between
** calls.
*/
int mlrecSimilar(
  const MlrecRatings *pR,
  int iItem,
  MlrecTopK *pOut,
  MlrecKnnScratch **ppScratch
){
  MlrecKnnScratch *s;
  Ranking ranking;
  i64 nPairs;
  int nPart, bSweep;
  int rc = scratchFor(pR, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  if( pOut->k==0 ) return SQLITE_OK;
  s = *ppScratch;
  ranking.pR = pR;
  ranking.pOut = pOut;
  ranking.rNorm = pR->aItemNorm[iItem];
  setBound(&ranking);
  bSweep = sweepContinues(s, pR, iItem, pOut->k);
  nPairs = pairsReached(pR, s, iItem, bSweep);
  nPart = nPairs>=KNN_PARALLEL_PAIRS ? s->nPart : 1;
  accumulateDots(pR, iItem, bSweep, nPairs, nPart, s);
  /* Every way, a movie sharing no user with iItem has score 0, as
  ** scikit-learn's brute search ranks it. */
  if( bSweep ){
    i64 k;
    rankSweep(&ranking, iItem, s, nPart, nPairs);
    for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
      s->aSweepSeen[pR->aItemUser[k]]++;
    }
    if( s->iNext==pR->nItem ){
      sweepFree(s);
      s->iNext = -2;
    }
  }else if( nPart==1 && nPairs*2 < pR->nItem ){
    rankReached(&ranking, iItem, s);
  }else{
    rankAll(&ranking, iItem, s, nPart);
  }
  mlrecTopKSort(pOut);
  return SQLITE_OK;
}
