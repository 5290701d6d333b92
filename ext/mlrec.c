/*
** mlrec.c: the entry point of the mlrec SQLite extension, a movie
** recommender that lives inside the database.
**
**     .load ./mlrec
**     SELECT * FROM similar_movies(260, 10);      -- item-item cosine kNN
**     SELECT train_mf('{"factors": 64}');         -- biased matrix factorisation
**     SELECT predict(1, 260);                     -- predicted rating
**     SELECT * FROM recommend(1, 10);             -- top-k unseen movies
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
** in memory per connection, in one MlrecState object (see mlrec.h) shared
** by all the registrations below; the last registration to go frees it.
*/
#include "mlrec.h"
SQLITE_EXTENSION_INIT1
#include <string.h>

void mlrecStateRef(MlrecState *p){
  p->nRef++;
}

/* Destructor of the client data of every registration. */
void mlrecStateUnref(void *pArg){
  MlrecState *p = (MlrecState*)pArg;
  if( p==0 || --p->nRef>0 ) return;
  mlrecRatingsUnref(p->pRatings);
  mlrecModelUnref(p->pModel);
  mlrecFoldFree(p->pFold);
  mlrecRankerUnref(p->pRanker);
  mlrecContentCacheFree(p->pContent);
  mlrecConfigClear(&p->cfg);
  sqlite3_free(p);
}

/*
** Register SQL function zName with state p as client data; the function
** holds a reference to p until it is deleted (also if registering fails).
*/
int mlrecCreateFunction(
  sqlite3 *db,
  const char *zName,
  int nArg,
  int flags,
  MlrecState *p,
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**)
){
  mlrecStateRef(p);
  return sqlite3_create_function_v2(db, zName, nArg, SQLITE_UTF8|flags, p,
                                    xFunc, 0, 0, mlrecStateUnref);
}

/*
** Register zName for every number of arguments from nArgMin to nArgMax, all
** with the same implementation.
*/
int mlrecCreateFunctions(
  sqlite3 *db,
  const char *zName,
  int nArgMin,
  int nArgMax,
  int flags,
  MlrecState *p,
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**)
){
  int rc = SQLITE_OK, nArg;
  for(nArg=nArgMin; rc==SQLITE_OK && nArg<=nArgMax; nArg++){
    rc = mlrecCreateFunction(db, zName, nArg, flags, p, xFunc);
  }
  return rc;
}

static int registerAll(sqlite3 *db, MlrecState *p){
  int rc = mlrecRegisterVersion(db);
  if( rc==SQLITE_OK ) rc = mlrecRegisterConfig(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterTrain(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterSimilarMovies(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterRecommend(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterModels(db, p);
  if( rc==SQLITE_OK ) rc = mlrecRegisterPersist(db, p);
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
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->nRef = 1;   /* held until the end of this function */
  rc = mlrecConfigInit(&p->cfg);
  if( rc==SQLITE_OK ) rc = registerAll(db, p);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    *pzErrMsg = sqlite3_mprintf("mlrec: %s", sqlite3_errmsg(db));
  }
  mlrecStateUnref(p);
  return rc;
}
