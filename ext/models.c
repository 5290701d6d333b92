/*
** models.c: the virtual tables mlrec_models, what the connection holds in
** memory, and mlrec_training_log, the epochs of its model.
**
**     SELECT * FROM mlrec_models;
**       model  created              ratings users items options  seconds rmse stale
**       knn    2026-11-27 14:00:00  100836  610   9724  {...}    0.02    NULL 0
**       mf     2026-11-27 14:00:01  100836  610   9724  {...}    0.21    0.63 0
**       (and origin, name, checksum, saved_at)
**
** One row for the ratings snapshot behind similar_movies() ("knn"), one for
** the model of train_mf() ("mf"), one for that of train_ranker()
** ("ranker"), each if it exists.  created is UTC, seconds the time the
** build or the training took, rmse the training error.  stale is 1 when
** the ratings table has changed since the model was built (or can no
** longer be read): similar_movies() then rebuilds on its next query, while
** the models are kept until trained or loaded again.  Reading this table
** re-reads the ratings table if the database changed.  origin says where
** the model came from: 'trained' here, 'loaded' by mlrec_load_model() (or
** auto-loaded), 'imported' (mlrec_import_factors(), then loaded); name,
** checksum and saved_at are those of the saved model it was loaded from or
** last saved as (NULL if none).
**
**     SELECT train_mf('{"epochs": 30, "validation": 0.1, "patience": 3}');
**     SELECT * FROM mlrec_training_log;
**       epoch  train_rmse  validation_rmse  seconds  kept
**       1      0.9212      0.9008           0.012    0
**       ...
**
** mlrec_training_log has one row per epoch run (monitor.c writes the log):
** the training loss of the epoch, the RMSE of predict() on the held-out
** ratings (NULL without a "validation" fraction), the seconds the epoch
** took, and kept = 1 on the epoch whose parameters the model holds (the
** last one, or the best one with early stopping).  No rows before a model
** is trained.
**
** Both are eponymous-only and read-only, and share their plumbing: a table
** object holding the connection's state, a cursor counting rows.
*/
#include "surface.h"
#include <string.h>

#define MODELS_COLUMNS "CREATE TABLE x(model TEXT, created TEXT, " \
  "ratings INTEGER, users INTEGER, items INTEGER, options TEXT, " \
  "seconds REAL, rmse REAL, stale INTEGER, origin TEXT, name TEXT, " \
  "checksum TEXT, saved_at TEXT)"
#define LOG_COLUMNS "CREATE TABLE x(epoch INTEGER, train_rmse REAL, " \
  "validation_rmse REAL, seconds REAL, kept INTEGER)"

typedef struct ModelRow ModelRow;
struct ModelRow {
  const char *zModel;
  i64 created;
  i64 nRating;
  int nUser, nItem;
  char *zOptions;
  double seconds;
  double rmse;           /* < 0: none */
  int stale;
  int eOrigin;           /* MLREC_ORIGIN_* */
  char *zName;           /* saved name, or NULL */
  u64 checksum;
  char zSavedAt[24];
};

/* The table object of both tables. */
typedef struct StateVtab StateVtab;
struct StateVtab {
  sqlite3_vtab base;
  MlrecState *pState;
};

/* The start of the cursors of both tables. */
typedef struct RowCursor RowCursor;
struct RowCursor {
  sqlite3_vtab_cursor base;
  int iRow;              /* current row, from 0 */
};

typedef struct ModelsCursor ModelsCursor;
struct ModelsCursor {
  RowCursor r;           /* must be first */
  ModelRow aRow[3];
  int nRow;
};

typedef struct LogCursor LogCursor;
struct LogCursor {
  RowCursor r;           /* must be first */
  MlrecModel *pModel;    /* the model whose log is read, or NULL */
};

/* Declare table zSchema and make its table object, holding the state. */
static int stateConnect(sqlite3 *db, void *pAux, const char *zSchema,
                        sqlite3_vtab **ppVtab){
  StateVtab *pTab;
  int rc = sqlite3_declare_vtab(db, zSchema);
  if( rc!=SQLITE_OK ) return rc;
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pState = (MlrecState*)pAux;
  mlrecStateRef(pTab->pState);
  /* The user's tables and the connection's changing state: not from
  ** views, triggers or schema. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int modelsConnect(sqlite3 *db, void *pAux, int argc,
                         const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr){
  (void)argc;
  (void)argv;
  (void)pzErr;
  return stateConnect(db, pAux, MODELS_COLUMNS, ppVtab);
}

static int logConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr){
  (void)argc;
  (void)argv;
  (void)pzErr;
  return stateConnect(db, pAux, LOG_COLUMNS, ppVtab);
}

static int stateDisconnect(sqlite3_vtab *pVtab){
  StateVtab *pTab = (StateVtab*)pVtab;
  mlrecStateUnref(pTab->pState);
  sqlite3_free(pTab);
  return SQLITE_OK;
}

/* A zeroed cursor of nByte bytes. */
static int openCursor(size_t nByte, sqlite3_vtab_cursor **ppCursor){
  RowCursor *pCur = sqlite3_malloc64(nByte);
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, nByte);
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int rowNext(sqlite3_vtab_cursor *cur){
  ((RowCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int rowRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((RowCursor*)cur)->iRow+1;
  return SQLITE_OK;
}

static int modelsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 2.0;
  pInfo->estimatedRows = 2;
  return SQLITE_OK;
}

static int modelsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  (void)pVtab;
  return openCursor(sizeof(ModelsCursor), ppCursor);
}

static void modelsClearRows(ModelsCursor *pCur){
  int i;
  for(i=0; i<pCur->nRow; i++){
    sqlite3_free(pCur->aRow[i].zOptions);
    sqlite3_free(pCur->aRow[i].zName);
  }
  memset(pCur->aRow, 0, sizeof(pCur->aRow));
  pCur->nRow = 0;
  pCur->r.iRow = 0;
}

static int modelsClose(sqlite3_vtab_cursor *cur){
  modelsClearRows((ModelsCursor*)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Describe the ratings snapshot pR, current or not, as a row. */
static int knnRow(ModelRow *pRow, const MlrecRatings *pR, int stale){
  pRow->zModel = "knn";
  pRow->created = pR->loadedAt;
  pRow->nRating = pR->nRating;
  pRow->nUser = pR->nUser;
  pRow->nItem = pR->nItem;
  pRow->zOptions = sqlite3_mprintf("{\"metric\":\"cosine\"}");
  pRow->seconds = pR->seconds;
  pRow->rmse = -1.0;
  pRow->stale = stale;
  return pRow->zOptions ? SQLITE_OK : SQLITE_NOMEM;
}

/* Copy where a model came from into its row. */
static int originRow(ModelRow *pRow, const MlrecOrigin *o){
  pRow->eOrigin = o->eOrigin;
  pRow->checksum = o->checksum;
  memcpy(pRow->zSavedAt, o->zSavedAt, sizeof(pRow->zSavedAt));
  if( o->zName==0 ) return SQLITE_OK;
  pRow->zName = sqlite3_mprintf("%s", o->zName);
  return pRow->zName ? SQLITE_OK : SQLITE_NOMEM;
}

static int mfRow(ModelRow *pRow, const MlrecModel *m, int stale){
  pRow->zModel = "mf";
  pRow->created = m->trainedAt;
  pRow->nRating = m->nRating;
  pRow->nUser = m->nUser;
  pRow->nItem = m->nItem;
  pRow->zOptions = m->zOptions ? sqlite3_mprintf("%s", m->zOptions)
                              : mlrecMfOptionsJson(&m->opt);
  pRow->seconds = m->seconds;
  pRow->rmse = m->rmse;
  pRow->stale = stale;
  return pRow->zOptions ? SQLITE_OK : SQLITE_NOMEM;
}

static int rankerRow(ModelRow *pRow, const MlrecRanker *r, int stale){
  pRow->zModel = "ranker";
  pRow->created = r->trainedAt;
  pRow->nRating = r->nRating;
  pRow->nUser = r->nUser;
  pRow->nItem = r->nItem;
  pRow->zOptions = mlrecRankerOptionsJson(r);
  pRow->seconds = r->seconds;
  pRow->rmse = -1.0;
  pRow->stale = stale;
  return pRow->zOptions ? SQLITE_OK : SQLITE_NOMEM;
}

static int modelsFilter(sqlite3_vtab_cursor *cur, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  MlrecState *p = ((StateVtab*)cur->pVtab)->pState;
  MlrecRatings *pNow = 0;
  char *zErr = 0;
  int rc = SQLITE_OK;
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  modelsClearRows(pCur);
  rc = mlrecEnter(p, "mlrec_models", &zErr);
  if( rc!=SQLITE_OK ){
    sqlite3_free(cur->pVtab->zErrMsg);
    cur->pVtab->zErrMsg = zErr;
    return rc;
  }
  if( p->pRatings || p->pModel || p->pRanker ){
    rc = mlrecRatingsCurrent(p, &pNow, &zErr);
    sqlite3_free(zErr);   /* unreadable data only makes everything stale */
    rc = rc==SQLITE_NOMEM ? rc : SQLITE_OK;
  }
  if( rc==SQLITE_OK && p->pRatings ){
    rc = knnRow(&pCur->aRow[pCur->nRow++], p->pRatings, pNow==0);
  }
  if( rc==SQLITE_OK && p->pModel ){
    rc = mfRow(&pCur->aRow[pCur->nRow], p->pModel,
               pNow==0 || pNow->hash!=p->pModel->dataHash
               || pNow->nRating!=p->pModel->nRating);
    if( rc==SQLITE_OK ){
      rc = originRow(&pCur->aRow[pCur->nRow], &p->modelOrigin);
    }
    pCur->nRow++;
  }
  if( rc==SQLITE_OK && p->pRanker ){
    rc = rankerRow(&pCur->aRow[pCur->nRow], p->pRanker,
                   pNow==0 || pNow->hash!=p->pRanker->dataHash
                   || pNow->nRating!=p->pRanker->nRating);
    if( rc==SQLITE_OK ){
      rc = originRow(&pCur->aRow[pCur->nRow], &p->rankerOrigin);
    }
    pCur->nRow++;
  }
  mlrecRatingsUnref(pNow);
  mlrecLeave(p);
  return rc;
}

static int modelsEof(sqlite3_vtab_cursor *cur){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  return pCur->r.iRow>=pCur->nRow;
}

/* The origin column, by MLREC_ORIGIN_*. */
static const char *const azOrigin[] = { "trained", "loaded", "imported" };

static int modelsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                        int i){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  const ModelRow *pRow = &pCur->aRow[pCur->r.iRow];
  char zTime[32];
  switch( i ){
    case 0: sqlite3_result_text(ctx, pRow->zModel, -1, SQLITE_STATIC); break;
    case 1:
      mlrecFormatTime(pRow->created, zTime, sizeof(zTime));
      sqlite3_result_text(ctx, zTime, -1, SQLITE_TRANSIENT);
      break;
    case 2: sqlite3_result_int64(ctx, pRow->nRating); break;
    case 3: sqlite3_result_int(ctx, pRow->nUser); break;
    case 4: sqlite3_result_int(ctx, pRow->nItem); break;
    case 5: sqlite3_result_text(ctx, pRow->zOptions, -1, SQLITE_TRANSIENT);
            break;
    case 6: sqlite3_result_double(ctx, pRow->seconds); break;
    case 7: if( pRow->rmse>=0.0 ) sqlite3_result_double(ctx, pRow->rmse);
            break;
    case 8: sqlite3_result_int(ctx, pRow->stale); break;
    case 9: sqlite3_result_text(ctx, azOrigin[pRow->eOrigin], -1,
                                SQLITE_STATIC);
            break;
    case 10:
      if( pRow->zName ){
        sqlite3_result_text(ctx, pRow->zName, -1, SQLITE_TRANSIENT);
      }
      break;
    case 11:
      if( pRow->zName ){
        sqlite3_snprintf(sizeof(zTime), zTime, "%016llx", pRow->checksum);
        sqlite3_result_text(ctx, zTime, -1, SQLITE_TRANSIENT);
      }
      break;
    default:
      if( pRow->zName ){
        sqlite3_result_text(ctx, pRow->zSavedAt, -1, SQLITE_TRANSIENT);
      }
      break;
  }
  return SQLITE_OK;
}

static int logBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 25.0;
  pInfo->estimatedRows = 25;
  if( pInfo->nOrderBy==1 && pInfo->aOrderBy[0].iColumn==0
   && !pInfo->aOrderBy[0].desc ){
    pInfo->orderByConsumed = 1;   /* rows come in epoch order */
  }
  return SQLITE_OK;
}

static int logOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  (void)pVtab;
  return openCursor(sizeof(LogCursor), ppCursor);
}

static int logClose(sqlite3_vtab_cursor *cur){
  mlrecModelUnref(((LogCursor*)cur)->pModel);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Read the log of the model the connection holds now, if any: the cursor
** keeps that model, and its log, even if train_mf() replaces it. */
static int logFilter(sqlite3_vtab_cursor *cur, int idxNum,
                     const char *idxStr, int argc, sqlite3_value **argv){
  LogCursor *pCur = (LogCursor*)cur;
  MlrecState *p = ((StateVtab*)cur->pVtab)->pState;
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  mlrecModelUnref(pCur->pModel);
  pCur->pModel = p->pModel;
  if( pCur->pModel ) mlrecModelRef(pCur->pModel);
  pCur->r.iRow = 0;
  return SQLITE_OK;
}

static int logEof(sqlite3_vtab_cursor *cur){
  LogCursor *pCur = (LogCursor*)cur;
  return pCur->pModel==0 || pCur->r.iRow>=pCur->pModel->nLog;
}

static int logColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  LogCursor *pCur = (LogCursor*)cur;
  int iRow = pCur->r.iRow;
  const MlrecEpoch *x = &pCur->pModel->aLog[iRow];
  switch( i ){
    case 0: sqlite3_result_int(ctx, iRow+1); break;
    case 1: sqlite3_result_double(ctx, x->trainRmse); break;
    case 2: if( x->validRmse>=0.0 ) sqlite3_result_double(ctx, x->validRmse);
            break;
    case 3: sqlite3_result_double(ctx, x->seconds); break;
    default: sqlite3_result_int(ctx, iRow==pCur->pModel->iKept); break;
  }
  return SQLITE_OK;
}

/* Eponymous-only (no xCreate), read-only. */
static const sqlite3_module modelsModule = {
  .xConnect = modelsConnect,
  .xBestIndex = modelsBestIndex,
  .xDisconnect = stateDisconnect,
  .xOpen = modelsOpen,
  .xClose = modelsClose,
  .xFilter = modelsFilter,
  .xNext = rowNext,
  .xEof = modelsEof,
  .xColumn = modelsColumn,
  .xRowid = rowRowid,
};

static const sqlite3_module logModule = {
  .xConnect = logConnect,
  .xBestIndex = logBestIndex,
  .xDisconnect = stateDisconnect,
  .xOpen = logOpen,
  .xClose = logClose,
  .xFilter = logFilter,
  .xNext = rowNext,
  .xEof = logEof,
  .xColumn = logColumn,
  .xRowid = rowRowid,
};

/* Register mlrec_models and mlrec_training_log. */
int mlrecRegisterModels(sqlite3 *db, MlrecState *p){
  int rc;
  mlrecStateRef(p);
  rc = sqlite3_create_module_v2(db, "mlrec_models", &modelsModule, p,
                                mlrecStateUnref);
  if( rc!=SQLITE_OK ) return rc;
  mlrecStateRef(p);
  return sqlite3_create_module_v2(db, "mlrec_training_log", &logModule, p,
                                  mlrecStateUnref);
}
