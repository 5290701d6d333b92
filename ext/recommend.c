/*
** recommend.c: the table-valued function recommend().
**
**     SELECT * FROM recommend(1, 10);
**     SELECT m.title, r.score, b.title AS because
**       FROM recommend(1, 10) r JOIN movies m USING (movieId)
**       LEFT JOIN movies b ON b.movieId = r.because
**      ORDER BY r.rank;
**     SELECT * FROM recommend(1, 10, '{"genre": "Comedy"}');
**     SELECT * FROM recommend(1, 10, '{"model": "rating"}');
**
** recommend(user_id [, k [, options]]) returns the k best movies for a user
** among those the user has NOT rated, best first.  "Rated" is read from
** the ratings table as it is when the user's rows are computed, by an index
** lookup, for every model alike: a movie rated after training, or between
** two rows of a lateral join, is never recommended back.  Options, one JSON
** object:
**
**   model          "ranking" (default): the model of train_ranker()
**                  (ranker.c), which folds the user in from the ratings
**                  the user has now; score is its blended score.  (The
**                  default is "rating" for a connection that serves
**                  factors imported with mlrec_import_factors() and holds
**                  no ranking model: those factors then rank.)
**                  "rating": the highest predictions of train_mf(); score
**                  is predict(user_id, movieId).
**                  "popular": the most rated movies; score is the number
**                  of ratings.
**   content        (ranking model only) where movies the model was not
**                  trained on get their content, to be placed by it
**                  (cold.c): "tfidf" (the default when the movies table
**                  exists: genres and the title's decade), "embedding"
**                  (the embeddings table), or "none" (the default
**                  otherwise): the model's movies only.
**   cold_below     (ranking model, with content) movies with fewer
**                  ratings than this are placed by content too; default
**                  1: only the movies without any
**   genre, movies  keep only movies of that genre / in that JSON array of
**                  ids (filter.c)
**   include_rated  true: rated movies are candidates too
**
** because (ranking model only, NULL otherwise) is the movie the user rated
** that contributed most to the score, before recency weights; for a movie
** placed by content, the rated movie most like it, weighed by rating.  Each model is loaded from the saved
** model 'default' on first use, if the database holds one, else trained
** with default options.  A user the ranking model cannot place (no rating
** of a movie it knows) gets the most rated movies.  The rating model folds
** a user it was not trained on in from the ratings the user has now
** (foldin.c); one with no rating of a movie it knows gets the highest mean
** + movie bias.
*/
#include "recommend.h"
#include <math.h>
#include <string.h>

/* The models recommend() and mlrec_evaluate() rank with (MLREC_RANK_*). */
const char *const mlrecRankModels[] = { "ranking", "rating", "popular", 0 };

/* The sources of option "content" (MLREC_COLD_*). */
const char *const mlrecContentSources[] = { "tfidf", "embedding", "none", 0 };

/* The options of recommend(). */
typedef struct RecommendOptions RecommendOptions;
struct RecommendOptions {
  i64 eModel;
  i64 eContent;
  i64 nColdBelow;
  MlrecFilter filter;
  i64 bIncludeRated;
};

#define REC(F) .offset=offsetof(RecommendOptions, F)
static const MlrecOption aRecommendOption[] = {
  { "model",         'e', 0, 0, REC(eModel), MLREC_RANK_DEFAULT,
                                .azChoice=mlrecRankModels },
  { "content",       'e', 0, 0, REC(eContent), MLREC_COLD_AUTO,
                                .azChoice=mlrecContentSources },
  { "cold_below",    'i', 1, 1000000000, REC(nColdBelow), 0 },
  { "genre",         's', 0, 0, REC(filter.zGenre) },
  { "movies",        'a', 0, 0, REC(filter.zMovies) },
  { "include_rated", 'b', 0, 1, REC(bIncludeRated), 0 },
};
#define N_RECOMMEND_OPTION \
  (int)(sizeof(aRecommendOption)/sizeof(aRecommendOption[0]))

/*
** Resolve *peModel, if it is MLREC_RANK_DEFAULT (no "model" option), to the
** model that serves the connection: the ranking model, unless the
** connection serves imported factors and holds no ranking model; then the
** rating model, which they are.  A connection that holds no model at all
** first loads the saved model 'default', if any (persist.c).
*/
int mlrecDefaultRankModel(MlrecState *p, i64 *peModel, char **pzErr){
  if( *peModel!=MLREC_RANK_DEFAULT ) return SQLITE_OK;
  if( p->pModel==0 && p->pRanker==0 && p->xAutoLoad ){
    int rc = p->xAutoLoad(p, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
  *peModel = p->pRanker==0 && p->pModel
             && p->modelOrigin.eOrigin==MLREC_ORIGIN_IMPORTED
             ? MLREC_RANK_RATING : MLREC_RANK_RANKING;
  return SQLITE_OK;
}

/*
** Check the content options of pSpec against its model (resolved) and
** resolve "content" when absent: TF-IDF for the ranking model if the
** movies table exists, else none.
*/
int mlrecRankSpecCheck(MlrecState *p, MlrecRankSpec *pSpec, char **pzErr){
  int bMovies = 0, rc = SQLITE_OK;
  if( pSpec->eModel!=MLREC_RANK_RANKING ){
    if( pSpec->eContent!=MLREC_COLD_AUTO
     && pSpec->eContent!=MLREC_COLD_NONE ){
      mlrecSetError(pzErr, "%s: option \"content\" needs the ranking model "
                    "(the %s model ranks only the movies it was trained on)",
                    pSpec->zFunc, mlrecRankModels[pSpec->eModel]);
      return SQLITE_ERROR;
    }
    pSpec->eContent = MLREC_COLD_NONE;
  }else if( pSpec->eContent==MLREC_COLD_AUTO ){
    rc = mlrecTableHas(p->db, p->cfg.zMovies, 0, &bMovies);
    pSpec->eContent = bMovies ? MLREC_COLD_TFIDF : MLREC_COLD_NONE;
  }
  if( rc==SQLITE_OK && pSpec->nColdBelow>0
   && pSpec->eContent==MLREC_COLD_NONE ){
    mlrecSetError(pzErr, "%s: option \"cold_below\" needs the ranking model "
                  "with content (\"content\": \"tfidf\" or \"embedding\")",
                  pSpec->zFunc);
    return SQLITE_ERROR;
  }
  if( pSpec->nColdBelow==0 ) pSpec->nColdBelow = 1;
  return rc;
}

/* Take a reference to the model of pSpec, the one pinned in pPin if any
** (pinning it there otherwise), training or loading it if needed. */
static int takeModel(MlrecState *p, MlrecRatings *pR, int eModel,
                     MlrecRecommendPin *pPin, MlrecRecommender *pRec,
                     char **pzErr){
  int rc = SQLITE_OK;
  if( eModel==MLREC_RANK_RANKING ){
    if( pPin && pPin->pRanker ){
      mlrecRankerRef(pRec->pRanker = pPin->pRanker);
    }else{
      rc = mlrecCurrentRanker(p, &pRec->pRanker, pzErr);
      if( rc==SQLITE_OK && pPin ) mlrecRankerRef(pPin->pRanker = pRec->pRanker);
    }
    if( rc==SQLITE_OK ){
      pRec->nItem = pRec->pRanker->nItem;
      pRec->aItemId = pRec->pRanker->aItemId;
    }
  }else if( eModel==MLREC_RANK_RATING ){
    if( pPin && pPin->pModel ){
      mlrecModelRef(pRec->pModel = pPin->pModel);
    }else{
      rc = mlrecCurrentModel(p, &pRec->pModel, pzErr);
      if( rc==SQLITE_OK && pPin ) mlrecModelRef(pPin->pModel = pRec->pModel);
    }
    if( rc==SQLITE_OK ){
      pRec->nItem = pRec->pModel->nItem;
      pRec->aItemId = pRec->pModel->aItemId;
    }
  }else{
    pRec->nItem = pR->nItem;
    pRec->aItemId = pR->aItemId;
    pRec->pRatings = pR;
    pR->nRef++;
  }
  pRec->nAll = pRec->nItem;
  return rc;
}

/* Read the content of pSpec and add the movies the ranking model lacks
** after its own: the ids become a copy, model ids then new ids. */
static int addColdMovies(MlrecState *p, const MlrecRankSpec *pSpec,
                         MlrecRecommender *pRec, char **pzErr){
  MlrecVectors *pVec = 0;
  int nNew;
  int rc = mlrecContentVectors(p, (int)pSpec->eContent, pSpec->zFunc, &pVec,
                               pzErr);
  if( rc==SQLITE_OK ){
    rc = mlrecColdMapFor(p, pRec->pRanker, pVec, (int)pSpec->eContent,
                         &pRec->pCold, pzErr);
  }
  mlrecVectorsUnref(pVec);
  if( rc!=SQLITE_OK ) return rc;
  pRec->nColdBelow = (int)pSpec->nColdBelow;
  nNew = mlrecColdNewCount(pRec->pCold);
  pRec->nAll = pRec->nItem + nNew;
  pRec->aAllId = sqlite3_malloc64(sizeof(i64)*((i64)pRec->nAll+1));
  if( pRec->aAllId==0 ) return SQLITE_NOMEM;
  memcpy(pRec->aAllId, pRec->aItemId, sizeof(i64)*pRec->nItem);
  memcpy(pRec->aAllId+pRec->nItem, mlrecColdNewIds(pRec->pCold),
         sizeof(i64)*nNew);
  pRec->aItemId = pRec->aAllId;
  return SQLITE_OK;
}

/*
** Get ready to rank as pSpec says (checked by mlrecRankSpecCheck()): take
** a reference to the model, add the movies placed by content, prepare the
** history statement, allocate arrays and apply the filter.  pR is the
** ratings snapshot whose counts the "popular" model ranks by; the other
** models need none (NULL).
*/
int mlrecRecommenderOpen(MlrecState *p, MlrecRatings *pR,
                         const MlrecRankSpec *pSpec, MlrecRecommendPin *pPin,
                         MlrecRecommender *pRec, char **pzErr){
  int rc;
  memset(pRec, 0, sizeof(*pRec));
  pRec->eModel = (int)pSpec->eModel;
  rc = takeModel(p, pR, pRec->eModel, pPin, pRec, pzErr);
  if( rc==SQLITE_OK && pRec->pRanker && pSpec->eContent!=MLREC_COLD_NONE ){
    rc = addColdMovies(p, pSpec, pRec, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecHistoryOpen(p, pRec->pRanker && pRec->pRanker->bTimed,
                          &pRec->reader, pzErr);
  }
  if( rc==SQLITE_OK ){
    pRec->aScore = sqlite3_malloc64(sizeof(double)*((i64)pRec->nAll+1));
    pRec->aSeen = sqlite3_malloc64(2*(i64)pRec->nAll+1);
    if( pRec->aScore==0 || pRec->aSeen==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    /* each part of the ids is ascending */
    pRec->aAllow = pRec->aSeen + pRec->nAll;
    mlrecFilterMask(pSpec->pFilter, pRec->aItemId, pRec->nItem,
                    pRec->aAllow);
    mlrecFilterMask(pSpec->pFilter, pRec->aItemId+pRec->nItem,
                    pRec->nAll-pRec->nItem, pRec->aAllow+pRec->nItem);
  }
  return rc;
}

void mlrecRecommenderClose(MlrecRecommender *pRec){
  mlrecRankerUnref(pRec->pRanker);
  mlrecModelUnref(pRec->pModel);
  mlrecRatingsUnref(pRec->pRatings);
  mlrecColdMapUnref(pRec->pCold);
  mlrecHistoryClose(&pRec->reader);
  mlrecHistoryFree(&pRec->hist);
  mlrecRankWorkFree(pRec->pWork);
  mlrecColdWorkFree(pRec->pColdWork);
  sqlite3_free(pRec->aAllId);
  sqlite3_free(pRec->aScore);
  sqlite3_free(pRec->aSeen);
  memset(pRec, 0, sizeof(*pRec));
}

/* Mark the movies of the last history in aSeen: those of the model if
** bModel, and those placed by content. */
static void markHistory(MlrecRecommender *pRec, int bModel){
  const i64 *aNew = pRec->aItemId + pRec->nItem;
  int t, nNew = pRec->nAll - pRec->nItem;
  for(t=0; t<pRec->hist.n; t++){
    int i = bModel ? mlrecFindId(pRec->aItemId, pRec->nItem, pRec->hist.aId[t])
                   : -1;
    if( i>=0 ) pRec->aSeen[i] = 1;
    i = mlrecFindId(aNew, nNew, pRec->hist.aId[t]);
    if( i>=0 ) pRec->aSeen[pRec->nItem+i] = 1;
  }
}

/*
** Scores of the rating model: its predictions (before the neighbourhood
** half and the clipping) for user iUser.  A user the model was not trained
** on is folded in from the last history.
*/
static int scoreByRating(MlrecRecommender *pRec, i64 iUser){
  const MlrecModel *m = pRec->pModel;
  int u = mlrecFindId(m->aUserId, m->nUser, iUser);
  MlrecFold fold;
  int i, rc = SQLITE_OK;
  memset(&fold, 0, sizeof(fold));
  if( u<0 ){
    fold.aFactor = sqlite3_malloc64(sizeof(double)*((i64)m->nFactor+1));
    if( fold.aFactor==0 ) return SQLITE_NOMEM;
    rc = mlrecFoldSolve(m, pRec->hist.n, pRec->hist.aId, pRec->hist.aRating,
                        &fold);
  }
  for(i=0; rc==SQLITE_OK && i<m->nItem; i++){
    pRec->aScore[i] = mlrecModelPredict(m, u, &fold, i);
  }
  pRec->bPersonal = u>=0 || fold.nUsed>0;
  sqlite3_free(fold.aFactor);
  return rc;
}

/*
** Select into pTop (initialised for k hits) the best allowed movies for
** user iUser, leaving out the ones rated unless bIncludeRated.  Every
** model reads the user's ratings from the table as it is now, by an index
** lookup: a movie rated between two rows of a statement is left out of the
** second.
*/
int mlrecRecommenderTop(MlrecRecommender *pRec, i64 iUser, int bIncludeRated,
                        MlrecTopK *pTop, char **pzErr){
  int i, rc = mlrecHistoryRead(&pRec->reader, iUser, &pRec->hist, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  memset(pRec->aSeen, 0, (size_t)pRec->nAll);
  switch( pRec->eModel ){
    case MLREC_RANK_RANKING:
      rc = mlrecRankerScore(pRec->pRanker, &pRec->hist, &pRec->pWork,
                            pRec->aScore, pRec->aSeen, &pRec->bPersonal);
      if( rc==SQLITE_ERROR ){
        mlrecSetError(pzErr, "recommend: cannot fold user %lld in", iUser);
      }
      if( rc==SQLITE_OK && pRec->pCold ){
        markHistory(pRec, 0);
        rc = mlrecColdScore(pRec->pCold,
                            mlrecRankerUserFactors(pRec->pWork), &pRec->hist,
                            pRec->nColdBelow, pRec->aSeen, pRec->aScore,
                            &pRec->pColdWork);
      }
      break;
    case MLREC_RANK_RATING:
      markHistory(pRec, 1);
      rc = scoreByRating(pRec, iUser);
      break;
    default:
      markHistory(pRec, 1);
      for(i=0; i<pRec->nItem; i++){
        pRec->aScore[i] = (double)(pRec->pRatings->aItemStart[i+1]
                                   - pRec->pRatings->aItemStart[i]);
      }
      pRec->bPersonal = 0;
      break;
  }
  if( rc!=SQLITE_OK ) return rc;
  for(i=0; i<pRec->nAll; i++){
    double r = pRec->aScore[i];
    if( !pRec->aAllow[i] || (pRec->aSeen[i] && !bIncludeRated) ) continue;
    if( !isfinite(r) ){
      mlrecSetError(pzErr, "recommend: the score of movie %lld for user %lld "
                    "is not a finite number (the model's parameters "
                    "overflow); train it again, or import smaller factors",
                    pRec->aItemId[i], iUser);
      return SQLITE_ERROR;
    }
    /* most movies cannot enter the k best: one comparison turns them away */
    if( pTop->n==pTop->k && (pTop->k==0 || r<pTop->a[0].key) ) continue;
    mlrecTopKPush(pTop, r, pRec->pModel ? mlrecModelClip(pRec->pModel, r) : r,
                  i);
  }
  mlrecTopKSort(pTop);
  return SQLITE_OK;
}

/* The "because" movie of movie index iAll for the last user; 0 if none. */
int mlrecRecommenderBecause(MlrecRecommender *pRec, int iAll, i64 *piOut){
  if( pRec->eModel!=MLREC_RANK_RANKING ) return 0;
  if( pRec->pCold && mlrecColdIs(pRec->pCold, pRec->nColdBelow, iAll) ){
    return mlrecColdBecause(pRec->pCold, pRec->pColdWork, &pRec->hist, iAll,
                            piOut);
  }
  return mlrecRankerBecause(pRec->pRanker, &pRec->hist, pRec->pWork, iAll,
                            piOut);
}

static int recommendCompute(MlrecTvfCursor *pCur, char **pzErr){
  MlrecRecommendPin *pPin = (MlrecRecommendPin*)pCur->pWork;
  MlrecRatings *pR = 0;
  RecommendOptions opt;
  MlrecRankSpec spec;
  MlrecRecommender rec;
  MlrecTopK top;
  int rc, i;
  if( pPin==0 ){
    pCur->pWork = pPin = sqlite3_malloc64(sizeof(*pPin));
    if( pPin==0 ) return SQLITE_NOMEM;
    memset(pPin, 0, sizeof(*pPin));
    pPin->eDefault = MLREC_RANK_DEFAULT;
  }
  memset(&rec, 0, sizeof(rec));
  memset(&top, 0, sizeof(top));
  memset(&opt, 0, sizeof(opt));
  rc = mlrecOptionsDefault(aRecommendOption, N_RECOMMEND_OPTION, &opt);
  if( rc==SQLITE_OK ){
    rc = mlrecParseOptions(pCur->pState->db, "recommend", pCur->pOptions,
                           aRecommendOption, N_RECOMMEND_OPTION, &opt, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecFilterPrepare(pCur->pState, "recommend", &opt.filter, pzErr);
  }
  /* the default model is chosen at the statement's first row, and kept */
  if( rc==SQLITE_OK && opt.eModel==MLREC_RANK_DEFAULT ){
    rc = mlrecDefaultRankModel(pCur->pState, &pPin->eDefault, pzErr);
    opt.eModel = pPin->eDefault;
  }
  spec.zFunc = "recommend";
  spec.eModel = opt.eModel;
  spec.eContent = opt.eContent;
  spec.nColdBelow = opt.nColdBelow;
  spec.pFilter = &opt.filter;
  if( rc==SQLITE_OK ) rc = mlrecRankSpecCheck(pCur->pState, &spec, pzErr);
  if( rc==SQLITE_OK && opt.eModel==MLREC_RANK_POPULAR ){
    rc = mlrecTvfRatings(pCur, &pR, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecRecommenderOpen(pCur->pState, pR, &spec, pPin, &rec, pzErr);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecTopKInit(&top, pCur->k < rec.nAll ? (int)pCur->k : rec.nAll);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecRecommenderTop(&rec, pCur->iArg, (int)opt.bIncludeRated, &top,
                             pzErr);
  }
  if( rc==SQLITE_OK ) rc = mlrecTvfSetRows(pCur, &top, rec.aItemId);
  for(i=0; rc==SQLITE_OK && i<top.n; i++){
    MlrecTvfRow *pRow = &pCur->aRow[i];
    if( (pCur->mExtra & 1)
     && mlrecRecommenderBecause(&rec, top.a[i].idx, &pRow->aExtra[0]) ){
      pRow->mExtra |= 1;
    }
    pRow->aExtra[1] = rec.bPersonal;
    pRow->mExtra |= 2;
  }
  mlrecTopKFree(&top);
  mlrecRecommenderClose(&rec);
  mlrecFilterClear(&opt.filter);
  return rc;
}

static void recommendFreeWork(void *pWork){
  MlrecRecommendPin *pPin = (MlrecRecommendPin*)pWork;
  mlrecRankerUnref(pPin->pRanker);
  mlrecModelUnref(pPin->pModel);
  sqlite3_free(pPin);
}

static const MlrecTvf recommendTvf = {
  "recommend", "user_id", "movieId", { "because", "personal", 0 }, "1, 10",
  recommendCompute, recommendFreeWork
};

int mlrecRegisterRecommend(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvf(db, p, &recommendTvf);
}
