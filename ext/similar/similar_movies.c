/*
** similar_movies.c: the table-valued function similar_movies().
**
**     SELECT * FROM similar_movies(260, 10);
**       movieId  score              rank  corated
**       1196     0.832407355223373  1     190
**       1210     0.790638565561632  2     175
**       ...
**     SELECT m.title, s.score
**       FROM similar_movies(260, 10) s JOIN movies m USING (movieId)
**      ORDER BY s.rank;
**     SELECT * FROM similar_movies(260, 5, '{"genre": "Comedy"}');
**     SELECT * FROM similar_movies(193609, 5, '{"method": "content"}');
**     SELECT * FROM similar_movies(260, 5, '{"method": "hybrid",
**                                            "content": "embedding"}');
**
** similar_movies(movie_id [, k [, options]]) returns the k movies most
** similar to movie_id, best first; never movie_id itself.  corated is the
** number of users who rated both.  Options, one JSON object:
**
**   method   "ratings" (default): the cosine of the two movies' rating
**            vectors (knn.c), from the in-memory snapshot of the ratings
**            table, exactly scikit-learn's brute cosine kNN.  A movie
**            nobody rated gives no rows.
**            "content": the cosine of their content vectors (content.c),
**            for any movie of the movies table, rated or not.
**            "hybrid": (1 - content_weight) x ratings cosine +
**            content_weight x content cosine.
**   content  the content vectors: "tfidf" (default; genres and tags) or
**            "embedding" (the embeddings table)
**   content_weight   weight of content in "hybrid", 0 to 1, default 0.5
**   genre, movies    keep only movies of a genre / in a JSON array of ids
**            (filter.c)
**
** The content and hybrid methods return movies with a score above 0 only.
*/
#include "similar.h"
#include <string.h>

enum { METHOD_RATINGS, METHOD_CONTENT, METHOD_HYBRID };
static const char *const azMethod[] = { "ratings", "content", "hybrid", 0 };
/* in the order of MLREC_CONTENT_* */
static const char *const azSource[] = { "tfidf", "embedding", 0 };

/* The options of similar_movies(). */
typedef struct SimilarOptions SimilarOptions;
struct SimilarOptions {
  MlrecFilter filter;
  i64 eMethod;           /* METHOD_* */
  i64 eSource;           /* MLREC_CONTENT_* */
  double contentWeight;
};

#define SIM(F) .offset=offsetof(SimilarOptions, F)
static const MlrecOption aSimilarOption[] = {
  { "method",  'e', 0, 0, SIM(eMethod), METHOD_RATINGS, .azChoice=azMethod },
  { "content", 'e', 0, 0, SIM(eSource), MLREC_CONTENT_TFIDF,
                          .azChoice=azSource },
  { "content_weight", 'r', 0, 1, SIM(contentWeight), 0.5 },
  { "genre",   's', 0, 0, SIM(filter.zGenre) },
  { "movies",  'a', 0, 0, SIM(filter.zMovies) },
};
#define N_SIMILAR_OPTION (int)(sizeof(aSimilarOption)/sizeof(aSimilarOption[0]))

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
    rc = mlrecSimilar(pCur->pState, pR, iItem, &all,
                      (MlrecKnnScratch**)&pCur->pWork);
    for(i=0; rc==SQLITE_OK && i<all.n && pOut->n<pOut->k; i++){
      if( aAllow[all.a[i].idx] ) pOut->a[pOut->n++] = all.a[i];
    }
    mlrecTopKFree(&all);
  }
  sqlite3_free(aAllow);
  return rc;
}

/* Scores of a content or hybrid query, over the union of two catalogues. */
typedef struct Blend Blend;
struct Blend {
  i64 *aId;              /* the movies of either catalogue, ascending */
  int n;
  int *aFromV, *aFromR;  /* index in aId of each movie of V, of pR */
  double *aScore;        /* n scores */
};

static void blendFree(Blend *b){
  sqlite3_free(b->aId);
  sqlite3_free(b->aFromV);
  sqlite3_free(b->aScore);
  memset(b, 0, sizeof(*b));
}

/* Merge the ascending ids of V and (if pR) of pR into b. */
static int blendInit(Blend *b, const MlrecVectors *V, const MlrecRatings *pR){
  int nR = pR ? pR->nItem : 0;
  int i = 0, j = 0;
  i64 nMax = (i64)V->nItem + nR + 1;
  memset(b, 0, sizeof(*b));
  b->aId = sqlite3_malloc64(sizeof(i64)*nMax);
  b->aFromV = sqlite3_malloc64(sizeof(int)*nMax);
  b->aScore = sqlite3_malloc64(sizeof(double)*nMax);
  if( !b->aId || !b->aFromV || !b->aScore ) return SQLITE_NOMEM;
  b->aFromR = b->aFromV + V->nItem;
  while( i<V->nItem || j<nR ){
    i64 iId = j>=nR || (i<V->nItem && V->aItemId[i]<=pR->aItemId[j])
              ? V->aItemId[i] : pR->aItemId[j];
    if( i<V->nItem && V->aItemId[i]==iId ) b->aFromV[i++] = b->n;
    if( j<nR && pR->aItemId[j]==iId ) b->aFromR[j++] = b->n;
    b->aId[b->n++] = iId;
  }
  memset(b->aScore, 0, sizeof(double)*b->n);
  return SQLITE_OK;
}

/* Add w x the rating cosines of movie index iR of pR to the blend. */
static int addRatingCosines(MlrecTvfCursor *pCur, int iR, double w,
                            Blend *b){
  MlrecRatings *pR = pCur->pRatings;
  MlrecTopK all;
  int t, rc = mlrecTopKInit(&all, pR->nItem-1);
  if( rc==SQLITE_OK ){
    rc = mlrecSimilar(pCur->pState, pR, iR, &all,
                      (MlrecKnnScratch**)&pCur->pWork);
  }
  for(t=0; rc==SQLITE_OK && t<all.n; t++){
    b->aScore[b->aFromR[all.a[t].idx]] += w*all.a[t].score;
  }
  mlrecTopKFree(&all);
  return rc;
}

/*
** The k best movies by content (or hybrid) similarity into pTop (which is
** initialised here), over the catalogue left in b (b->aId maps the hits'
** indexes to ids).
*/
static int similarByContent(MlrecTvfCursor *pCur, const SimilarOptions *pOpt,
                            Blend *b, MlrecTopK *pTop, char **pzErr){
  MlrecRatings *pR = pCur->pRatings;
  MlrecVectors *V = 0;
  unsigned char *aAllow = 0;
  int bHybrid = pOpt->eMethod==METHOD_HYBRID;
  double w = bHybrid ? pOpt->contentWeight : 1.0;
  int iV, iR, j, rc;
  rc = mlrecContentVectors(pCur->pState, (int)pOpt->eSource, "similar_movies",
                           &V, pzErr);
  if( rc==SQLITE_OK ) rc = blendInit(b, V, bHybrid ? pR : 0);
  if( rc==SQLITE_OK ) rc = mlrecTopKInit(pTop, pCur->k < b->n ? (int)pCur->k
                                                              : b->n);
  if( rc!=SQLITE_OK ){
    mlrecVectorsUnref(V);
    return rc;
  }
  iV = mlrecFindId(V->aItemId, V->nItem, pCur->iArg);
  iR = bHybrid ? mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg) : -1;
  if( iV>=0 && w>0.0 ){
    double *aCos = sqlite3_malloc64(sizeof(double)*((i64)V->nItem+1));
    if( aCos==0 ) rc = SQLITE_NOMEM;
    else{
      mlrecContentSimilar(V, iV, aCos);
      for(j=0; j<V->nItem; j++) b->aScore[b->aFromV[j]] += w*aCos[j];
      sqlite3_free(aCos);
    }
  }
  mlrecVectorsUnref(V);
  if( rc==SQLITE_OK && iR>=0 && w<1.0 ){
    rc = addRatingCosines(pCur, iR, 1.0-w, b);
  }
  if( rc==SQLITE_OK && (iV>=0 || iR>=0) ){
    aAllow = sqlite3_malloc64((i64)b->n+1);
    if( aAllow==0 ) rc = SQLITE_NOMEM;
  }
  if( aAllow ){
    mlrecFilterMask(&pOpt->filter, b->aId, b->n, aAllow);
    for(j=0; j<b->n; j++){
      if( aAllow[j] && b->aScore[j]>0.0 && b->aId[j]!=pCur->iArg ){
        mlrecTopKPush(pTop, b->aScore[j], b->aScore[j], j);
      }
    }
    mlrecTopKSort(pTop);
    sqlite3_free(aAllow);
  }
  return rc;
}

/* The corated column of the rows: users who rated both movies. */
static void setCorated(MlrecTvfCursor *pCur){
  MlrecRatings *pR = pCur->pRatings;
  int iR = mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg);
  int t;
  for(t=0; t<pCur->nRow; t++){
    int jR = mlrecFindId(pR->aItemId, pR->nItem, pCur->aRow[t].iId);
    pCur->aRow[t].aExtra[0] = iR>=0 && jR>=0 ? mlrecCorated(pR, iR, jR) : 0;
    pCur->aRow[t].mExtra = 1;
  }
}

static int similarCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecRatings *pR = 0;
  SimilarOptions opt;
  MlrecTopK top;
  Blend b;
  int iItem, rc = mlrecTvfRatings(pCur, &pR, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  iItem = mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg);
  memset(&opt, 0, sizeof(opt));
  memset(&top, 0, sizeof(top));
  memset(&b, 0, sizeof(b));
  rc = mlrecOptionsDefault(aSimilarOption, N_SIMILAR_OPTION, &opt);
  if( rc==SQLITE_OK ){
    rc = mlrecParseOptions(pCur->pState->db, "similar_movies", pCur->pOptions,
                           aSimilarOption, N_SIMILAR_OPTION, &opt, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecFilterPrepare(pCur->pState, "similar_movies", &opt.filter,
                            pzErr);
  }
  if( rc==SQLITE_OK && opt.eMethod!=METHOD_RATINGS ){
    rc = similarByContent(pCur, &opt, &b, &top, pzErr);
    if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, b.aId);
  }else if( rc==SQLITE_OK && iItem>=0 ){
    rc = mlrecTopKInit(&top, pCur->k < pR->nItem-1 ? (int)pCur->k
                                                   : pR->nItem-1);
    if( rc==SQLITE_OK && opt.filter.bRestricted ){
      rc = similarFiltered(pCur, iItem, &opt.filter, &top);
    }else if( rc==SQLITE_OK ){
      rc = mlrecSimilar(pCur->pState, pR, iItem, &top,
                        (MlrecKnnScratch**)&pCur->pWork);
    }
    if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, pR->aItemId);
  }
  if( rc==SQLITE_OK && pCur->mExtra ) setCorated(pCur);
  mlrecTopKFree(&top);
  blendFree(&b);
  mlrecFilterClear(&opt.filter);
  return rc;
}

static void similarFreeWork(void *pWork){
  mlrecKnnScratchFree((MlrecKnnScratch*)pWork);
}

static const MlrecTvf similarMovies = {
  "similar_movies", "movie_id", "movieId", { "corated", 0 }, "260, 10",
  similarCompute, similarFreeWork
};

int mlrecRegisterSimilarMovies(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &similarMovies);
}
