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
** rated in snapshot pR.  A movie usually has the same index in both (the
** model was trained on this snapshot): check that first, search if not.
*/
static void markRated(const MlrecModel *m, const MlrecRatings *pR,
                      i64 iUser, unsigned char *aSeen){
  int u = mlrecFindId(pR->aUserId, pR->nUser, iUser);
  i64 k;
  if( u<0 ) return;
  for(k=pR->aUserStart[u]; k<pR->aUserStart[u+1]; k++){
    int j = pR->aUserItem[k];
    i64 iId = pR->aItemId[j];
    int i = j<m->nItem && m->aItemId[j]==iId ? j
            : mlrecFindId(m->aItemId, m->nItem, iId);
    if( i>=0 ) aSeen[i] = 1;
  }
}

/*
** The top k unseen movies of user pCur->iArg by model m.  The dot products
** of the user with every movie come from one vectorised pass; a movie that
** cannot enter the k best is turned away with one comparison, so nothing
** is sorted but the k winners.
*/
static int topUnseen(MlrecTvfCursor *pCur, const MlrecModel *m){
  int iUser = mlrecFindId(m->aUserId, m->nUser, pCur->iArg);
  unsigned char *aSeen = sqlite3_malloc64((i64)m->nItem+1);
  float *aDot = sqlite3_malloc64(sizeof(float)*((i64)m->nItem+1));
  double rUser = m->mu + (iUser>=0 ? m->aUserBias[iUser] : 0.0);
  MlrecTopK top;
  int rc, i;
  if( aSeen==0 || aDot==0 ){
    sqlite3_free(aSeen);
    sqlite3_free(aDot);
    return SQLITE_NOMEM;
  }
  memset(aSeen, 0, (size_t)m->nItem);
  markRated(m, pCur->pRatings, pCur->iArg, aSeen);
  if( iUser>=0 ){
    mlrecDotRows(m->aUserFactor + (i64)iUser*m->nFactor, m->aItemFactor,
                 m->nItem, m->nFactor, aDot);
  }else{
    memset(aDot, 0, sizeof(float)*(size_t)m->nItem);
  }
  rc = mlrecTopKInit(&top, pCur->k < m->nItem ? (int)pCur->k : m->nItem);
  for(i=0; rc==SQLITE_OK && i<m->nItem; i++){
    /* the sum of mlrecModelPredict(), in its order */
    double r = rUser + m->aItemBias[i];
    if( iUser>=0 ) r += aDot[i];
    if( aSeen[i] || (top.n==top.k && (top.k==0 || r<top.a[0].key)) ) continue;
    mlrecTopKPush(&top, r, mlrecModelClip(m, r), i);
  }
  sqlite3_free(aSeen);
  sqlite3_free(aDot);
  mlrecTopKSort(&top);
  if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, m->aItemId);
  mlrecTopKFree(&top);
  return rc;
}

static int recommendCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecModel *m = 0;
  int rc = mlrecCurrentModel(pCur->pState, &m, pzErr);
  if( rc==SQLITE_OK ) rc = topUnseen(pCur, m);
  mlrecModelUnref(m);
  return rc;
}

static const MlrecTvf recommendTvf = {
  "recommend", "user_id", "1, 10", recommendCompute, 0
};

int mlrecRegisterRecommend(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &recommendTvf);
}
