/*
** train.c: the SQL functions train_mf() and predict().
**
**     SELECT train_mf();
**     SELECT train_mf('{"factors": 64, "epochs": 30, "seed": 7}');
**       -> {"users":610,"items":9724,"ratings":100836,"factors":64,...,
**           "rmse":0.63,"seconds":0.2}
**     SELECT predict(1, 260);    -> 4.7
**
** train_mf() trains a biased matrix factorisation (mf.c) on the ratings
** table and keeps it in memory for this connection, replacing the previous
** model; it returns a JSON summary.  Options: factors, epochs,
** learning_rate, regularization, bias_regularization, init_std, seed,
** threads, validation, patience, progress (see mf.c and monitor.c).
**
** predict(user_id, movie_id) is the model's rating, clipped to the rating
** scale of the training data.  A user the model has not seen is folded in
** from the ratings the user has now (foldin.c); for a movie the model has
** not seen, or a user with no rating of a movie it knows, it is the mean
** plus the bias that is known.  NULL arguments give NULL.
** predict() and recommend() load the model saved as 'default' if the
** connection has none (persist.c), or else train one with default options.
** A model is not retrained when the ratings
** change: mlrec_models says when it is stale, train_mf() refreshes it.
*/
#include "rating.h"
#include <string.h>

/*
** Make m (a new reference, or NULL) the model of the connection, trained
** here until the caller says otherwise (modelOrigin), dropping the user
** folded in for the previous one, which would keep that model alive.
*/
void mlrecSetModel(MlrecState *p, MlrecModel *m){
  mlrecFoldFree(p->pFold);
  p->pFold = 0;
  mlrecModelUnref(p->pModel);
  p->pModel = m;
  mlrecOriginClear(&p->modelOrigin);
}

/* Replace the model of the connection with a newly trained one. */
static int trainAndKeep(MlrecState *p, const MlrecMfOptions *pOpt,
                        char **pzErr){
  MlrecRatings *pR = 0;
  MlrecModel *m = 0;
  int rc = mlrecRatingsCurrent(p, &pR, pzErr);
  if( rc==SQLITE_OK ) rc = mlrecMfTrain(p, pR, pOpt, &m, pzErr);
  if( rc==SQLITE_OK && pOpt->knnWeight>0.0 ){
    rc = mlrecNeighboursTrain(p->db, pR, pOpt->nNeighbour, pOpt->shrinkage,
                              &m->pNeighbours);
    if( rc!=SQLITE_OK ) mlrecModelUnref(m);
  }
  mlrecRatingsUnref(pR);
  if( rc==SQLITE_OK ) mlrecSetModel(p, m);
  return rc;
}

/*
** Set *ppOut to a new reference to the model: the connection's, else the
** saved model 'default' (xAutoLoad), else one trained with default options.
*/
int mlrecCurrentModel(MlrecState *p, MlrecModel **ppOut, char **pzErr){
  *ppOut = 0;
  if( p->pModel==0 && p->xAutoLoad ){
    int rc = p->xAutoLoad(p, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
  if( p->pModel==0 ){
    MlrecMfOptions opt;
    int rc;
    mlrecMfDefaults(&opt);
    rc = trainAndKeep(p, &opt, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
  mlrecModelRef(p->pModel);
  *ppOut = p->pModel;
  return SQLITE_OK;
}

/* The JSON summary train_mf() returns for model m. */
static char *trainSummary(const MlrecModel *m){
  const MlrecEpoch *pKept = &m->aLog[m->iKept];
  char *zOpt = mlrecMfOptionsJson(&m->opt);
  char *zOut;
  char zValid[40];
  if( zOpt==0 ) return 0;
  if( pKept->validRmse>=0.0 ){
    sqlite3_snprintf(sizeof(zValid), zValid, "%!.15g", pKept->validRmse);
  }else{
    sqlite3_snprintf(sizeof(zValid), zValid, "null");
  }
  /* splice the members of the options object into the summary */
  zOut = sqlite3_mprintf("{\"users\":%d,\"items\":%d,\"ratings\":%lld,%.*s,"
                         "\"held_out\":%lld,\"epochs_run\":%d,"
                         "\"kept_epoch\":%d,\"rmse\":%!.15g,"
                         "\"validation_rmse\":%s,\"seconds\":%!.6g}",
                         m->nUser, m->nItem, m->nRating,
                         (int)strlen(zOpt)-2, zOpt+1, m->nHeldOut, m->nLog,
                         m->iKept+1, m->rmse, zValid, m->seconds);
  sqlite3_free(zOpt);
  return zOut;
}

/* train_mf([options]) */
static void trainMfFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  MlrecMfOptions opt;
  char *zErr = 0;
  char *zSummary;
  int rc;
  mlrecMfDefaults(&opt);
  rc = mlrecParseOptions(p->db, "train_mf", argc ? argv[0] : 0,
                         mlrecMfOptionSpec, mlrecMfOptionCount, &opt, &zErr);
  if( rc==SQLITE_OK ) rc = trainAndKeep(p, &opt, &zErr);
  if( rc!=SQLITE_OK ){
    mlrecResultError(ctx, rc, zErr);
    sqlite3_free(zErr);
    return;
  }
  zSummary = trainSummary(p->pModel);
  if( zSummary==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, zSummary, -1, sqlite3_free);
}

/* Read an argument of predict() as an id; on error, set the result. */
static int predictArg(sqlite3_context *ctx, sqlite3_value *pVal,
                      const char *zName, i64 *piOut){
  char *zErr;
  if( mlrecArgToId(pVal, piOut)==SQLITE_OK ) return SQLITE_OK;
  zErr = mlrecBadIdMessage("predict", zName, pVal);
  mlrecResultError(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
  sqlite3_free(zErr);
  return SQLITE_MISMATCH;
}

/* predict(user_id, movie_id) */
static void predictFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  MlrecModel *m = 0;
  const MlrecFold *pFold = 0;
  char *zErr = 0;
  i64 iUser, iItem;
  double r;
  int rc;
  (void)argc;
  if( sqlite3_value_type(argv[0])==SQLITE_NULL
   || sqlite3_value_type(argv[1])==SQLITE_NULL ){
    return;   /* NULL in, NULL out */
  }
  if( predictArg(ctx, argv[0], "user_id", &iUser)!=SQLITE_OK ) return;
  if( predictArg(ctx, argv[1], "movie_id", &iItem)!=SQLITE_OK ) return;
  rc = mlrecCurrentModel(p, &m, &zErr);
  if( rc==SQLITE_OK ) rc = mlrecFoldFor(p, m, 0, iUser, &pFold, &zErr);
  if( rc==SQLITE_OK ){
    rc = mlrecPredictRating(p, m, pFold, iUser, iItem, &r, "predict", &zErr);
  }
  mlrecModelUnref(m);
  if( rc!=SQLITE_OK ){
    mlrecResultError(ctx, rc, zErr);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_double(ctx, r);
}

int mlrecRegisterTrain(sqlite3 *db, MlrecState *p){
  /* Both read tables and change the connection's model: DIRECTONLY, and
  ** not DETERMINISTIC since the model can change between calls. */
  int rc = mlrecCreateFunctions(db, "train_mf", 0, 1, SQLITE_DIRECTONLY, p,
                                trainMfFunc);
  if( rc==SQLITE_OK ){
    rc = mlrecCreateFunction(db, "predict", 2, SQLITE_DIRECTONLY, p,
                             predictFunc);
  }
  return rc;
}
