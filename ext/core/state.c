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
** reference, and the last one to go (when the connection closes) frees the
** state with everything it caches.  The models it caches belong to the
** wings above core: it frees them through xFreeModels, set by the entry
** point (mlrec.c), and keeps where each came from (MlrecOrigin: trained
** here, or loaded under a name) for mlrec_models.
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

void mlrecStateRef(MlrecState *p){
  p->nRef++;
}

/* Destructor of the client data of every registration. */
void mlrecStateUnref(void *pArg){
  MlrecState *p = (MlrecState*)pArg;
  if( p==0 || --p->nRef>0 ) return;
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

/* mlrec_config([json]): read or change the table and column names, for
** this connection; returns the whole configuration. */
static void configFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = (MlrecState*)sqlite3_user_data(ctx);
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
