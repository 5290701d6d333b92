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
*/
#include "mlrec.h"
#include <math.h>
#include <string.h>

#define BASELINE_ROUNDS    10
#define BASELINE_REG_USER  15.0
#define BASELINE_REG_ITEM  10.0

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

/*
** The neighbourhood prediction for dense indexes (u, i) of the training
** snapshot, -1 for unknown, into *prOut (unclipped).  The residuals of
** movie i are scattered by user into p's scratch arrays, so that each
** similarity costs one pass over the other movie's raters.
*/
int mlrecNeighboursPredict(MlrecNeighbours *p, int u, int i, double *prOut){
  const MlrecRatings *pR = p->pR;
  double r = p->mu, rNum = 0.0, rDen = 0.0;
  MlrecTopK top;
  i64 k;
  int t, rc;
  if( u>=0 ) r += p->aUserBias[u];
  if( i>=0 ) r += p->aItemBias[i];
  *prOut = r;
  if( u<0 || i<0 ) return SQLITE_OK;
  rc = mlrecTopKInit(&top, (int)p->nNeighbour);
  if( rc!=SQLITE_OK ) return rc;
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    p->aZi[pR->aItemUser[k]] = p->aItemResid[k];
    p->aHas[pR->aItemUser[k]] = 1;
  }
  for(k=pR->aUserStart[u]; k<pR->aUserStart[u+1]; k++){
    int j = pR->aUserItem[k];
    double s;
    if( j==i ) continue;
    s = similarity(p, p->aZi, p->aHas, j);
    if( s>0.0 ) mlrecTopKPush(&top, s, p->aUserResid[k], j);
  }
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    p->aHas[pR->aItemUser[k]] = 0;
  }
  for(t=0; t<top.n; t++){
    rNum += top.a[t].key*top.a[t].score;
    rDen += top.a[t].key;
  }
  mlrecTopKFree(&top);
  if( rDen>0.0 ) *prOut = r + rNum/rDen;
  return SQLITE_OK;
}

/*
** predict(): (1 - knn_weight) x the factor model + knn_weight x the
** neighbourhood model, clipped to the rating scale.
*/
int mlrecPredictRating(const MlrecModel *m, int iUser, int iItem,
                       double *prOut){
  double r = mlrecModelPredict(m, iUser, iItem);
  if( m->pNeighbours ){
    double w = m->opt.knnWeight, rKnn;
    int rc = mlrecNeighboursPredict(m->pNeighbours, iUser, iItem, &rKnn);
    if( rc!=SQLITE_OK ) return rc;
    r = (1.0-w)*r + w*rKnn;
  }
  *prOut = mlrecModelClip(m, r);
  return SQLITE_OK;
}
