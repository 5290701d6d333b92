/*
** similar_movies.c: the table-valued function similar_movies().
**
**     SELECT * FROM similar_movies(260, 10);
**       movieId  score              rank
**       1196     0.785292765637836  1
**       1210     0.708935006268373  2
**       ...
**     SELECT m.title, s.score
**       FROM similar_movies(260, 10) s JOIN movies m USING (movieId)
**      ORDER BY s.rank;
**
** similar_movies(movie_id [, k]) returns the k movies whose rating vectors
** have the largest cosine similarity with movie_id's (knn.c), best first.
** The query movie is never returned; a movie nobody rated gives no rows.
** The neighbours are computed from the in-memory snapshot of the ratings
** table (ratings.c), read on first use and again whenever the table
** changes, so answers are never stale.
*/
#include "mlrec.h"

static int similarCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecRatings *pR = pCur->pRatings;
  int iItem = mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg);
  MlrecTopK top;
  int rc;
  (void)pzErr;
  if( iItem<0 ) return SQLITE_OK;
  rc = mlrecTopKInit(&top, pCur->k < pR->nItem-1 ? (int)pCur->k : pR->nItem-1);
  if( rc==SQLITE_OK ){
    rc = mlrecSimilar(pR, iItem, &top, (MlrecKnnScratch**)&pCur->pWork);
  }
  if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, pR->aItemId);
  mlrecTopKFree(&top);
  return rc;
}

static void similarFreeWork(void *pWork){
  mlrecKnnScratchFree((MlrecKnnScratch*)pWork);
}

static const MlrecTvf similarMovies = {
  "similar_movies", "movie_id", "260, 10", similarCompute, similarFreeWork
};

int mlrecRegisterSimilarMovies(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &similarMovies);
}
