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
*/
#include "mlrec.h"
#include <math.h>
#include <string.h>

/* Per-cursor work space, sized for one snapshot's number of movies. */
struct MlrecKnnScratch {
  int nItem;
  unsigned int stamp;     /* aStamp[j]==stamp: movie j ranked this query */
  unsigned int *aStamp;
  double *aDot;           /* accumulators, all zero between queries */
};

void mlrecKnnScratchFree(MlrecKnnScratch *p){
  if( p==0 ) return;
  sqlite3_free(p->aStamp);
  sqlite3_free(p->aDot);
  sqlite3_free(p);
}

static int scratchFor(int nItem, MlrecKnnScratch **pp){
  MlrecKnnScratch *p = *pp;
  if( p && p->nItem==nItem ) return SQLITE_OK;
  mlrecKnnScratchFree(p);
  *pp = p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->nItem = nItem;
  p->aStamp = sqlite3_malloc64(sizeof(unsigned int)*((i64)nItem+1));
  p->aDot = sqlite3_malloc64(sizeof(double)*((i64)nItem+1));
  if( p->aStamp==0 || p->aDot==0 ){
    mlrecKnnScratchFree(p);
    *pp = 0;
    return SQLITE_NOMEM;
  }
  memset(p->aStamp, 0, sizeof(unsigned int)*((i64)nItem+1));
  memset(p->aDot, 0, sizeof(double)*((i64)nItem+1));
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

/* Add dot(iItem, j) into aDot[j] for every movie j sharing a user. */
static void accumulateDots(const MlrecRatings *pR, int iItem, double *aDot){
  const int *aItem = pR->aUserItem;
  const float *aValue = pR->aUserValue;
  i64 k, m;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    double r = pR->aItemValue[k];
    i64 end = pR->aUserStart[u+1];
    for(m=pR->aUserStart[u]; m<end; m++){
      aDot[aItem[m]] += r*aValue[m];
    }
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

/*
** Rank every movie but iItem, reading and clearing all of aDot: for a
** query that reaches most movies.
*/
static void rankAll(Ranking *p, int iItem, double *aDot){
  int j;
  aDot[iItem] = 0.0;
  for(j=0; j<p->pR->nItem; j++){
    double rDot = aDot[j];
    aDot[j] = 0.0;
    if( mayEnter(p, j, rDot) && j!=iItem ) offer(p, j, rDot);
  }
}

/*
** Rank the movies the accumulation reached, walking the same rows again
** and clearing aDot behind, then the movies it did not reach (score 0) as
** long as one could enter: for a query that reaches few movies.
*/
static void rankReached(Ranking *p, int iItem, MlrecKnnScratch *s){
  const MlrecRatings *pR = p->pR;
  unsigned int stamp;
  i64 k, m;
  int j;
  if( ++s->stamp==0 ){
    memset(s->aStamp, 0, sizeof(unsigned int)*(i64)s->nItem);
    s->stamp = 1;
  }
  stamp = s->stamp;
  s->aStamp[iItem] = stamp;
  s->aDot[iItem] = 0.0;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    for(m=pR->aUserStart[u]; m<pR->aUserStart[u+1]; m++){
      j = pR->aUserItem[m];
      if( s->aStamp[j]==stamp ) continue;
      s->aStamp[j] = stamp;
      if( mayEnter(p, j, s->aDot[j]) ) offer(p, j, s->aDot[j]);
      s->aDot[j] = 0.0;
    }
  }
  for(j=0; j<pR->nItem && !mlrecTopKWorse(p->pOut, 0.0, j); j++){
    if( s->aStamp[j]!=stamp ) mlrecTopKPush(p->pOut, 0.0, 0.0, j);
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
  int rc = scratchFor(pR->nItem, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  if( pOut->k==0 ) return SQLITE_OK;
  s = *ppScratch;
  ranking.pR = pR;
  ranking.pOut = pOut;
  ranking.rNorm = pR->aItemNorm[iItem];
  setBound(&ranking);
  accumulateDots(pR, iItem, s->aDot);
  /* Either way, a movie sharing no user with iItem has score 0, as
  ** scikit-learn's brute search ranks it. */
  if( pairsReached(pR, iItem)*2 < pR->nItem ){
    rankReached(&ranking, iItem, s);
  }else{
    rankAll(&ranking, iItem, s->aDot);
  }
  mlrecTopKSort(pOut);
  return SQLITE_OK;
}
