/*
** history.c: the movies one user has rated now, read from the ratings
** table (or a snapshot of it) when a model serves the user: the ranking
** model folds the user in from them, the rating model folds in a user it
** was not trained on, and recommend() leaves them out.
**
**     SELECT "movieId", "rating" FROM "ratings" WHERE "userId" = ?1
**      ORDER BY "timestamp", "movieId"
**
** (names from mlrec_config(); without a time column, by movie id).  An
** index on the user column, as MovieLens' primary key gives, makes it a
** lookup, not a scan.
*/
#include "core.h"
#include <string.h>

/*
** Prepare the statement that reads a user's ratings: in time order, oldest
** first (ties by movie id) if bTimed, else by movie id.  An index on the
** user column (MovieLens' primary key) makes it a lookup, not a scan.
*/
int mlrecHistoryOpen(MlrecState *p, int bTimed, MlrecHistoryReader *pRd,
                     char **pzErr){
  const MlrecConfig *c = &p->cfg;
  char *zTime = bTimed ? sqlite3_mprintf("\"%w\".\"%w\", ", c->zRatings,
                                         c->zTime) : 0;
  char *zFrom = mlrecFromSql(p->db, c->zRatings);
  char *zSql = (bTimed && zTime==0) || zFrom==0 ? 0 : sqlite3_mprintf(
      "SELECT \"%w\".\"%w\", \"%w\".\"%w\" FROM %s WHERE \"%w\".\"%w\" = ?1 "
      "ORDER BY %s\"%w\".\"%w\"",
      c->zRatings, c->zMovie, c->zRatings, c->zRating, zFrom,
      c->zRatings, c->zUser, zTime ? zTime : "", c->zRatings, c->zMovie);
  int rc;
  sqlite3_free(zTime);
  sqlite3_free(zFrom);
  pRd->pStmt = 0;
  pRd->pState = p;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pRd->pStmt, 0);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    mlrecSetError(pzErr, "mlrec: cannot read the ratings of a user: %s",
                  sqlite3_errmsg(p->db));
  }
  return rc;
}

/* Make room in pHist for n ratings. */
static int historyReserve(MlrecHistory *pHist, int n){
  if( n>pHist->nAlloc ){
    int nNew = n>2*pHist->nAlloc ? n : 2*pHist->nAlloc;
    i64 *aId = sqlite3_realloc64(pHist->aId, sizeof(i64)*nNew);
    float *aRating = aId ? sqlite3_realloc64(pHist->aRating,
                                             sizeof(float)*nNew) : 0;
    if( aId ) pHist->aId = aId;
    if( aRating==0 ) return SQLITE_NOMEM;
    pHist->aRating = aRating;
    pHist->nAlloc = nNew;
  }
  return SQLITE_OK;
}

/*
** The ratings of user iUser in snapshot pR, by movie id: the history when
** there is no time column to order it.
*/
int mlrecHistoryFromSnapshot(const MlrecRatings *pR, i64 iUser,
                             MlrecHistory *pHist){
  int u = mlrecFindId(pR->aUserId, pR->nUser, iUser);
  i64 k, k0 = u>=0 ? pR->aUserStart[u] : 0;
  int n = u>=0 ? (int)(pR->aUserStart[u+1] - k0) : 0;
  int rc = historyReserve(pHist, n);
  if( rc!=SQLITE_OK ) return rc;
  for(k=0; k<n; k++){
    pHist->aId[k] = pR->aItemId[pR->aUserItem[k0+k]];
    pHist->aRating[k] = mlrecUserRating(pR, k0+k);
  }
  pHist->n = n;
  return SQLITE_OK;
}

/*
** Read the ratings of user iUser into pHist (replacing its content).  A row
** whose movie id is not an integer is left out (it cannot be a movie of a
** model); a rating that is not a number is an error, as in ratings.c.
*/
int mlrecHistoryRead(MlrecHistoryReader *pRd, i64 iUser, MlrecHistory *pHist,
                     char **pzErr){
  const char *zPrev = mlrecReading(pRd->pState, "the ratings table");
  int rc;
  pHist->n = 0;
  sqlite3_reset(pRd->pStmt);
  sqlite3_bind_int64(pRd->pStmt, 1, iUser);
  while( (rc = sqlite3_step(pRd->pStmt))==SQLITE_ROW ){
    i64 iId;
    double r;
    if( mlrecArgToId(sqlite3_column_value(pRd->pStmt, 0), &iId) ) continue;
    rc = mlrecReadRating(pRd->pStmt, 1, &pRd->pState->cfg, iUser, iId, &r,
                         pzErr);
    if( rc==SQLITE_OK ) rc = historyReserve(pHist, pHist->n+1);
    if( rc!=SQLITE_OK ) break;
    pHist->aId[pHist->n] = iId;
    pHist->aRating[pHist->n] = (float)r;
    pHist->n++;
  }
  if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }else if( *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "mlrec: reading the ratings of user %lld: %s", iUser,
                  sqlite3_errmsg(sqlite3_db_handle(pRd->pStmt)));
  }
  sqlite3_reset(pRd->pStmt);
  mlrecReading(pRd->pState, zPrev);
  return rc;
}

void mlrecHistoryClose(MlrecHistoryReader *pRd){
  sqlite3_finalize(pRd->pStmt);
  pRd->pStmt = 0;
}

void mlrecHistoryFree(MlrecHistory *pHist){
  sqlite3_free(pHist->aId);
  sqlite3_free(pHist->aRating);
  memset(pHist, 0, sizeof(*pHist));
}
