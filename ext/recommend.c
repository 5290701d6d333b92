/*
** recommend.c: the table-valued function recommend().
**
**     SELECT * FROM recommend(1, 10);
**     SELECT m.title, r.score
**       FROM recommend(1, 10) r JOIN movies m USING (movieId)
**      ORDER BY r.rank;
**
** recommend(user_id [, k]) returns the k movies with the highest predicted
** rating (the model of train_mf(), trained with default options on first
** use) among the movies the user has NOT rated.  "Rated" is read from the
** ratings table as it is now, so a movie rated after training is never
** recommended back.  score is predict(user_id, movieId): clipped to the
** rating scale, while the ranking uses the unclipped prediction.
**
** A user the model has not seen gets the movies with the highest mean +
** movie bias: the best non-personalised guess, not an error.
*/
#include "mlrec.h"
#include <string.h>

/*
** Mark in aSeen (one byte per movie of model m) the movies that user iUser
** rated in snapshot pR.
*/
static void markRated(const MlrecModel *m, const MlrecRatings *pR,
                      i64 iUser, unsigned char *aSeen){
  int u = mlrecFindId(pR->aUserId, pR->nUser, iUser);
  i64 k;
  if( u<0 ) return;
  for(k=pR->aUserStart[u]; k<pR->aUserStart[u+1]; k++){
    int i = mlrecFindId(m->aItemId, m->nItem, pR->aItemId[pR->aUserItem[k]]);
    if( i>=0 ) aSeen[i] = 1;
  }
}

/* The top k unseen movies of user pCur->iArg by model m. */
static int topUnseen(MlrecTvfCursor *pCur, const MlrecModel *m){
  int iUser = mlrecFindId(m->aUserId, m->nUser, pCur->iArg);
  unsigned char *aSeen = sqlite3_malloc64((i64)m->nItem+1);
  MlrecTopK top;
  int rc, i;
  if( aSeen==0 ) return SQLITE_NOMEM;
  memset(aSeen, 0, (size_t)m->nItem);
  markRated(m, pCur->pRatings, pCur->iArg, aSeen);
  rc = mlrecTopKInit(&top, pCur->k < m->nItem ? (int)pCur->k : m->nItem);
  for(i=0; rc==SQLITE_OK && i<m->nItem; i++){
    double r;
    if( aSeen[i] ) continue;
    r = mlrecModelPredict(m, iUser, i);
    mlrecTopKPush(&top, r, mlrecModelClip(m, r), i);
  }
  sqlite3_free(aSeen);
  mlrecTopKSort(&top);
  if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, m->aItemId);
  mlrecTopKFree(&top);
  return rc;
}

/*
** The cursor takes the model at its first xFilter and keeps it, so that one
** statement uses one model even if train_mf() runs while it is open (e.g.
** between the rows of a lateral join).
*/
static int recommendCompute(MlrecTvfCursor *pCur, char **pzErr){
  if( pCur->pWork==0 ){
    MlrecModel *m = 0;
    int rc = mlrecCurrentModel(pCur->pState, &m, pzErr);
    if( rc!=SQLITE_OK ) return rc;
    pCur->pWork = m;
  }
  return topUnseen(pCur, (MlrecModel*)pCur->pWork);
}

static void recommendFreeWork(void *pWork){
  mlrecModelUnref((MlrecModel*)pWork);
}

static const MlrecTvf recommendTvf = {
  "recommend", "user_id", "1, 10", recommendCompute, recommendFreeWork
};

int mlrecRegisterRecommend(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &recommendTvf);
}
