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
*/
#include "mlrec.h"
#include <math.h>
#include <string.h>

/* Per-cursor work space, sized for one snapshot's number of movies. */
struct MlrecKnnScratch {
  int nItem;
  unsigned int stamp;     /* aStamp[j]==stamp: aDot[j] is in use */
  unsigned int *aStamp;
  double *aDot;
  int *aTouched;          /* movies with aStamp[j]==stamp */
};

void mlrecKnnScratchFree(MlrecKnnScratch *p){
  if( p==0 ) return;
  sqlite3_free(p->aStamp);
  sqlite3_free(p->aDot);
  sqlite3_free(p->aTouched);
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
  p->aTouched = sqlite3_malloc64(sizeof(int)*((i64)nItem+1));
  if( !p->aStamp || !p->aDot || !p->aTouched ){
    mlrecKnnScratchFree(p);
    *pp = 0;
    return SQLITE_NOMEM;
  }
  memset(p->aStamp, 0, sizeof(unsigned int)*((i64)nItem+1));
  return SQLITE_OK;
}

/* Accumulate dot(iItem, j) for every movie j sharing a user with iItem. */
static int accumulateDots(const MlrecRatings *pR, int iItem,
                          MlrecKnnScratch *s){
  unsigned int stamp;
  int nTouched = 0;
  i64 k, m;
  if( ++s->stamp==0 ){
    memset(s->aStamp, 0, sizeof(unsigned int)*(i64)s->nItem);
    s->stamp = 1;
  }
  stamp = s->stamp;
  for(k=pR->aItemStart[iItem]; k<pR->aItemStart[iItem+1]; k++){
    int u = pR->aItemUser[k];
    double r = pR->aItemValue[k];
    for(m=pR->aUserStart[u]; m<pR->aUserStart[u+1]; m++){
      int j = pR->aUserItem[m];
      if( s->aStamp[j]!=stamp ){
        s->aStamp[j] = stamp;
        s->aDot[j] = 0.0;
        s->aTouched[nTouched++] = j;
      }
      s->aDot[j] += r*pR->aUserValue[m];
    }
  }
  return nTouched;
}

/* The ranking key of a cosine: equal to 12 decimal places means a tie. */
static double rankKey(double score){
  return nearbyint(score*1e12);
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
  double rNorm = pR->aItemNorm[iItem];
  int nTouched, t, j;
  int rc = scratchFor(pR->nItem, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  s = *ppScratch;
  nTouched = accumulateDots(pR, iItem, s);
  for(t=0; t<nTouched; t++){
    double rDen, score;
    j = s->aTouched[t];
    if( j==iItem ) continue;
    rDen = rNorm*pR->aItemNorm[j];
    score = rDen>0.0 ? s->aDot[j]/rDen : 0.0;
    mlrecTopKPush(pOut, rankKey(score), score, j);
  }
  /* Movies sharing no user score 0; the smallest ids come first. */
  for(j=0; j<pR->nItem && !mlrecTopKWorse(pOut, 0.0, j); j++){
    if( j!=iItem && s->aStamp[j]!=s->stamp ) mlrecTopKPush(pOut, 0.0, 0.0, j);
  }
  mlrecTopKSort(pOut);
  return SQLITE_OK;
}
