/*
** model.c: the rating model's lifetime and its one prediction formula,
**
**     r(u,i) = mu + b(u) + b(i) + p(u) . q(i)
**
** for a user the model was trained on (parameters of the model) or one
** folded in (foldin.c: b(u) and p(u) solved from the user's ratings now),
** and predict()'s blend of it with the neighbourhood half:
**
**     predict(u,i) = clip((1 - knn_weight) r(u,i) + knn_weight knn(u,i))
**
** Every caller (predict(), recommend()'s rating model, the training log's
** held-out RMSE, mlrec_evaluate()) goes through mlrecModelPredict(), so
** what is measured is what is served.
*/
#include "rating.h"
#include <math.h>

void mlrecModelRef(MlrecModel *p){
  mlrecSharedRef(&p->shared);
}

void mlrecModelUnref(MlrecModel *p){
  if( p==0 || !mlrecSharedUnref(&p->shared) ) return;
  sqlite3_free(p->aUserId);
  sqlite3_free(p->aItemId);
  sqlite3_free(p->aUserBias);
  sqlite3_free(p->aItemBias);
  sqlite3_free(p->aUserFactor);
  sqlite3_free(p->aItemFactor);
  sqlite3_free(p->aLog);
  sqlite3_free(p->zOptions);
  mlrecNeighboursFree(p->pNeighbours);
  sqlite3_free(p);
}

/*
** The factor model's rating of movie index iItem (-1: not seen in
** training) for user index iUser of the model, or, if iUser is -1, for the
** folded-in user pFold; with neither (or a fold that used no rating), the
** mean plus the movie's bias.
*/
double mlrecModelPredict(const MlrecModel *m, int iUser,
                         const MlrecFold *pFold, int iItem){
  const float *q = iItem>=0 ? m->aItemFactor + (i64)iItem*m->nFactor : 0;
  double r = m->mu;
  int k;
  if( iUser<0 && (pFold==0 || pFold->nUsed==0) ) pFold = 0;
  if( iUser>=0 ) r += m->aUserBias[iUser];
  else if( pFold ) r += pFold->rBias;
  if( iItem>=0 ) r += m->aItemBias[iItem];
  if( q && iUser>=0 ){
    r += mlrecDot(m->aUserFactor + (i64)iUser*m->nFactor, q, m->nFactor);
  }else if( q && pFold ){
    double rDot = 0.0;
    for(k=0; k<m->nFactor; k++) rDot += pFold->aFactor[k]*q[k];
    r += rDot;
  }
  return r;
}

/* Clip a prediction to the rating scale of the training data. */
double mlrecModelClip(const MlrecModel *m, double r){
  return r<m->rMin ? m->rMin : r>m->rMax ? m->rMax : r;
}

/*
** predict(): (1 - knn_weight) x the factor model + knn_weight x the
** neighbourhood model, clipped to the rating scale, for user iUser and
** movie iItem (ids).  pFold is the fold-in of the user (mlrecFoldFor()),
** NULL if the model was trained on the user.  The neighbourhood half
** borrows the scratch of connection p (a nested call would make its own)
** and reads the rows of a loaded model on p's connection.  An error (for
** function zFunc) if the result is not a finite number: parameters that
** overflow give no NaN or infinity, which would reach results as NULL or
** as invalid JSON.
*/
int mlrecPredictRating(MlrecState *p, const MlrecModel *m,
                       const MlrecFold *pFold, i64 iUser, i64 iItem,
                       double *prOut, const char *zFunc, char **pzErr){
  int u = mlrecFindId(m->aUserId, m->nUser, iUser);
  int i = mlrecFindId(m->aItemId, m->nItem, iItem);
  double r = mlrecModelPredict(m, u, pFold, i);
  if( m->pNeighbours ){
    MlrecNeighbourScratch *pScratch = p->pNeighbourScratch;
    double w = m->opt.knnWeight, rKnn;
    int rc;
    p->pNeighbourScratch = 0;
    rc = mlrecNeighboursPredict(m->pNeighbours, p->db, &pScratch, pFold,
                                iUser, iItem, &rKnn, pzErr);
    if( p->pNeighbourScratch==0 ) p->pNeighbourScratch = pScratch;
    else mlrecNeighbourScratchFree(pScratch);
    if( rc!=SQLITE_OK ) return rc;
    r = (1.0-w)*r + w*rKnn;
  }
  *prOut = mlrecModelClip(m, r);
  if( isfinite(*prOut) ) return SQLITE_OK;
  mlrecSetError(pzErr, "%s: the prediction for user %lld and movie %lld is "
                "not a finite number (the model's parameters overflow); train "
                "it again, or import smaller factors", zFunc, iUser, iItem);
  return SQLITE_ERROR;
}
