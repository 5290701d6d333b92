/*
** state.c: the per-connection state of the extension, mlrec_config(),
** which changes the names it reads, and the helpers that register SQL
** functions with it.
**
**     SELECT mlrec_config();                      -- the names, as JSON
**     SELECT mlrec_config('{"ratings_table": "stars", "user_column": "who"}');
**
** One MlrecState per connection is the client data of every function and
** virtual table module the extension registers; each registration holds a
** reference, and the last one to go (when the connection closes) joins the
** threads of its pool (pool.c) and frees the state with everything it
** caches.  The models it caches belong to the wings above core: it frees
** them through xFreeModels, set by the entry point (mlrec.c), and keeps
** where each came from (MlrecOrigin: trained here, or loaded under a name)
** for mlrec_models.
*/
#include "core.h"
#include <string.h>

/* A new state for connection db, with one reference and the default
** configuration; NULL if out of memory. */
MlrecState *mlrecStateNew(sqlite3 *db){
  MlrecState *p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->nRef = 1;
  if( mlrecConfigInit(&p->cfg)!=SQLITE_OK ){
    sqlite3_free(p);
    return 0;
  }
  return p;
}

/*
** Enter call zCall ("predict()") of state p: refused, with an error saying
** what mlrec is reading, if another call is running.  Nothing of mlrec
** calls itself, so that can only be SQL that mlrec runs (a view read as the
** ratings table, a trigger on a table it writes) calling back into it: the
** outer call holds pointers into the state, and the inner one would change
** it, or recurse without end.  Each successful enter has one leave.
*/
int mlrecEnter(MlrecState *p, const char *zCall, char **pzErr){
  if( p->bBusy ){
    mlrecSetError(pzErr, "mlrec: %s cannot be used while mlrec is reading %s",
                  zCall, p->zReading ? p->zReading : "its tables");
    return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  p->bBusy = 1;
  p->zReading = 0;
  return SQLITE_OK;
}

void mlrecLeave(MlrecState *p){
  p->bBusy = 0;
  p->zReading = 0;
}

/* Say that mlrec now reads zWhat ("the ratings table", a literal), for the
** message of a call it refuses; returns what it read before, to restore. */
const char *mlrecReading(MlrecState *p, const char *zWhat){
  const char *zPrev = p->zReading;
  p->zReading = zWhat;
  return zPrev;
}

/*
** Pin a read transaction on every database of the connection (but temp)
** that has none, until the matching mlrecReadUnpin(): what mlrec reads in
** between, and the data version it checks, all come from one snapshot of
** each database.  A statement that reads no table opens no transaction:
** without a pin, the data version would still be that of the last
** transaction, blind to commits by other connections since.  The pin is a
** statement stepped to its first row and not reset; pins nest.
*/
int mlrecReadPin(MlrecState *p, char **pzErr){
  sqlite3_str *pSql;
  char *zSql;
  const char *zDb;
  int i, n = 0, rc;
  if( p->nPin++>0 ) return SQLITE_OK;
  pSql = sqlite3_str_new(p->db);
  for(i=0; (zDb = sqlite3_db_name(p->db, i))!=0; i++){
    if( i==1 || sqlite3_txn_state(p->db, zDb)!=SQLITE_TXN_NONE ) continue;
    sqlite3_str_appendf(pSql, "%s(SELECT 1 FROM \"%w\".sqlite_schema LIMIT 1)",
                        n++ ? ", " : "SELECT ", zDb);
  }
  zSql = sqlite3_str_finish(pSql);
  if( n==0 ){
    sqlite3_free(zSql);
    return SQLITE_OK;
  }
  rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &p->pPin, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(p->pPin);
    rc = rc==SQLITE_ROW ? SQLITE_OK : sqlite3_reset(p->pPin);
  }
  if( rc!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "mlrec: cannot read the database: %s",
                    sqlite3_errmsg(p->db));
    }
    mlrecReadUnpin(p);
  }
  return rc;
}

void mlrecReadUnpin(MlrecState *p){
  if( --p->nPin>0 ) return;
  sqlite3_finalize(p->pPin);
  p->pPin = 0;
}

void mlrecStateRef(MlrecState *p){
  p->nRef++;
}

/* Destructor of the client data of every registration. */
void mlrecStateUnref(void *pArg){
  MlrecState *p = (MlrecState*)pArg;
  if( p==0 || --p->nRef>0 ) return;
  mlrecPoolFree(p->pPool);
  if( p->xFreeModels ) p->xFreeModels(p);
  mlrecOriginClear(&p->modelOrigin);
  mlrecOriginClear(&p->rankerOrigin);
  mlrecRatingsUnref(p->pRatings);
  mlrecConfigClear(&p->cfg);
  sqlite3_free(p);
}

/* Back to "trained here", under no saved name. */
void mlrecOriginClear(MlrecOrigin *o){
  sqlite3_free(o->zName);
  memset(o, 0, sizeof(*o));
}

/* Set *o (zName and zSavedAt copied; zName may be NULL). */
int mlrecOriginSet(MlrecOrigin *o, int eOrigin, const char *zName,
                   u64 checksum, const char *zSavedAt){
  char *z = zName ? sqlite3_mprintf("%s", zName) : 0;
  if( zName && z==0 ) return SQLITE_NOMEM;
  mlrecOriginClear(o);
  o->eOrigin = eOrigin;
  o->zName = z;
  o->checksum = checksum;
  sqlite3_snprintf(sizeof(o->zSavedAt), o->zSavedAt, "%s", zSavedAt);
  return SQLITE_OK;
}

/*
** A SQL function of the state: its name, for messages, and its code.  The
** registration's client data; mlrecStateOf() gives the state to the code.
*/
typedef struct MlrecFunc MlrecFunc;
struct MlrecFunc {
  MlrecState *pState;
  const char *zName;     /* "predict", a literal */
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
};

static void funcFree(void *pArg){
  MlrecFunc *f = (MlrecFunc*)pArg;
  mlrecStateUnref(f->pState);
  sqlite3_free(f);
}

/* The state of the function that ctx calls. */
MlrecState *mlrecStateOf(sqlite3_context *ctx){
  return ((MlrecFunc*)sqlite3_user_data(ctx))->pState;
}

/* Every call of a function of the state: refused while mlrec runs SQL
** (mlrecEnter()), else the function's code. */
static void funcCall(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecFunc *f = (MlrecFunc*)sqlite3_user_data(ctx);
  char *zErr = 0;
  char zCall[64];
  int rc;
  sqlite3_snprintf(sizeof(zCall), zCall, "%s()", f->zName);
  rc = mlrecEnter(f->pState, zCall, &zErr);
  if( rc!=SQLITE_OK ){
    mlrecResultError(ctx, rc, zErr);
    sqlite3_free(zErr);
    return;
  }
  f->xFunc(ctx, argc, argv);
  mlrecLeave(f->pState);
}

/*
** Register SQL function zName (a literal) with state p; the function holds
** a reference to p until it is deleted (also if registering fails).
*/
int mlrecCreateFunction(
  sqlite3 *db,
  const char *zName,
  int nArg,
  int flags,
  MlrecState *p,
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**)
){
  MlrecFunc *f = sqlite3_malloc64(sizeof(*f));
  if( f==0 ) return SQLITE_NOMEM;
  f->pState = p;
  f->zName = zName;
  f->xFunc = xFunc;
  mlrecStateRef(p);
  return sqlite3_create_function_v2(db, zName, nArg, SQLITE_UTF8|flags, f,
                                    funcCall, 0, 0, funcFree);
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

/* mlrec_config([json]): read or change the table and column names, for
** this connection; returns the whole configuration. */
static void configFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  char *zErr = 0, *zJson;
  if( argc==1 ){
    int rc = mlrecConfigUpdate(p->db, &p->cfg, argv[0], &zErr);
    if( rc!=SQLITE_OK ){
      mlrecResultError(ctx, rc, zErr);
      sqlite3_free(zErr);
      return;
    }
    /* what was read under the old names is stale */
    mlrecForgetRatings(p);
    p->iConfig++;
  }
  zJson = mlrecConfigJson(&p->cfg);
  if( zJson==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
}

int mlrecRegisterConfig(sqlite3 *db, MlrecState *p){
  /* Changes the state of the connection: never from views or triggers. */
  return mlrecCreateFunctions(db, "mlrec_config", 0, 1, SQLITE_DIRECTONLY, p,
                              configFunc);
}
