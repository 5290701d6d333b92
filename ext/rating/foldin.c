/*
** foldin.c: users the rating model of train_mf() was not trained on.
**
**     SELECT train_mf();
**     INSERT INTO ratings VALUES (700, 1, 5.0, 0), (700, 2571, 4.5, 0);
**     SELECT predict(700, 260);                          -- personal at once
**     SELECT * FROM recommend(700, 10, '{"model": "rating"}');
**
** A user with ratings in the ratings table but no parameters in the model
** (added after training) is "folded in": the user's bias and factors are
** the ridge regression of the user's ratings against the model's fixed
** movie parameters,
**
**     minimise  sum over the user's ratings of movies the model knows of
**               (r - mu - b(u) - b(i) - p(u) . q(i))^2
**               + FOLD_REG_BIAS b(u)^2 + FOLD_REG_FACTOR |p(u)|^2
**
** solved exactly by a Cholesky factorisation of its (factors+1)-square
** normal equations (linalg.c).  The penalties are fixed rather than the
** model's own regularisation: SGD applies that once per rating (its
** objective is n times regularization for a user with n ratings), which
** fits a user with few ratings far too closely (README, "Recommendation
** quality", measures both).  The neighbourhood half of predict() folds the
** user in the same way, with its own baseline (neighbours.c).  Users the
** model was trained on keep their trained parameters.
**
** predict() keeps the last user folded in, per connection, in MlrecState
** (the model stays immutable), so that predict() over many movies of a new
** user solves once; see mlrecFoldFor() for when it is read again.
*/
#include "rating.h"
#include <math.h>
#include <string.h>

#define FOLD_REG_BIAS    10.0
#define FOLD_REG_FACTOR   5.0

/*
** Solve the bias and factors of a user who rated the n movies aId (ids)
** aRating, against model m, into pFold: rBias, aFactor (allocated by the
** caller, nFactor values) and nUsed, the number of ratings of movies m
** knows; with none, or if the system cannot be solved, nUsed is 0 and the
** rest is left alone.
*/
int mlrecFoldSolve(const MlrecModel *m, int n, const i64 *aId,
                   const float *aRating, MlrecFold *pFold){
  int f = m->nFactor, d = f+1, t, j, nUsed = 0;
  double *aA = sqlite3_malloc64(sizeof(double)*((i64)d*d + d));
  float *aRow = sqlite3_malloc64(sizeof(float)*(i64)d);
  double *aB = aA ? aA + (i64)d*d : 0;
  int rc = SQLITE_OK;
  pFold->nUsed = 0;
  if( aA==0 || aRow==0 ){
    rc = SQLITE_NOMEM;
    goto solve_out;
  }
  memset(aA, 0, sizeof(double)*((i64)d*d + d));
  aRow[0] = 1.0f;
  for(t=0; t<n; t++){
    int i = mlrecFindId(m->aItemId, m->nItem, aId[t]);
    double y;
    if( i<0 ) continue;
    memcpy(aRow+1, m->aItemFactor + (i64)i*f, sizeof(float)*f);
    y = aRating[t] - m->mu - m->aItemBias[i];
    mlrecAddOuter(aA, d, 1.0, aRow);
    for(j=0; j<d; j++) aB[j] += y*aRow[j];
    nUsed++;
  }
  if( nUsed==0 ) goto solve_out;
  aA[0] += FOLD_REG_BIAS;
  for(j=1; j<d; j++) aA[(i64)j*d+j] += FOLD_REG_FACTOR;
  if( mlrecCholesky(aA, d)!=SQLITE_OK ) goto solve_out;
  mlrecCholeskySolve(aA, d, aB);
  for(j=0; j<d && isfinite(aB[j]); j++){}
  if( j<d ) goto solve_out;
  pFold->rBias = aB[0];
  memcpy(pFold->aFactor, aB+1, sizeof(double)*f);
  pFold->nUsed = nUsed;
solve_out:
  sqlite3_free(aA);
  sqlite3_free(aRow);
  return rc;
}

void mlrecFoldFree(MlrecFold *p){
  if( p==0 ) return;
  mlrecModelUnref(p->pModel);
  sqlite3_free(p->aRatedId);
  sqlite3_free(p->aRated);
  sqlite3_free(p->aFactor);
  sqlite3_free(p->aKnnItem);
  sqlite3_free(p->aKnnResid);
  sqlite3_free(p);
}

/* True if pFold is the fold-in of user iUser into model m. */
static int sameFold(const MlrecFold *pFold, const MlrecModel *m, i64 iUser){
  return pFold && pFold->pModel==m && pFold->iUser==iUser;
}

/* True if pFold was folded from exactly the ratings of pHist. */
static int sameRatings(const MlrecFold *pFold, const MlrecHistory *pHist){
  return pFold->nRated==pHist->n
      && (pHist->n==0
       || (memcmp(pFold->aRatedId, pHist->aId, sizeof(i64)*pHist->n)==0
        && memcmp(pFold->aRated, pHist->aRating, sizeof(float)*pHist->n)==0));
}

/* Fold the user of pHist (the ratings of user iUser) into model m: a new
** MlrecFold in *ppOut. */
static int foldUser(MlrecModel *m, i64 iUser, const MlrecHistory *pHist,
                    MlrecFold **ppOut){
  MlrecFold *p = sqlite3_malloc64(sizeof(*p));
  int rc;
  *ppOut = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pModel = m;
  mlrecModelRef(m);
  p->iUser = iUser;
  p->nRated = pHist->n;
  p->aRatedId = sqlite3_malloc64(sizeof(i64)*((i64)pHist->n+1));
  p->aRated = sqlite3_malloc64(sizeof(float)*((i64)pHist->n+1));
  p->aFactor = sqlite3_malloc64(sizeof(double)*((i64)m->nFactor+1));
  rc = p->aFactor && p->aRatedId && p->aRated ? SQLITE_OK : SQLITE_NOMEM;
  if( rc==SQLITE_OK && pHist->n>0 ){
    memcpy(p->aRatedId, pHist->aId, sizeof(i64)*pHist->n);
    memcpy(p->aRated, pHist->aRating, sizeof(float)*pHist->n);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecFoldSolve(m, pHist->n, pHist->aId, pHist->aRating, p);
  }
  if( rc==SQLITE_OK && m->pNeighbours ){
    rc = mlrecNeighboursFold(m->pNeighbours, pHist->n, pHist->aId,
                             pHist->aRating, p);
  }
  if( rc!=SQLITE_OK ){
    mlrecFoldFree(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/*
** Read the ratings of user iUser, by movie id, into pHist: from snapshot pR
** if not NULL, else from the ratings table.  Sets *pbNone if the table
** cannot be read (a replica that holds only the model).
*/
static int readRated(MlrecState *p, const MlrecRatings *pR, i64 iUser,
                     MlrecHistory *pHist, int *pbNone, char **pzErr){
  MlrecHistoryReader rd;
  char *zWhy = 0;
  int rc;
  *pbNone = 0;
  if( pR ) return mlrecHistoryFromSnapshot(pR, iUser, pHist);
  rc = mlrecHistoryOpen(p, 0, &rd, &zWhy);
  sqlite3_free(zWhy);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc!=SQLITE_OK ){
    *pbNone = 1;
    return SQLITE_OK;
  }
  rc = mlrecHistoryRead(&rd, iUser, pHist, pzErr);
  mlrecHistoryClose(&rd);
  return rc;
}

/*
** Set *ppOut to the fold-in of user iUser into model m for predict(), from
** the user's ratings in snapshot pR (NULL: in the ratings table now), or
** to NULL if both halves of m were trained on the user.  If the ratings
** table cannot be read (a replica that holds only the model), *ppOut is
** NULL too: the user gets the non-personal answer.
**
** p keeps the last fold.  While the data version has not changed since its
** ratings were read outside a write transaction, it is current without a
** look at the table (the rule of ratings.c); otherwise the user's ratings
** are read again, by one statement that an index on the user column makes
** a lookup, and solved again only if they are not exactly those it was
** folded from.  Reading the whole
** snapshot instead would, inside a write transaction (INSERT ... SELECT
** predict(...)), read the whole table on every call.
*/
int mlrecFoldFor(MlrecState *p, MlrecModel *m, const MlrecRatings *pR,
                 i64 iUser, const MlrecFold **ppOut, char **pzErr){
  MlrecHistory hist;
  MlrecStamp stamp;
  int rc, bNone = 0;
  *ppOut = 0;
  if( mlrecFindId(m->aUserId, m->nUser, iUser)>=0
   && (m->pNeighbours==0 || mlrecNeighboursKnows(m->pNeighbours, iUser)) ){
    return SQLITE_OK;
  }
  rc = mlrecReadPin(p, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( pR==0 && sameFold(p->pFold, m, iUser)
   && mlrecStampHolds(p->db, &p->pFold->stamp) ){
    *ppOut = p->pFold;
    mlrecReadUnpin(p);
    return SQLITE_OK;
  }
  mlrecStampTake(p->db, &stamp);
  memset(&hist, 0, sizeof(hist));
  rc = readRated(p, pR, iUser, &hist, &bNone, pzErr);
  mlrecReadUnpin(p);
  if( rc==SQLITE_OK && !bNone ){
    /* p->pFold is looked at only now: reading ran SQL */
    if( !sameFold(p->pFold, m, iUser) || !sameRatings(p->pFold, &hist) ){
      mlrecFoldFree(p->pFold);
      p->pFold = 0;
      rc = foldUser(m, iUser, &hist, &p->pFold);
    }
    if( rc==SQLITE_OK ){
      p->pFold->stamp = stamp;
      p->pFold->stamp.bValid = stamp.bValid && pR==0;
      *ppOut = p->pFold;
    }
  }
  mlrecHistoryFree(&hist);
  return rc;
}
