/*
** similar_movies.c: the table-valued function similar_movies().
**
**     SELECT * FROM similar_movies(260, 10);
**       movieId  score              rank  corated
**       1196     0.832407355223373  1     188
**       1210     0.790638565561632  2     169
**       ...
**     SELECT m.title, s.score
**       FROM similar_movies(260, 10) s JOIN movies m USING (movieId)
**      ORDER BY s.rank;
**     SELECT * FROM similar_movies(260, 5, '{"genre": "Comedy"}');
**
** similar_movies(movie_id [, k [, options]]) returns the k movies whose
** rating vectors have the largest cosine similarity with movie_id's
** (knn.c), best first.  The query movie is never returned; a movie nobody
** rated gives no rows.  corated is the number of users who rated both.
** The neighbours are computed from the in-memory snapshot of the ratings
** table (ratings.c), read on first use and again whenever the table
** changes, so answers are never stale.
**
** Options, one JSON object: "genre" and "movies" keep only the movies of a
** genre or in a JSON array of ids (filter.c).
*/
#include "filter.h"
#include <string.h>

static const MlrecOption aSimilarOption[] = {
  { "genre",  's', 0, 0, offsetof(MlrecFilter, zGenre) },
  { "movies", 'a', 0, 0, offsetof(MlrecFilter, zMovies) },
};
#define N_SIMILAR_OPTION (int)(sizeof(aSimilarOption)/sizeof(aSimilarOption[0]))

/* Number of users who rated both movie indexes i and j of pR. */
static i64 coratedCount(const MlrecRatings *pR, int i, int j){
  i64 a = pR->aItemStart[i], aEnd = pR->aItemStart[i+1];
  i64 b = pR->aItemStart[j], bEnd = pR->aItemStart[j+1];
  i64 n = 0;
  while( a<aEnd && b<bEnd ){
    int va = pR->aItemUser[a], vb = pR->aItemUser[b];
    n += va==vb;
    a += va<=vb;
    b += vb<=va;
  }
  return n;
}

/*
** The k neighbours of iItem that the filter allows, into pOut: all
** neighbours are ranked (the filter may reject many), then the allowed
** ones kept in order.
*/
static int similarFiltered(MlrecTvfCursor *pCur, int iItem,
                           const MlrecFilter *pFilter, MlrecTopK *pOut){
  MlrecRatings *pR = pCur->pRatings;
  unsigned char *aAllow = sqlite3_malloc64((i64)pR->nItem+1);
  MlrecTopK all;
  int i, rc = aAllow ? mlrecTopKInit(&all, pR->nItem-1) : SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    mlrecFilterMask(pFilter, pR->aItemId, pR->nItem, aAllow);
    rc = mlrecSimilar(pR, iItem, &all, (MlrecKnnScratch**)&pCur->pWork);
    for(i=0; rc==SQLITE_OK && i<all.n && pOut->n<pOut->k; i++){
      if( aAllow[all.a[i].idx] ) pOut->a[pOut->n++] = all.a[i];
    }
    mlrecTopKFree(&all);
  }
  sqlite3_free(aAllow);
  return rc;
}

static int similarCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecRatings *pR = pCur->pRatings;
  int iItem = mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg);
  MlrecFilter filter;
  MlrecTopK top;
  int i, rc;
  memset(&filter, 0, sizeof(filter));
  memset(&top, 0, sizeof(top));
  rc = mlrecParseOptions(pCur->pState->db, "similar_movies", pCur->pOptions,
                         aSimilarOption, N_SIMILAR_OPTION, &filter, pzErr);
  if( rc==SQLITE_OK ){
    rc = mlrecFilterPrepare(pCur->pState, "similar_movies", &filter, pzErr);
  }
  if( rc==SQLITE_OK && iItem>=0 ){
    rc = mlrecTopKInit(&top, pCur->k < pR->nItem-1 ? (int)pCur->k
                                                   : pR->nItem-1);
    if( rc==SQLITE_OK && filter.bRestricted ){
      rc = similarFiltered(pCur, iItem, &filter, &top);
    }else if( rc==SQLITE_OK ){
      rc = mlrecSimilar(pR, iItem, &top, (MlrecKnnScratch**)&pCur->pWork);
    }
    if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, pR->aItemId);
    for(i=0; rc==SQLITE_OK && pCur->bExtra && i<top.n; i++){
      pCur->aRow[i].iExtra = coratedCount(pR, iItem, top.a[i].idx);
      pCur->aRow[i].bExtra = 1;
    }
  }
  mlrecTopKFree(&top);
  mlrecFilterClear(&filter);
  return rc;
}

static void similarFreeWork(void *pWork){
  mlrecKnnScratchFree((MlrecKnnScratch*)pWork);
}

static const MlrecTvf similarMovies = {
  "similar_movies", "movie_id", "corated", "260, 10", similarCompute,
  similarFreeWork
};

int mlrecRegisterSimilarMovies(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &similarMovies);
}
