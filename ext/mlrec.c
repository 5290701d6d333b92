/*
** mlrec.c: the entry point of the mlrec SQLite extension, a movie
** recommender that lives inside the database.
**
**     .load ./mlrec
**     SELECT * FROM similar_movies(260, 10);      -- item-item cosine kNN
**     SELECT train_mf('{"factors": 64}');         -- biased matrix factorisation
**     SELECT predict(1, 260);                     -- predicted rating
**     SELECT * FROM recommend(1, 10);             -- top-k unseen movies
**     SELECT * FROM audience(260, 10);            -- users likeliest to want it
**     SELECT train_ranker();                      -- the ranking model of recommend
**     SELECT mlrec_evaluate('test');              -- RMSE, NDCG@10, ... on a test set
**     SELECT * FROM mlrec_models;                 -- what is in memory
**     SELECT * FROM mlrec_training_log;           -- epochs of the model
**     SELECT mlrec_config('{"ratings_table": "my_ratings"}');
**     SELECT mlrec_save_model('prod');            -- into tables of the database
**     SELECT mlrec_load_model('prod');            -- on any connection
**     SELECT mlrec_version(), mlrec_debug();
**
** It reads a ratings(userId, movieId, rating) table in the MovieLens layout
** (names configurable with mlrec_config()).  Everything it derives is kept
** in memory per connection, in one MlrecState object (core/state.c) shared
** by all the registrations below; the last registration to go frees it.
** Models loaded from tables are the exception: the connections of a process
** share them (core/shared.c).
*/
#include "recommend.h"
SQLITE_EXTENSION_INIT1

/* Free the models the wings keep in the state (its xFreeModels). */
static void freeModels(MlrecState *p){
  mlrecModelUnref(p->pModel);
  mlrecFoldFree(p->pFold);
  mlrecRankerUnref(p->pRanker);
  mlrecContentCacheFree(p->pContent);
  mlrecColdCacheFree(p->pCold);
  mlrecNeighbourScratchFree(p->pNeighbourScratch);
  mlrecAudienceFree(p->pAudience);
}

static int registerAll(sqlite3 *db, MlrecState *p){
  int rc = mlrecRegisterVersion(db);
  if( rc==SQLITE_OK ) rc = mlrecRegisterConfig(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterTrain(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterSimilarMovies(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterSimilarUsers(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterRecommend(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterAudience(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterModels(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterPersist(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterImport(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterRanker(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterEval(db, p);
  return rc;
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_mlrec_init(
  sqlite3 *db,
  char **pzErrMsg,
  const sqlite3_api_routines *pApi
){
  MlrecState *p;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  /* sqlite3_db_name() (used to watch for changes) arrived in 3.39.0 */
  if( sqlite3_libversion_number()<3039000 ){
    *pzErrMsg = sqlite3_mprintf("mlrec needs SQLite 3.39.0 or later, not %s",
                                sqlite3_libversion());
    return SQLITE_ERROR;
  }
  p = mlrecStateNew(db);   /* a reference held until the end */
  if( p==0 ) return SQLITE_NOMEM;
  p->xFreeModels = freeModels;
  rc = registerAll(db, p);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    *pzErrMsg = sqlite3_mprintf("mlrec: %s", sqlite3_errmsg(db));
  }
  mlrecStateUnref(p);
  return rc;
}
