/*
** neighbours.c: the baseline-corrected item neighbourhood model that
** predict() blends with the matrix factorisation of train_mf() (Koren,
** "Factor in the Neighbors", 2010, the model of Surprise's KNNBaseline).
**
**     SELECT train_mf('{"knn_weight": 0.5, "neighbors": 40}');
**     SELECT predict(1, 260);    -- (1-w) MF + w kNN, clipped
**
** Baselines b(u,i) = mu + b(u) + b(i) are fitted by ten rounds of
** alternating ridge regression (penalties 15 on users, 10 on movies).  The
** similarity of movies i and j is the Pearson correlation of the rating
** residuals z = r - b over the users who rated both, shrunk towards 0 when
** few did:
**
**     s(i,j) = sum z(v,i) z(v,j) / sqrt(sum z(v,i)^2  sum z(v,j)^2)
**              * (n - 1) / (n - 1 + shrinkage)
**
** and the prediction for user u is the baseline corrected by the residuals
** of the `neighbors` movies u rated that are most similar to i (s > 0):
**
**     knn(u,i) = b(u,i) + sum s(i,j) z(u,j) / sum s(i,j)
**
** Nothing is precomputed beyond the residuals: s(i,j) is computed when
** needed by intersecting the two movies' (sorted) user lists, so a
** prediction costs tens of microseconds.
**
** A user the model was not fitted on is folded in (foldin.c): b(u) from the
** user's ratings now, against the fixed movie baselines, their residuals
** as z(u,j), and the correction divided by sum s(i,j) + FOLD_DAMPING.  Users
** and movies are found by id, since a model loaded from tables (persist.c)
** fits this half on the table as it is then, not as the factors saw it.
*/
#include "rating.h"
#include <math.h>
#include <string.h>

#define BASELINE_ROUNDS    10
#define BASELINE_REG_USER  15.0
#define BASELINE_REG_ITEM  10.0

/* A folded-in user's correction is divided by the sum of the similarities
** plus this: a neighbour of similarity 1 and residual 0 added, which keeps
** the few neighbours of a user with few ratings from over-correcting. */
#define FOLD_DAMPING        1.0

struct MlrecNeighbours {
  MlrecRatings *pR;      /* the training snapshot */
  i64 nNeighbour;
  double shrinkage;
  double mu;
  double *aUserBias;     /* nUser baselines */
  double *aItemBias;     /* nItem baselines */
  float *aUserResid;     /* residual of each rating, in user order */
  float *aItemResid;     /* the same, in movie order */
  double *aZi;           /* scratch: residuals of one movie, by user */
  unsigned char *aHas;   /* scratch: 1 for the users in aZi, else 0 */
};

void mlrecNeighboursFree(MlrecNeighbours *p){
  if( p==0 ) return;
  mlrecRatingsUnref(p->pR);
  sqlite3_free(p->aUserBias);
  sqlite3_free(p->aItemBias);
  sqlite3_free(p->aUserResid);
  sqlite3_free(p->aItemResid);
  sqlite3_free(p->aZi);
  sqlite3_free(p->aHas);
  sqlite3_free(p);
}

/* Fit the baselines by alternating ridge regressions. */
static int fitBaselines(MlrecNeighbours *p, MlrecInterrupt *pIntr){
  const MlrecRatings *pR = p->pR;
  int iRound, u, i, rc = SQLITE_OK;
  i64 k;
  for(iRound=0; rc==SQLITE_OK && iRound<BASELINE_ROUNDS; iRound++){
    for(i=0; rc==SQLITE_OK && i<pR->nItem; i++){
      double s = 0.0;
      for(k=pR->aItemStart[i]; rc==SQLITE_OK && k<pR->aItemStart[i+1]; k++){
        s += pR->aItemValue[k] - p->mu - p->aUserBias[pR->aItemUser[k]];
        rc = mlrecInterruptedEvery(pIntr, k);
      }
      p->aItemBias[i] = s/(BASELINE_REG_ITEM + (double)(pR->aItemStart[i+1]
                                                        - pR->aItemStart[i]));
    }
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      double s = 0.0;
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        s += pR->aUserValue[k] - p->mu - p->aItemBias[pR->aUserItem[k]];
        rc = mlrecInterruptedEvery(pIntr, k);
      }
      p->aUserBias[u] = s/(BASELINE_REG_USER + (double)(pR->aUserStart[u+1]
                                                        - pR->aUserStart[u]));
    }
  }
  return rc;
}

/* The residual of every rating, in both orders of the snapshot. */
static int computeResiduals(MlrecNeighbours *p, MlrecInterrupt *pIntr){
  const MlrecRatings *pR = p->pR;
  int u, i, rc = SQLITE_OK;
  i64 k;
  for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
    for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
      p->aUserResid[k] = (float)(pR->aUserValue[k] - p->mu - p->aUserBias[u]
                                 - p->aItemBias[pR->aUserItem[k]]);
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  for(i=0; rc==SQLITE_OK && i<pR->nItem; i++){
    for(k=pR->aItemStart[i]; rc==SQLITE_OK && k<pR->aItemStart[i+1]; k++){
      p->aItemResid[k] = (float)(pR->aItemValue[k] - p->mu - p->aItemBias[i]
                                 - p->aUserBias[pR->aItemUser[k]]);
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  return rc;
}

/*
** Fit the neighbourhood model on snapshot pR into *ppOut, stepping a probe
** on db so that sqlite3_interrupt() stops it.
*/
int mlrecNeighboursTrain(sqlite3 *db, MlrecRatings *pR, i64 nNeighbour,
                         double shrinkage, MlrecNeighbours **ppOut){
  MlrecNeighbours *p = sqlite3_malloc64(sizeof(*p));
  MlrecInterrupt intr;
  int rc;
  *ppOut = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pR = pR;
  pR->nRef++;
  p->nNeighbour = nNeighbour;
  p->shrinkage = shrinkage;
  p->mu = pR->rMean;
  p->aUserBias = sqlite3_malloc64(sizeof(double)*((i64)pR->nUser+1));
  p->aItemBias = sqlite3_malloc64(sizeof(double)*((i64)pR->nItem+1));
  p->aUserResid = sqlite3_malloc64(sizeof(float)*(pR->nRating+1));
  p->aItemResid = sqlite3_malloc64(sizeof(float)*(pR->nRating+1));
  p->aZi = sqlite3_malloc64(sizeof(double)*((i64)pR->nUser+1));
  p->aHas = sqlite3_malloc64((i64)pR->nUser+1);
  if( !p->aUserBias || !p->aItemBias || !p->aUserResid || !p->aItemResid
   || !p->aZi || !p->aHas ){
    mlrecNeighboursFree(p);
    return SQLITE_NOMEM;
  }
  memset(p->aUserBias, 0, sizeof(double)*pR->nUser);
  memset(p->aHas, 0, (size_t)pR->nUser);
  rc = mlrecInterruptBegin(db, &intr);
  if( rc==SQLITE_OK ){
    rc = fitBaselines(p, &intr);
    if( rc==SQLITE_OK ) rc = computeResiduals(p, &intr);
    mlrecInterruptEnd(&intr);
  }
  if( rc!=SQLITE_OK ){
    mlrecNeighboursFree(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/*
** The shrunk Pearson-baseline similarity of movie index j with the movie
** whose residuals are scattered by user in aZi (aHas marks its raters).
*/
static double similarity(const MlrecNeighbours *p, const double *aZi,
                         const unsigned char *aHas, int j){
  const MlrecRatings *pR = p->pR;
  double rDot = 0.0, rSqI = 0.0, rSqJ = 0.0;
  int n = 0;
  i64 k;
  for(k=pR->aItemStart[j]; k<pR->aItemStart[j+1]; k++){
    int v = pR->aItemUser[k];
    if( aHas[v] ){
      double zi = aZi[v], zj = p->aItemResid[k];
      rDot += zi*zj;
      rSqI += zi*zi;
      rSqJ += zj*zj;
      n++;
    }
  }
  if( n<2 || !(rSqI*rSqJ>0.0) ) return 0.0;
  return rDot/sqrt(rSqI*rSqJ) * (n-1)/(n-1+p->shrinkage);
}

/* True if the neighbourhood model was fitted on ratings of user iUser. */
int mlrecNeighboursKnows(const MlrecNeighbours *p, i64 iUser){
  return mlrecFindId(p->pR->aUserId, p->pR->nUser, iUser)>=0;
}

/*
** Fold a user who rated the n movies aId (ids) aRating into the
** neighbourhood model: the user's baseline bias, fitted like the others'
** (last round of fitBaselines(), against the fixed movie baselines), and
** the residual of each rating of a movie the model knows, into pFold.
*/
int mlrecNeighboursFold(const MlrecNeighbours *p, int n, const i64 *aId,
                        const float *aRating, MlrecFold *pFold){
  const MlrecRatings *pR = p->pR;
  double s = 0.0;
  int t, k = 0;
  pFold->aKnnItem = sqlite3_malloc64(sizeof(int)*((i64)n+1));
  pFold->aKnnResid = sqlite3_malloc64(sizeof(float)*((i64)n+1));
  if( pFold->aKnnItem==0 || pFold->aKnnResid==0 ) return SQLITE_NOMEM;
  for(t=0; t<n; t++){
    int j = mlrecFindId(pR->aItemId, pR->nItem, aId[t]);
    if( j<0 ) continue;
    pFold->aKnnItem[k] = j;
    pFold->aKnnResid[k] = aRating[t];
    s += aRating[t] - p->mu - p->aItemBias[j];
    k++;
  }
  pFold->nKnn = k;
  pFold->rKnnBias = s/(BASELINE_REG_USER + (double)k);
  for(t=0; t<k; t++){
    pFold->aKnnResid[t] = (float)(pFold->aKnnResid[t] - p->mu
                          - pFold->rKnnBias - p->aItemBias[pFold->aKnnItem[t]]);
  }
  return SQLITE_OK;
}

/*
** The baseline of movie index i (-1: unknown) for a user of bias rUser,
** corrected by the residuals aResid of the n movies aItem the user rated
** that are most similar to i, into *prOut (unclipped).  rDamp is added to
** the sum of the similarities that divides the correction.  The residuals
** of movie i are scattered by user into p's scratch arrays, so that each
** similarity costs one pass over the other movie's raters.
*/
static int neighbourhood(MlrecNeighbours *p, double rUser, int i, int n,
                         const int *aItem, const float *aResid, double rDamp,
                         double *prOut){
  const MlrecRatings *pR = p->pR;
  double r = p->mu + rUser, rNum = 0.0, rDen = 0.0;
  MlrecTopK top;
  i64 k;
  int t, rc;
  if( i>=0 ) r += p->aItemBias[i];
  *prOut = r;
  if( i<0 || n==0 ) return SQLITE_OK;
  rc = mlrecTopKInit(&top, (int)p->nNeighbour);
  if( rc!=SQLITE_OK ) return rc;
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    p->aZi[pR->aItemUser[k]] = p->aItemResid[k];
    p->aHas[pR->aItemUser[k]] = 1;
  }
  for(t=0; t<n; t++){
    int j = aItem[t];
    double s;
    if( j==i ) continue;
    s = similarity(p, p->aZi, p->aHas, j);
    if( s>0.0 ) mlrecTopKPush(&top, s, aResid[t], j);
  }
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    p->aHas[pR->aItemUser[k]] = 0;
  }
  for(t=0; t<top.n; t++){
    rNum += top.a[t].key*top.a[t].score;
    rDen += top.a[t].key;
  }
  mlrecTopKFree(&top);
  if( rDen>0.0 ) *prOut = r + rNum/(rDen + rDamp);
  return SQLITE_OK;
}

/*
** The neighbourhood prediction of user iUser for movie iItem (ids) into
** *prOut (unclipped): from the user's ratings in the snapshot the model
** was fitted on, or else from pFold (if not NULL), or else the baseline.
*/
int mlrecNeighboursPredict(MlrecNeighbours *p, const MlrecFold *pFold,
                           i64 iUser, i64 iItem, double *prOut){
  const MlrecRatings *pR = p->pR;
  int u = mlrecFindId(pR->aUserId, pR->nUser, iUser);
  int i = mlrecFindId(pR->aItemId, pR->nItem, iItem);
  if( u>=0 ){
    i64 k0 = pR->aUserStart[u];
    return neighbourhood(p, p->aUserBias[u], i,
                         (int)(pR->aUserStart[u+1] - k0), pR->aUserItem + k0,
                         p->aUserResid + k0, 0.0, prOut);
  }
  if( pFold && pFold->nKnn>0 ){
    return neighbourhood(p, pFold->rKnnBias, i, pFold->nKnn, pFold->aKnnItem,
                         pFold->aKnnResid, FOLD_DAMPING, prOut);
  }
  return neighbourhood(p, 0.0, i, 0, 0, 0, 0.0, prOut);
}

