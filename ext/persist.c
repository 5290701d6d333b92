/*
** persist.c: every model of a connection saved into ordinary tables of the
** database, in one transaction, and loaded back by any connection or
** process.
**
**     SELECT train_mf('{"factors": 64}');    -- the model of predict()
**     SELECT train_ranker();                 -- the model of recommend()
**     SELECT mlrec_save_model('prod');       -- both, saved
**       -> {"name":"prod","mf":{"users":610,"items":9724,"factors":64},
**           "ranker":{"users":610,"items":9724,"factors":32}}
**     SELECT mlrec_load_model('prod');       -- serve them: here, elsewhere
**
** mlrec_save_model([name]) saves the models the connection holds, the
** rating model of train_mf() (with its neighbourhood half) and the ranking
** model of train_ranker(), trained here or loaded, under name (default
** 'default'), replacing what that name held, inside one SAVEPOINT.
** mlrec_load_model([name]) makes what name holds the models of this
** connection: predict() and recommend() then serve them, bit for bit what
** the saving connection served.  A kind that name does not hold is
** dropped: the connection holds what was saved, no more.  The layouts are
** in saved_rating.c and saved_ranking.c, what they share in saved.c.
**
** HOW IT WORKS
**
** One read transaction.  A load reads the header tables and the rows of
** every kind inside one read transaction, so that a save committed
** meanwhile by another connection is not seen half: a statement stepped
** once before the reads and reset after them keeps the transaction open
** (a function cannot BEGIN: its own statement is running).  Inside the
** caller's transaction it reads that transaction's data.
**
** Nothing but the saved tables.  A load reads the saved rows, never the
** ratings table; serving then reads only the user's own ratings (an index
** lookup).  The neighbourhood half reads its per-user and per-movie rows
** lazily (saved_rating.c).  A read-only database serves the same way: a
** load writes nothing.
**
** One copy per process.  A loaded model is listed under its checksum
** (core/shared.c); a connection of the same process that loads the same
** saved model takes a reference to that copy instead of reading the rows.
**
** Auto-load.  A connection that has no rating or no ranking model, when
** predict(), recommend() or mlrec_evaluate() first needs one, loads the
** kinds it lacks from the saved model named 'default', if the database
** holds one (xAutoLoad); only when nothing is saved does it train one with
** default options.  mlrec_models says where each model came from.
*/
#include "saved.h"
#include <string.h>

/* ---- Arguments and results ----------------------------------------------- */

/*
** A text argument that must not be empty, e.g. a model or table name; on
** error, sets the result and returns NULL.  A NUL inside would silently
** cut the name (and name another model), and a name of at most
** MLREC_NAME_BYTES keeps every error message that echoes it short.
*/
const char *mlrecTextArg(sqlite3_context *ctx, sqlite3_value *pVal,
                         const char *zFunc, const char *zWhat){
  int eType = sqlite3_value_type(pVal);
  const char *z = eType==SQLITE_TEXT ? (const char*)sqlite3_value_text(pVal)
                                     : 0;
  int n = z ? sqlite3_value_bytes(pVal) : 0;
  char *zErr;
  if( z && z[0] && n<=MLREC_NAME_BYTES && (size_t)n==strlen(z) ) return z;
  if( eType==SQLITE_TEXT && z==0 ){
    sqlite3_result_error_nomem(ctx);
    return 0;
  }
  if( z && (size_t)n!=strlen(z) ){
    zErr = sqlite3_mprintf("%s: %s must not contain a NUL character", zFunc,
                           zWhat);
  }else if( n>MLREC_NAME_BYTES ){
    zErr = sqlite3_mprintf("%s: %s is %d bytes long; at most %d are allowed",
                           zFunc, zWhat, n, MLREC_NAME_BYTES);
  }else{
    zErr = sqlite3_mprintf("%s: %s must be non-empty text, not %s", zFunc,
                           zWhat, z ? "''" : mlrecTypeName(eType));
  }
  mlrecResultError(ctx, SQLITE_ERROR, zErr);
  sqlite3_free(zErr);
  return 0;
}

/* The model name argument, 'default' if absent or NULL; NULL on error. */
const char *mlrecNameArg(sqlite3_context *ctx, const char *zFunc, int argc,
                         sqlite3_value **argv){
  if( argc==0 || sqlite3_value_type(argv[0])==SQLITE_NULL ) return "default";
  return mlrecTextArg(ctx, argv[0], zFunc, "the model name");
}

/* Report rc/zErr, or set the result to text zOut (NULL: out of memory). */
void mlrecResultOrError(sqlite3_context *ctx, int rc, char *zErr,
                        char *zOut){
  if( rc==SQLITE_OK && zOut==0 ) rc = SQLITE_NOMEM;
  if( rc!=SQLITE_OK ){
    mlrecResultError(ctx, rc, zErr);
    sqlite3_free(zOut);
  }else{
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  }
  sqlite3_free(zErr);
}

/*
** {"name":...,"mf":{"users":...,"items":...,"factors":...},"ranker":{...}}
** for the models m and r (either may be NULL).
*/
char *mlrecSavedSummary(const char *zName, const MlrecModel *m,
                        const MlrecRanker *r){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "{\"name\":");
  mlrecJsonString(pStr, zName);
  if( m ){
    sqlite3_str_appendf(pStr, ",\"mf\":{\"users\":%d,\"items\":%d,"
                        "\"factors\":%d}", m->nUser, m->nItem, m->nFactor);
  }
  if( r ){
    sqlite3_str_appendf(pStr, ",\"ranker\":{\"users\":%d,\"items\":%d,"
                        "\"factors\":%d}", r->nUser, r->nItem, r->nFactor);
  }
  sqlite3_str_appendchar(pStr, 1, '}');
  return sqlite3_str_finish(pStr);
}

/* ---- Saving -------------------------------------------------------------- */

/*
** Save rating model m and ranking model r (either may be NULL: zName then
** holds none of that kind) under zName, in one SAVEPOINT: inside the
** caller's transaction it commits or rolls back with it.  pMo and pRo are
** where the models came from; their checksum and saved_at are set to those
** of the saved models.
*/
int mlrecSaveModels(sqlite3 *db, const char *zName, const MlrecModel *m,
                    MlrecOrigin *pMo, const MlrecRanker *r, MlrecOrigin *pRo,
                    const char *zFunc, char **pzErr){
  int rc = sqlite3_exec(db, "SAVEPOINT mlrec_save", 0, 0, 0);
  if( rc!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "%s: %s", zFunc, sqlite3_errmsg(db));
    }
    return rc;
  }
  /* Write first: that takes the write lock, waiting for another writer
  ** (busy timeout) before anything is read.  A save that read first and
  ** wrote later would fail at once (SQLITE_BUSY, in WAL mode) if another
  ** connection wrote in between.  No table yet: the save's CREATE TABLE is
  ** the first write. */
  sqlite3_exec(db, "DELETE FROM main.mlrec_saved_models WHERE 0", 0, 0, 0);
  rc = m ? mlrecSaveRating(db, zName, m, pMo, pzErr)
         : mlrecForgetRating(db, zName);
  if( rc==SQLITE_OK ){
    rc = r ? mlrecSaveRanking(db, zName, r, pRo)
           : mlrecForgetRanking(db, zName);
  }
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && *pzErr==0 ){
    mlrecSetError(pzErr, "%s: cannot save model '%s': %s", zFunc, zName,
                  sqlite3_errmsg(db));
  }
  if( rc!=SQLITE_OK ) sqlite3_exec(db, "ROLLBACK TO mlrec_save", 0, 0, 0);
  if( sqlite3_exec(db, "RELEASE mlrec_save", 0, 0, 0)!=SQLITE_OK
   && rc==SQLITE_OK ){
    rc = sqlite3_errcode(db);
    mlrecSetError(pzErr, "%s: cannot save model '%s': %s", zFunc, zName,
                  sqlite3_errmsg(db));
  }
  return rc;
}

/* Set origin *pTo from *pFrom (a copy without its name) and zName. */
static int adoptOrigin(MlrecOrigin *pTo, const MlrecOrigin *pFrom,
                       const char *zName){
  return mlrecOriginSet(pTo, pFrom->eOrigin, zName, pFrom->checksum,
                        pFrom->zSavedAt);
}

/* mlrec_save_model([name]) */
static void saveFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  const char *zName = mlrecNameArg(ctx, "mlrec_save_model", argc, argv);
  MlrecModel *m = p->pModel;
  MlrecRanker *r = p->pRanker;
  MlrecOrigin mo = p->modelOrigin, ro = p->rankerOrigin;
  char *zErr = 0, *zOut = 0;
  int rc;
  if( zName==0 ) return;
  if( m==0 && r==0 ){
    zErr = sqlite3_mprintf("mlrec_save_model: this connection has no model "
                           "to save; train one with train_mf() or "
                           "train_ranker(), or load one with "
                           "mlrec_load_model()");
    mlrecResultOrError(ctx, SQLITE_ERROR, zErr, 0);
    return;
  }
  /* references: saving runs SQL, which must not free them under us */
  if( m ) mlrecModelRef(m);
  if( r ) mlrecRankerRef(r);
  mo.zName = ro.zName = 0;
  rc = mlrecSaveModels(p->db, zName, m, &mo, r, &ro, "mlrec_save_model",
                       &zErr);
  if( rc==SQLITE_OK ) zOut = mlrecSavedSummary(zName, m, r);
  if( rc==SQLITE_OK && m && m==p->pModel ){
    rc = adoptOrigin(&p->modelOrigin, &mo, zName);
  }
  if( rc==SQLITE_OK && r && r==p->pRanker ){
    rc = adoptOrigin(&p->rankerOrigin, &ro, zName);
  }
  mlrecModelUnref(m);
  mlrecRankerUnref(r);
  mlrecResultOrError(ctx, rc, zErr, zOut);
}

/* ---- Loading ------------------------------------------------------------- */

/* The kinds a load wants. */
#define LOAD_RATING  1
#define LOAD_RANKING 2

/*
** Read the models of kinds mWant (LOAD_*) saved under zName, inside one
** read transaction: the rating model into *pm and the ranking model into
** *pr (NULL if zName holds none of that kind), with where they came from.
*/
static int readModels(sqlite3 *db, const char *zName, int mWant,
                      MlrecModel **pm, MlrecOrigin *pMo, MlrecRanker **pr,
                      MlrecOrigin *pRo, char **pzErr){
  sqlite3_stmt *pPin = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_schema", -1,
                              &pPin, 0);
  /* while pPin has a row, the connection's read transaction stays open */
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pPin);
    if( rc==SQLITE_ROW || rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "mlrec_load_model: %s", sqlite3_errmsg(db));
  }
  if( rc==SQLITE_OK && (mWant & LOAD_RATING) ){
    rc = mlrecLoadRating(db, zName, pm, pMo, pzErr);
  }
  if( rc==SQLITE_OK && (mWant & LOAD_RANKING) ){
    rc = mlrecLoadRanking(db, zName, pr, pRo, pzErr);
  }
  sqlite3_finalize(pPin);
  return rc;
}

/*
** Make m and r (new references, or NULL), loaded as zName (*pMo and *pRo
** say more), the models of p, for the kinds in mWant (LOAD_*); the other
** kinds of p stay.  If out of memory, p keeps all its models.
*/
static int install(MlrecState *p, int mWant, MlrecModel *m,
                   const MlrecOrigin *pMo, MlrecRanker *r,
                   const MlrecOrigin *pRo, const char *zName){
  MlrecOrigin mo, ro;
  int rc = SQLITE_OK;
  memset(&mo, 0, sizeof(mo));
  memset(&ro, 0, sizeof(ro));
  if( m ) rc = adoptOrigin(&mo, pMo, zName);
  if( r && rc==SQLITE_OK ) rc = adoptOrigin(&ro, pRo, zName);
  if( rc!=SQLITE_OK ){
    mlrecOriginClear(&mo);
    mlrecModelUnref(m);
    mlrecRankerUnref(r);
    return rc;
  }
  if( mWant & LOAD_RATING ){
    mlrecSetModel(p, m);
    p->modelOrigin = mo;
  }
  if( mWant & LOAD_RANKING ){
    mlrecSetRanker(p, r);
    p->rankerOrigin = ro;
  }
  return SQLITE_OK;
}

/* mlrec_load_model([name]) */
static void loadFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  const char *zName = mlrecNameArg(ctx, "mlrec_load_model", argc, argv);
  MlrecModel *m = 0;
  MlrecRanker *r = 0;
  MlrecOrigin mo, ro;
  char *zErr = 0, *zOut = 0;
  int rc;
  if( zName==0 ) return;
  memset(&mo, 0, sizeof(mo));
  memset(&ro, 0, sizeof(ro));
  rc = readModels(p->db, zName, LOAD_RATING|LOAD_RANKING, &m, &mo, &r, &ro,
                  &zErr);
  if( rc==SQLITE_OK && m==0 && r==0 ){
    mlrecSetError(&zErr, "mlrec_load_model: no saved model '%s' in this "
                  "database (mlrec_saved_models, mlrec_saved_rankers)", zName);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ) zOut = mlrecSavedSummary(zName, m, r);
  if( rc==SQLITE_OK && zOut ){
    /* the new references go to the connection */
    rc = install(p, LOAD_RATING|LOAD_RANKING, m, &mo, r, &ro, zName);
  }else{
    mlrecModelUnref(m);
    mlrecRankerUnref(r);
  }
  mlrecResultOrError(ctx, rc, zErr, zOut);
}

/*
** The xAutoLoad of the state: load the kinds of model that p lacks from
** the saved model 'default', if the database holds one.  Nothing saved (or
** no saved tables) is not an error: the caller then trains.
*/
static int autoLoad(MlrecState *p, char **pzErr){
  MlrecModel *m = 0;
  MlrecRanker *r = 0;
  MlrecOrigin mo, ro;
  int mWant = (p->pModel ? 0 : LOAD_RATING) | (p->pRanker ? 0 : LOAD_RANKING);
  int rc;
  memset(&mo, 0, sizeof(mo));
  memset(&ro, 0, sizeof(ro));
  rc = readModels(p->db, "default", mWant, &m, &mo, &r, &ro, pzErr);
  if( rc!=SQLITE_OK ){
    mlrecModelUnref(m);
    mlrecRankerUnref(r);
    return rc;
  }
  /* only the kinds found: nothing saved leaves p as it is */
  return install(p, (m ? LOAD_RATING : 0) | (r ? LOAD_RANKING : 0), m, &mo,
                 r, &ro, "default");
}

int mlrecRegisterPersist(sqlite3 *db, MlrecState *p){
  /* They read and write tables and change the connection's model. */
  int rc = SQLITE_OK;
  int nArg;
  p->xAutoLoad = autoLoad;
  for(nArg=0; rc==SQLITE_OK && nArg<=1; nArg++){
    rc = mlrecCreateFunction(db, "mlrec_save_model", nArg, SQLITE_DIRECTONLY,
                             p, saveFunc);
    if( rc==SQLITE_OK ){
      rc = mlrecCreateFunction(db, "mlrec_load_model", nArg,
                               SQLITE_DIRECTONLY, p, loadFunc);
    }
  }
  return rc;
}
