/*
** models.c: the virtual table mlrec_models, what the connection holds in
** memory.
**
**     SELECT * FROM mlrec_models;
**       model  created              ratings users items options  seconds rmse stale
**       knn    2026-11-27 14:00:00  100836  610   9724  {...}    0.02    NULL 0
**       mf     2026-11-27 14:00:01  100836  610   9724  {...}    0.21    0.63 0
**
** One row for the ratings snapshot behind similar_movies() ("knn"), one for
** the model of train_mf() ("mf"), each if it exists.  created is UTC,
** seconds the time the build or the training took, rmse the training error.
** stale is 1 when the ratings table has changed since the model was built
** (or can no longer be read): similar_movies() then rebuilds on its next
** query, while the "mf" model is kept until train_mf() is called again.
** Reading this table re-reads the ratings table if the database changed.
*/
#include "mlrec.h"
#include <string.h>

#define MODELS_COLUMNS "CREATE TABLE x(model TEXT, created TEXT, " \
  "ratings INTEGER, users INTEGER, items INTEGER, options TEXT, " \
  "seconds REAL, rmse REAL, stale INTEGER)"

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
};

typedef struct ModelsVtab ModelsVtab;
struct ModelsVtab {
  sqlite3_vtab base;
  MlrecState *pState;
};

typedef struct ModelsCursor ModelsCursor;
struct ModelsCursor {
  sqlite3_vtab_cursor base;
  ModelRow aRow[2];
  int nRow;
  int iRow;
};

static int modelsConnect(sqlite3 *db, void *pAux, int argc,
                         const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr){
  ModelsVtab *pTab;
  int rc;
  (void)argc;
  (void)argv;
  (void)pzErr;
  rc = sqlite3_declare_vtab(db, MODELS_COLUMNS);
  if( rc!=SQLITE_OK ) return rc;
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pState = (MlrecState*)pAux;
  mlrecStateRef(pTab->pState);
  /* Reads the user's tables: not from views, triggers or schema. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int modelsDisconnect(sqlite3_vtab *pVtab){
  ModelsVtab *pTab = (ModelsVtab*)pVtab;
  mlrecStateUnref(pTab->pState);
  sqlite3_free(pTab);
  return SQLITE_OK;
}

static int modelsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 2.0;
  pInfo->estimatedRows = 2;
  return SQLITE_OK;
}

static int modelsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  ModelsCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static void modelsClearRows(ModelsCursor *pCur){
  int i;
  for(i=0; i<pCur->nRow; i++) sqlite3_free(pCur->aRow[i].zOptions);
  pCur->nRow = 0;
  pCur->iRow = 0;
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

static int modelsFilter(sqlite3_vtab_cursor *cur, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  MlrecState *p = ((ModelsVtab*)cur->pVtab)->pState;
  MlrecRatings *pNow = 0;
  char *zErr = 0;
  int rc = SQLITE_OK;
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  modelsClearRows(pCur);
  if( p->pRatings || p->pModel ){
    rc = mlrecRatingsCurrent(p, &pNow, &zErr);
    sqlite3_free(zErr);   /* unreadable data only makes everything stale */
    if( rc==SQLITE_NOMEM ) return rc;
    rc = SQLITE_OK;
  }
  if( p->pRatings ){
    rc = knnRow(&pCur->aRow[pCur->nRow++], p->pRatings, pNow==0);
  }
  if( rc==SQLITE_OK && p->pModel ){
    rc = mfRow(&pCur->aRow[pCur->nRow++], p->pModel,
               pNow==0 || pNow->hash!=p->pModel->dataHash
               || pNow->nRating!=p->pModel->nRating);
  }
  mlrecRatingsUnref(pNow);
  return rc;
}

static int modelsNext(sqlite3_vtab_cursor *cur){
  ((ModelsCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int modelsEof(sqlite3_vtab_cursor *cur){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  return pCur->iRow>=pCur->nRow;
}

static int modelsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                        int i){
  ModelsCursor *pCur = (ModelsCursor*)cur;
  const ModelRow *pRow = &pCur->aRow[pCur->iRow];
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
    default: sqlite3_result_int(ctx, pRow->stale); break;
  }
  return SQLITE_OK;
}

static int modelsRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((ModelsCursor*)cur)->iRow+1;
  return SQLITE_OK;
}

/* Eponymous-only (no xCreate), read-only. */
static const sqlite3_module modelsModule = {
  .xConnect = modelsConnect,
  .xBestIndex = modelsBestIndex,
  .xDisconnect = modelsDisconnect,
  .xOpen = modelsOpen,
  .xClose = modelsClose,
  .xFilter = modelsFilter,
  .xNext = modelsNext,
  .xEof = modelsEof,
  .xColumn = modelsColumn,
  .xRowid = modelsRowid,
};

int mlrecRegisterModels(sqlite3 *db, MlrecState *p){
  mlrecStateRef(p);
  return sqlite3_create_module_v2(db, "mlrec_models", &modelsModule, p,
                                  mlrecStateUnref);
}
