/*
** tvf.c: the virtual table behind every top-k table-valued function of
** mlrec (similar_movies(), recommend(), similar_users(), audience()), all of
** the same shape:
**
**     CREATE TABLE x(<id> INTEGER, score REAL, rank INTEGER,
**                    <extra> INTEGER, ...,
**                    <arg> HIDDEN, k HIDDEN, options HIDDEN)
**
** where <id> is movieId or userId, <arg> movie_id or user_id, and the
** <extra> columns those of each function (similar_movies' corated,
** recommend's because and personal).  All are eponymous-only virtual
** tables (xCreate is NULL), so these are the same query:
**
**     SELECT * FROM similar_movies(260, 10);
**     SELECT * FROM similar_movies WHERE movie_id=260 AND k=10;
**
** k defaults to 10; options is a JSON object (NULL or absent: defaults)
** that each function reads.  A NULL id or k gives no rows (as
** generate_series does); a non-integer id, a negative or non-integer k is
** an error, and so is a k out of [1, kMax] for a function that sets kMax
** (audience()).  Rows come out in rank order, so ORDER BY rank costs nothing.
**
** xBestIndex passes the hidden arguments to xFilter in order (argv[0] the
** id, then k if bit 0 of idxNum is set, then options if bit 1 is); bits 2
** and up say which <extra> columns the statement reads, which cost a little
** per row to compute.  An argument whose value is not known yet (it comes from a
** table later in the join) makes it return SQLITE_CONSTRAINT so that the
** planner tries another order; a missing id argument is an error.
**
** Each function supplies an MlrecTvf: its name, the names of its argument,
** id column and extra columns, and xCompute, which fills the cursor's rows.
** A cursor reads the ratings snapshot when its function first asks for it
** (mlrecTvfRatings(): similar_movies() and similar_users() always,
** recommend() only for its "popular" model, since its other models read one
** user's ratings by an index lookup), and keeps it, so a statement sees one
** consistent snapshot however many times a join re-runs the function.
*/
#include "core.h"
#include <string.h>

#define TVF_COL_ID      0
#define TVF_COL_SCORE   1
#define TVF_COL_RANK    2
#define TVF_COL_EXTRA   3    /* the first extra column; the hidden arguments
                             ** id, k and options follow the last one */
#define TVF_N_ARG       3

#define TVF_HAS_K       1    /* bits of idxNum */
#define TVF_HAS_OPTIONS 2
#define TVF_EXTRA_SHIFT 2    /* then a bit per extra column read */

#define TVF_DEFAULT_K 10

/* Registration: the client data of the module. */
typedef struct TvfModule TvfModule;
struct TvfModule {
  MlrecState *pState;
  const MlrecTvf *pDef;
  i64 kMax;                /* 0: k >= 0; else k in [1, kMax] */
};

typedef struct TvfVtab TvfVtab;
struct TvfVtab {
  sqlite3_vtab base;
  MlrecState *pState;
  const MlrecTvf *pDef;
  i64 kMax;                /* that of its module */
  int nExtra;              /* extra columns */
};

/* The column of the first hidden argument (the id) of pTab. */
#define TVF_COL_ARG(pTab) (TVF_COL_EXTRA + (pTab)->nExtra)

static void tvfModuleFree(void *pArg){
  TvfModule *pMod = (TvfModule*)pArg;
  mlrecStateUnref(pMod->pState);
  sqlite3_free(pMod);
}

static int tvfConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr){
  TvfModule *pMod = (TvfModule*)pAux;
  const MlrecTvf *pDef = pMod->pDef;
  sqlite3_str *pSchema = sqlite3_str_new(db);
  TvfVtab *pTab;
  char *zSchema;
  int rc, e;
  (void)argc;
  (void)argv;
  (void)pzErr;
  sqlite3_str_appendf(pSchema, "CREATE TABLE x(%s INTEGER, score REAL, "
                      "rank INTEGER", pDef->zId);
  for(e=0; pDef->azExtra[e]; e++){
    sqlite3_str_appendf(pSchema, ", %s INTEGER", pDef->azExtra[e]);
  }
  sqlite3_str_appendf(pSchema, ", %s HIDDEN, k HIDDEN, options HIDDEN)",
                      pDef->zArg);
  zSchema = sqlite3_str_finish(pSchema);
  if( zSchema==0 ) return SQLITE_NOMEM;
  rc = sqlite3_declare_vtab(db, zSchema);
  sqlite3_free(zSchema);
  if( rc!=SQLITE_OK ) return rc;
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pState = pMod->pState;
  pTab->pDef = pDef;
  pTab->kMax = pMod->kMax;
  pTab->nExtra = e;
  mlrecStateRef(pTab->pState);
  /* Reads the user's tables and the connection's model: never from
  ** views, triggers or schema, where an attacker's SQL could run it. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int tvfDisconnect(sqlite3_vtab *pVtab){
  TvfVtab *pTab = (TvfVtab*)pVtab;
  mlrecStateUnref(pTab->pState);
  sqlite3_free(pTab);
  return SQLITE_OK;
}

static int tvfOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  MlrecTvfCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  TvfVtab *pTab = (TvfVtab*)pVtab;
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->pState = pTab->pState;
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int tvfClose(sqlite3_vtab_cursor *cur){
  MlrecTvfCursor *pCur = (MlrecTvfCursor*)cur;
  TvfVtab *pTab = (TvfVtab*)cur->pVtab;
  if( pCur->pWork ) pTab->pDef->xFreeWork(pCur->pWork);
  mlrecRatingsUnref(pCur->pRatings);
  sqlite3_value_free(pCur->pOptions);
  sqlite3_free(pCur->aRow);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int tvfNext(sqlite3_vtab_cursor *cur){
  ((MlrecTvfCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int tvfEof(sqlite3_vtab_cursor *cur){
  MlrecTvfCursor *pCur = (MlrecTvfCursor*)cur;
  return pCur->iRow>=pCur->nRow;
}

static int tvfColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  MlrecTvfCursor *pCur = (MlrecTvfCursor*)cur;
  const MlrecTvfRow *pRow = &pCur->aRow[pCur->iRow];
  int iArg = TVF_COL_ARG((TvfVtab*)cur->pVtab);
  if( i==TVF_COL_ID ){
    sqlite3_result_int64(ctx, pRow->iId);
  }else if( i==TVF_COL_SCORE ){
    sqlite3_result_double(ctx, pRow->rScore);
  }else if( i==TVF_COL_RANK ){
    sqlite3_result_int(ctx, pCur->iRow+1);
  }else if( i<iArg ){
    int e = i - TVF_COL_EXTRA;
    if( pRow->mExtra & (1u<<e) ) sqlite3_result_int64(ctx, pRow->aExtra[e]);
  }else if( i==iArg ){
    sqlite3_result_int64(ctx, pCur->iArg);
  }else if( i==iArg+1 ){
    sqlite3_result_int64(ctx, pCur->k);
  }else if( pCur->pOptions ){
    sqlite3_result_value(ctx, pCur->pOptions);
  }
  return SQLITE_OK;
}

static int tvfRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((MlrecTvfCursor*)cur)->iRow+1;
  return SQLITE_OK;
}

/* Set the error message of the virtual table of cursor pCur. */
static int tvfError(MlrecTvfCursor *pCur, int rc, char *zErr){
  sqlite3_vtab *pVtab = pCur->base.pVtab;
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr;
  /* a generic error without its message: building the message failed */
  return rc==SQLITE_ERROR && zErr==0 ? SQLITE_NOMEM : rc;
}

/* The error for a bad k argument pK of function zFunc, whose k must be in
** [1, kMax] if kMax>0. */
static char *badKMessage(const char *zFunc, sqlite3_value *pK, i64 kMax){
  if( kMax>0 ){
    return sqlite3_value_type(pK)==SQLITE_INTEGER
        ? sqlite3_mprintf("%s: k must be an integer in [1, %lld], not %lld",
                          zFunc, kMax, sqlite3_value_int64(pK))
        : sqlite3_mprintf("%s: k must be an integer in [1, %lld], not %s",
                          zFunc, kMax,
                          mlrecTypeName(sqlite3_value_type(pK)));
  }
  return sqlite3_value_type(pK)==SQLITE_INTEGER
      ? sqlite3_mprintf("%s: k must be >= 0, not %lld", zFunc,
                        sqlite3_value_int64(pK))
      : sqlite3_mprintf("%s: k must be a non-negative integer, not %s",
                        zFunc, mlrecTypeName(sqlite3_value_type(pK)));
}

/*
** Read the arguments into pCur; SQLITE_DONE means "no rows" (a NULL id or
** k).  The options value is kept for xCompute and for the hidden column.
*/
static int tvfReadArgs(MlrecTvfCursor *pCur, const TvfVtab *pTab,
                       int idxNum, int argc, sqlite3_value **argv){
  const MlrecTvf *pDef = pTab->pDef;
  const char *zFunc = pDef->zName;
  int iK = (idxNum & TVF_HAS_K) ? 1 : -1;
  int iOpt = (idxNum & TVF_HAS_OPTIONS) ? 1 + (iK>0) : -1;
  (void)argc;
  sqlite3_value_free(pCur->pOptions);
  pCur->pOptions = 0;
  if( sqlite3_value_type(argv[0])==SQLITE_NULL
   || (iK>0 && sqlite3_value_type(argv[iK])==SQLITE_NULL) ){
    return SQLITE_DONE;
  }
  if( mlrecArgToId(argv[0], &pCur->iArg)!=SQLITE_OK ){
    return tvfError(pCur, SQLITE_ERROR,
                    mlrecBadIdMessage(zFunc, pDef->zArg, argv[0]));
  }
  pCur->k = TVF_DEFAULT_K;
  if( iK>0 && (mlrecArgToK(argv[iK], &pCur->k)!=SQLITE_OK
               || (pTab->kMax>0 && (pCur->k<1 || pCur->k>pTab->kMax))) ){
    return tvfError(pCur, SQLITE_ERROR,
                    badKMessage(zFunc, argv[iK], pTab->kMax));
  }
  if( iOpt>0 && sqlite3_value_type(argv[iOpt])!=SQLITE_NULL ){
    pCur->pOptions = sqlite3_value_dup(argv[iOpt]);
    if( pCur->pOptions==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

static int tvfFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv){
  MlrecTvfCursor *pCur = (MlrecTvfCursor*)cur;
  const MlrecTvf *pDef = ((TvfVtab*)cur->pVtab)->pDef;
  char *zErr = 0;
  char zCall[64];
  int rc;
  (void)idxStr;
  pCur->iRow = 0;
  pCur->nRow = 0;
  pCur->mExtra = (unsigned)idxNum >> TVF_EXTRA_SHIFT;
  rc = tvfReadArgs(pCur, (TvfVtab*)cur->pVtab, idxNum, argc, argv);
  if( rc==SQLITE_DONE ) return SQLITE_OK;
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_snprintf(sizeof(zCall), zCall, "%s()", pDef->zName);
  rc = mlrecEnter(pCur->pState, zCall, &zErr);
  if( rc!=SQLITE_OK ) return tvfError(pCur, rc, zErr);
  rc = pDef->xCompute(pCur, &zErr);
  mlrecLeave(pCur->pState);
  if( rc!=SQLITE_OK ) return tvfError(pCur, rc, zErr);
  return SQLITE_OK;
}

/*
** Give the arguments that have a usable constraint argvIndex 1, 2, 3 in
** order.  An unusable constraint on any means "try another join order".
*/
static int tvfBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  TvfVtab *pTab = (TvfVtab*)pVtab;
  const MlrecTvf *pDef = pTab->pDef;
  int aIdx[TVF_N_ARG] = { -1, -1, -1 };   /* usable constraint on each */
  int aUnusable[TVF_N_ARG] = { 0, 0, 0 }; /* unusable constraints on each */
  int i, e, nArg = 0;
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *pCons = &pInfo->aConstraint[i];
    int iArg = pCons->iColumn - TVF_COL_ARG(pTab);
    if( iArg<0 || pCons->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( !pCons->usable ) aUnusable[iArg]++;
    else if( aIdx[iArg]<0 ) aIdx[iArg] = i;
  }
  if( aIdx[0]<0 && aUnusable[0]==0 ){
    sqlite3_free(pVtab->zErrMsg);
    pVtab->zErrMsg = sqlite3_mprintf("%s: first argument %s missing, "
                                     "e.g. %s(%s)", pDef->zName, pDef->zArg,
                                     pDef->zName, pDef->zExample);
    return SQLITE_ERROR;
  }
  pInfo->idxNum = 0;
  for(i=0; i<TVF_N_ARG; i++){
    if( aUnusable[i] && aIdx[i]<0 ) return SQLITE_CONSTRAINT;
    if( aIdx[i]<0 ) continue;
    pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++nArg;
    pInfo->aConstraintUsage[aIdx[i]].omit = 1;
    if( i==1 ) pInfo->idxNum |= TVF_HAS_K;
    if( i==2 ) pInfo->idxNum |= TVF_HAS_OPTIONS;
  }
  for(e=0; e<pTab->nExtra; e++){
    if( pInfo->colUsed & ((sqlite3_uint64)1<<(TVF_COL_EXTRA+e)) ){
      pInfo->idxNum |= 1<<(TVF_EXTRA_SHIFT+e);
    }
  }
  if( pInfo->nOrderBy==1 && pInfo->aOrderBy[0].iColumn==TVF_COL_RANK
   && !pInfo->aOrderBy[0].desc ){
    pInfo->orderByConsumed = 1;
  }
  pInfo->estimatedCost = 10.0;
  pInfo->estimatedRows = TVF_DEFAULT_K;
  return SQLITE_OK;
}

/* Eponymous-only (no xCreate), read-only. */
static const sqlite3_module tvfModule = {
  .xConnect = tvfConnect,
  .xBestIndex = tvfBestIndex,
  .xDisconnect = tvfDisconnect,
  .xOpen = tvfOpen,
  .xClose = tvfClose,
  .xFilter = tvfFilter,
  .xNext = tvfNext,
  .xEof = tvfEof,
  .xColumn = tvfColumn,
  .xRowid = tvfRowid,
};

/* Register table-valued function pDef on db, with state p; k must be in
** [1, kMax] if kMax>0, else k >= 0 (0 gives no rows). */
int mlrecRegisterTvfK(sqlite3 *db, MlrecState *p, const MlrecTvf *pDef,
                      i64 kMax){
  TvfModule *pMod = sqlite3_malloc64(sizeof(*pMod));
  if( pMod==0 ) return SQLITE_NOMEM;
  pMod->pState = p;
  pMod->pDef = pDef;
  pMod->kMax = kMax;
  mlrecStateRef(p);
  return sqlite3_create_module_v2(db, pDef->zName, &tvfModule, pMod,
                                  tvfModuleFree);
}

/* Register table-valued function pDef on db, with state p. */
int mlrecRegisterTvf(sqlite3 *db, MlrecState *p, const MlrecTvf *pDef){
  return mlrecRegisterTvfK(db, p, pDef, 0);
}

/*
** Set *ppOut to the ratings snapshot of the cursor (not a new reference),
** reading it the first time: the statement keeps it to its end.
*/
int mlrecTvfRatings(MlrecTvfCursor *pCur, MlrecRatings **ppOut, char **pzErr){
  int rc = SQLITE_OK;
  if( pCur->pRatings==0 ){
    rc = mlrecRatingsCurrent(pCur->pState, &pCur->pRatings, pzErr);
  }
  *ppOut = pCur->pRatings;
  return rc;
}

/* Make the sorted hits of pTop the cursor's rows; aId maps index to id.
** Their extra columns are NULL until the function sets them. */
int mlrecTvfSetRows(MlrecTvfCursor *pCur, const MlrecTopK *pTop,
                    const i64 *aId){
  MlrecTvfRow *aRow = sqlite3_realloc64(pCur->aRow,
                                        sizeof(MlrecTvfRow)*((i64)pTop->n+1));
  int i;
  if( aRow==0 ) return SQLITE_NOMEM;
  pCur->aRow = aRow;
  for(i=0; i<pTop->n; i++){
    aRow[i].iId = aId[pTop->a[i].idx];
    aRow[i].rScore = pTop->a[i].score;
    aRow[i].mExtra = 0;
  }
  pCur->nRow = pTop->n;
  return SQLITE_OK;
}
