/*
** training_log.c: the virtual table mlrec_training_log, the epochs of the
** model train_mf() last trained on this connection.
**
**     SELECT train_mf('{"epochs": 30, "validation": 0.1, "patience": 3}');
**     SELECT * FROM mlrec_training_log;
**       epoch  train_rmse  validation_rmse  seconds  kept
**       1      0.9312      0.9535           0.012    0
**       ...
**       14     0.7043      0.8712           0.011    1
**       ...
**
** One row per epoch run (monitor.c writes the log): the RMSE on the training
** ratings after the epoch, the RMSE of predict() on the held-out ratings
** (NULL without a "validation" fraction), the seconds the epoch took, and
** kept = 1 on the epoch whose parameters the model holds (the last one, or
** the best one with early stopping).  No rows before a model is trained.
*/
#include "mlrec.h"
#include <string.h>

#define LOG_COLUMNS "CREATE TABLE x(epoch INTEGER, train_rmse REAL, " \
  "validation_rmse REAL, seconds REAL, kept INTEGER)"

typedef struct LogVtab LogVtab;
struct LogVtab {
  sqlite3_vtab base;
  MlrecState *pState;
};

typedef struct LogCursor LogCursor;
struct LogCursor {
  sqlite3_vtab_cursor base;
  MlrecModel *pModel;    /* the model whose log is read, or NULL */
  int iRow;
};

static int logConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr){
  LogVtab *pTab;
  int rc;
  (void)argc;
  (void)argv;
  (void)pzErr;
  rc = sqlite3_declare_vtab(db, LOG_COLUMNS);
  if( rc!=SQLITE_OK ) return rc;
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->pState = (MlrecState*)pAux;
  mlrecStateRef(pTab->pState);
  /* The connection's state, which changes: not from views or triggers. */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int logDisconnect(sqlite3_vtab *pVtab){
  LogVtab *pTab = (LogVtab*)pVtab;
  mlrecStateUnref(pTab->pState);
  sqlite3_free(pTab);
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
  LogCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int logClose(sqlite3_vtab_cursor *cur){
  mlrecModelUnref(((LogCursor*)cur)->pModel);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Read the log of the model the connection holds now, if any. */
static int logFilter(sqlite3_vtab_cursor *cur, int idxNum,
                     const char *idxStr, int argc, sqlite3_value **argv){
  LogCursor *pCur = (LogCursor*)cur;
  MlrecState *p = ((LogVtab*)cur->pVtab)->pState;
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  mlrecModelUnref(pCur->pModel);
  pCur->pModel = p->pModel;
  if( pCur->pModel ) pCur->pModel->nRef++;
  pCur->iRow = 0;
  return SQLITE_OK;
}

static int logNext(sqlite3_vtab_cursor *cur){
  ((LogCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int logEof(sqlite3_vtab_cursor *cur){
  LogCursor *pCur = (LogCursor*)cur;
  return pCur->pModel==0 || pCur->iRow>=pCur->pModel->nLog;
}

static int logColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  LogCursor *pCur = (LogCursor*)cur;
  const MlrecEpoch *x = &pCur->pModel->aLog[pCur->iRow];
  switch( i ){
    case 0: sqlite3_result_int(ctx, pCur->iRow+1); break;
    case 1: sqlite3_result_double(ctx, x->trainRmse); break;
    case 2: if( x->validRmse>=0.0 ) sqlite3_result_double(ctx, x->validRmse);
            break;
    case 3: sqlite3_result_double(ctx, x->seconds); break;
    default: sqlite3_result_int(ctx, pCur->iRow==pCur->pModel->iKept); break;
  }
  return SQLITE_OK;
}

static int logRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  *pRowid = ((LogCursor*)cur)->iRow+1;
  return SQLITE_OK;
}

/* Eponymous-only (no xCreate), read-only. */
static const sqlite3_module logModule = {
  .xConnect = logConnect,
  .xBestIndex = logBestIndex,
  .xDisconnect = logDisconnect,
  .xOpen = logOpen,
  .xClose = logClose,
  .xFilter = logFilter,
  .xNext = logNext,
  .xEof = logEof,
  .xColumn = logColumn,
  .xRowid = logRowid,
};

int mlrecRegisterTrainingLog(sqlite3 *db, MlrecState *p){
  mlrecStateRef(p);
  return sqlite3_create_module_v2(db, "mlrec_training_log", &logModule, p,
                                  mlrecStateUnref);
}
