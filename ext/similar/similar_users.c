/*
** similar_users.c: the table-valued function similar_users().
**
**     SELECT * FROM similar_users(1, 5);
**       userId  score              rank  corated
**       ...
**     SELECT s.userId, s.score FROM similar_users(1, 10) s ORDER BY s.rank;
**
** similar_users(user_id [, k]) returns the k users most similar to user_id,
** best first, never user_id itself: the cosine of their rating vectors over
** the movies, exactly as scikit-learn's NearestNeighbors(metric="cosine",
** algorithm="brute") ranks them on the user x movie matrix of raw ratings
** (missing = 0).  Ties (scores equal to 12 decimal places) go to the smaller
** userId; users who share no movie with user_id (cosine 0) fill the list
** when fewer than k share one.  corated is the number of movies both rated.
** A user with no ratings gives no rows.
**
** HOW IT WORKS.  The item-item kNN of knn.c on the transposed snapshot
** (mlrecRatingsByUser(): users in the place of movies, borrowing the
** snapshot's two layouts), so a query costs what similar_movies() costs,
** and a statement that asks for every user in order is a sweep (sweep.c).
*/
#include "similar.h"

static int similarUsersCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecRatings *pR = 0, *pT = 0;
  MlrecTopK top;
  int iUser, t, rc;
  if( pCur->pOptions ){
    mlrecSetError(pzErr, "similar_users: takes no options (its third "
                  "argument must be NULL or absent)");
    return SQLITE_ERROR;
  }
  rc = mlrecTvfRatings(pCur, &pR, pzErr);
  if( rc==SQLITE_OK ) rc = mlrecRatingsByUser(pCur->pState->db, pR, &pT);
  if( rc!=SQLITE_OK ) return rc;
  iUser = mlrecFindId(pT->aItemId, pT->nItem, pCur->iArg);
  if( iUser<0 ) return SQLITE_OK;
  rc = mlrecTopKInit(&top, pCur->k < pT->nItem-1 ? (int)pCur->k : pT->nItem-1);
  if( rc==SQLITE_OK ){
    rc = mlrecSimilar(pCur->pState, pT, iUser, &top,
                      (MlrecKnnScratch**)&pCur->pWork);
  }
  if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, pT->aItemId);
  for(t=0; rc==SQLITE_OK && pCur->mExtra && t<top.n; t++){
    pCur->aRow[t].aExtra[0] = mlrecCorated(pT, iUser, top.a[t].idx);
    pCur->aRow[t].mExtra = 1;
  }
  mlrecTopKFree(&top);
  return rc;
}

static void similarUsersFreeWork(void *pWork){
  mlrecKnnScratchFree((MlrecKnnScratch*)pWork);
}

static const MlrecTvf similarUsers = {
  "similar_users", "user_id", "userId", { "corated", 0 }, "1, 10",
  similarUsersCompute, similarUsersFreeWork
};

int mlrecRegisterSimilarUsers(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &similarUsers);
}
