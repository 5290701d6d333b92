/*
** saved_ranking.c: the ranking model of train_ranker(), the default model
** of recommend(), saved into tables of the database and loaded back, for
** mlrec_save_model() and mlrec_load_model() (persist.c).
**
** THE TABLES (format 2, in "main", created by the first save)
**
**   mlrec_saved_rankers       one row per saved name that holds a ranking
**     model: name, the columns of every kind (saved.c: format, users,
**     items, factors, ratings and data_hash, rating_min, rating_max,
**     options, info, checksum, saved_at), timed (1: it has sequence links)
**     and gram, the Gram matrix Y'Y of its movie factors (float64, little
**     endian, factors x factors), which folding a user in solves against.
**   mlrec_saved_ranker_items  one row per movie: model, id, count (its
**     ratings, which rank a user the model cannot place), factors (float32
**     blob) and links, its strongest sequence links: n int32 positions of
**     the linked movies (in ascending ids) then n float32 weights, empty
**     if not timed.
**
** A load reads every row (each recommend() scores every movie), checks
** each and the checksum over the header and all the rows.
*/
#include "saved.h"
#include <math.h>
#include <string.h>

static const char zSchema[] =
  "CREATE TABLE IF NOT EXISTS main.mlrec_saved_rankers("
    "name TEXT PRIMARY KEY, format INTEGER NOT NULL, users INTEGER NOT NULL, "
    "items INTEGER NOT NULL, factors INTEGER NOT NULL, "
    "ratings INTEGER NOT NULL, data_hash TEXT NOT NULL, rating_min REAL, "
    "rating_max REAL, options TEXT NOT NULL, info TEXT NOT NULL, "
    "checksum TEXT NOT NULL, saved_at TEXT NOT NULL, timed INTEGER NOT NULL, "
    "gram BLOB NOT NULL);"
  "CREATE TABLE IF NOT EXISTS main.mlrec_saved_ranker_items("
    "model TEXT NOT NULL, id INTEGER NOT NULL, count INTEGER NOT NULL, "
    "factors BLOB NOT NULL, links BLOB NOT NULL, "
    "PRIMARY KEY(model, id)) WITHOUT ROWID;";

/* Begin the checksum of a ranking model: its header and Gram matrix
** (aGram, the bytes of its blob). */
static void sumHeader(MlrecSum *c, const MlrecSavedHeader *pH, int bTimed,
                      const unsigned char *aGram){
  mlrecSumInit(c);
  mlrecSumText(c, "ranker");
  mlrecSavedHeaderSum(c, pH);
  mlrecSumU64(c, (u64)bTimed);
  mlrecSumBytes(c, aGram, 8*(size_t)(pH->nFactor*pH->nFactor));
}

/* Add one movie's row to the checksum: its id, count and blobs. */
static void sumItem(MlrecSum *c, i64 iId, int nCount,
                    const unsigned char *aFactor, int nFactorByte,
                    const unsigned char *aLink, i64 nLinkByte){
  mlrecSumU64(c, (u64)iId);
  mlrecSumU64(c, (u64)nCount);
  mlrecSumBytes(c, aFactor, (size_t)nFactorByte);
  mlrecSumU64(c, (u64)nLinkByte);
  mlrecSumBytes(c, aLink, (size_t)nLinkByte);
}

/* ---- Saving -------------------------------------------------------------- */

/* Insert the movies of r, adding them to checksum c. */
static int insertItems(sqlite3 *db, const char *zName, const MlrecRanker *r,
                       MlrecSum *c){
  int f = r->nFactor, i, rc;
  sqlite3_stmt *pStmt = 0;
  unsigned char aFactor[4*MLREC_MAX_FACTORS];
  unsigned char *aLink = 0;
  i64 nLinkAlloc = 0;
  rc = sqlite3_prepare_v2(db, "INSERT INTO main.mlrec_saved_ranker_items "
                          "VALUES(?1, ?2, ?3, ?4, ?5)", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  for(i=0; rc==SQLITE_OK && i<r->nItem; i++){
    i64 k0 = r->bTimed ? r->aLinkStart[i] : 0;
    int n = r->bTimed ? (int)(r->aLinkStart[i+1] - k0) : 0;
    if( 8*(i64)n>=nLinkAlloc ){
      unsigned char *aNew = sqlite3_realloc64(aLink, 8*(i64)n+8);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aLink = aNew;
      nLinkAlloc = 8*(i64)n+8;
    }
    mlrecPutFloats(aFactor, r->aItemFactor + (i64)i*f, f);
    if( n>0 ){
      mlrecPutInts(aLink, r->aLinkItem + k0, n);
      mlrecPutFloats(aLink + 4*(i64)n, r->aLinkWeight + k0, n);
    }
    sumItem(c, r->aItemId[i], r->aItemCount[i], aFactor, 4*f, aLink, 8*(i64)n);
    sqlite3_bind_int64(pStmt, 2, r->aItemId[i]);
    sqlite3_bind_int(pStmt, 3, r->aItemCount[i]);
    sqlite3_bind_blob(pStmt, 4, aFactor, 4*f, SQLITE_STATIC);
    sqlite3_bind_blob64(pStmt, 5, aLink, 8*(sqlite3_uint64)n, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  sqlite3_free(aLink);
  sqlite3_finalize(pStmt);
  return rc;
}

static int insertHeader(sqlite3 *db, const char *zName,
                        const MlrecSavedHeader *pH, int bTimed,
                        const unsigned char *aGram){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db,
      "INSERT INTO main.mlrec_saved_rankers(name, " MLREC_SAVED_COLUMNS
      ", timed, gram) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15)", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  mlrecSavedHeaderBind(pStmt, pH);
  sqlite3_bind_int(pStmt, 14, bTimed);
  sqlite3_bind_blob64(pStmt, 15, aGram,
                      8*(sqlite3_uint64)(pH->nFactor*pH->nFactor),
                      SQLITE_STATIC);
  sqlite3_step(pStmt);
  return sqlite3_finalize(pStmt);
}

/* Delete the ranking model saved under zName, if any (creating the
** tables if needed, inside the caller's SAVEPOINT). */
int mlrecForgetRanking(sqlite3 *db, const char *zName){
  int rc = sqlite3_exec(db, zSchema, 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = mlrecSavedExec(db, "DELETE FROM main.mlrec_saved_ranker_items "
                        "WHERE model = ?1", zName);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecSavedExec(db, "DELETE FROM main.mlrec_saved_rankers "
                        "WHERE name = ?1", zName);
  }
  return rc;
}

/*
** Save ranking model r under zName, replacing what was there, inside the
** caller's SAVEPOINT, and set pOrigin->checksum and zSavedAt to those of
** the saved model.
*/
int mlrecSaveRanking(sqlite3 *db, const char *zName, const MlrecRanker *r,
                     MlrecOrigin *pOrigin){
  MlrecSavedHeader h;
  MlrecSum c;
  unsigned char *aGram = sqlite3_malloc64(8*(i64)r->nFactor*r->nFactor);
  int rc = SQLITE_OK;
  memset(&h, 0, sizeof(h));
  h.nUser = r->nUser;
  h.nItem = r->nItem;
  h.nFactor = r->nFactor;
  h.nRating = r->nRating;
  h.dataHash = r->dataHash;
  h.rMin = r->rMin;
  h.rMax = r->rMax;
  h.zOptions = mlrecOptionsJson(mlrecRankerOptionSpec, mlrecRankerOptionCount,
                                &r->opt);
  h.zInfo = sqlite3_mprintf("{\"seconds\":%!.17g,\"trained_at\":%lld}",
                            r->seconds, r->trainedAt);
  mlrecSavedNow(h.zSavedAt, sizeof(h.zSavedAt));
  if( h.zOptions==0 || h.zInfo==0 || aGram==0 ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ){
    mlrecPutDoubles(aGram, r->aGram, r->nFactor*r->nFactor);
    sumHeader(&c, &h, r->bTimed, aGram);
    rc = mlrecForgetRanking(db, zName);
  }
  if( rc==SQLITE_OK ) rc = insertItems(db, zName, r, &c);
  if( rc==SQLITE_OK ){
    h.checksum = c.h;
    rc = insertHeader(db, zName, &h, r->bTimed, aGram);
  }
  if( rc==SQLITE_OK ){
    pOrigin->checksum = h.checksum;
    memcpy(pOrigin->zSavedAt, h.zSavedAt, sizeof(h.zSavedAt));
  }
  sqlite3_free(aGram);
  mlrecSavedHeaderClear(&h);
  return rc;
}

/* ---- Loading ------------------------------------------------------------- */

/* A ranking model being read. */
typedef struct Reading Reading;
struct Reading {
  const char *zName;
  MlrecSavedHeader h;
  MlrecRanker *r;
  i64 nLinkAlloc;          /* room in r->aLinkItem and r->aLinkWeight */
  MlrecSum sum;
};

/* An empty ranker for header pH with room for its movies. */
static MlrecRanker *newRanker(const MlrecSavedHeader *pH){
  MlrecRanker *r = sqlite3_malloc64(sizeof(*r));
  i64 n = pH->nItem+1;
  if( r==0 ) return 0;
  memset(r, 0, sizeof(*r));
  mlrecSharedInit(&r->shared);
  r->nUser = (int)pH->nUser;
  r->nFactor = (int)pH->nFactor;
  r->aItemId = sqlite3_malloc64(sizeof(i64)*n);
  r->aItemCount = sqlite3_malloc64(sizeof(int)*n);
  r->aItemFactor = sqlite3_malloc64(sizeof(float)*n*pH->nFactor);
  r->aGram = sqlite3_malloc64(sizeof(double)*(pH->nFactor*pH->nFactor+1));
  r->aLinkStart = sqlite3_malloc64(sizeof(i64)*n);
  if( !r->aItemId || !r->aItemCount || !r->aItemFactor || !r->aGram
   || !r->aLinkStart ){
    mlrecRankerUnref(r);
    return 0;
  }
  r->aLinkStart[0] = 0;
  r->rMin = pH->rMin;
  r->rMax = pH->rMax;
  r->nRating = pH->nRating;
  r->dataHash = pH->dataHash;
  r->seconds = pH->seconds;
  r->trainedAt = pH->trainedAt;
  return r;
}

/* Check and keep the extra columns of the header row in pStmt (timed,
** gram, after the common ones) and begin the checksum. */
static int readExtra(sqlite3 *db, sqlite3_stmt *pStmt, Reading *p,
                     char **pzErr){
  int iCol = MLREC_SAVED_NCOLUMN, f = (int)p->h.nFactor, rc;
  const unsigned char *aGram = sqlite3_column_blob(pStmt, iCol+1);
  char *zIgnored = 0;
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_INTEGER
   || (sqlite3_column_int(pStmt, iCol)|1)!=1
   || sqlite3_column_type(pStmt, iCol+1)!=SQLITE_BLOB
   || sqlite3_column_bytes(pStmt, iCol+1)!=8*f*f
   || !isfinite(p->h.rMin) || !isfinite(p->h.rMax) ){
    return mlrecSavedDamaged(pzErr, p->zName, "timed, gram, rating_min or "
                             "rating_max of its ranking model is not valid");
  }
  if( aGram==0 ) return SQLITE_NOMEM;
  p->r = newRanker(&p->h);
  if( p->r==0 ) return SQLITE_NOMEM;
  p->r->bTimed = sqlite3_column_int(pStmt, iCol);
  mlrecGetDoubles(p->r->aGram, aGram, f*f);
  sumHeader(&p->sum, &p->h, p->r->bTimed, aGram);
  rc = mlrecParseOptions(db, "mlrec_load_model", sqlite3_column_value(pStmt,
                         8), mlrecRankerOptionSpec, mlrecRankerOptionCount,
                         &p->r->opt, &zIgnored);
  sqlite3_free(zIgnored);
  if( rc==SQLITE_ERROR || (rc==SQLITE_OK && p->r->opt.nFactor!=f) ){
    return mlrecSavedDamaged(pzErr, p->zName, "the options of its ranking "
                             "model are not those of train_ranker()");
  }
  return rc;
}

/* Read and check the header of the ranking model saved as p->zName;
** SQLITE_DONE if there is none. */
static int readHeader(sqlite3 *db, Reading *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db,
      "SELECT " MLREC_SAVED_COLUMNS ", json_extract(info, '$.seconds'), "
      "json_extract(info, '$.trained_at'), timed, gram "
      "FROM main.mlrec_saved_rankers WHERE name = ?1", p->zName, &pStmt,
      pzErr);
  if( rc!=SQLITE_OK ) return rc==SQLITE_ERROR && *pzErr==0 ? SQLITE_DONE : rc;
  sqlite3_bind_text(pStmt, 1, p->zName, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    rc = mlrecSavedHeaderRead(pStmt, p->zName, &p->h, pzErr);
    if( rc==SQLITE_OK ) rc = readExtra(db, pStmt, p, pzErr);
  }else if( rc!=SQLITE_DONE ){
    rc = mlrecSavedStepError(db, rc, p->zName, pzErr);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Append the n links of blob a (positions then weights) to p->r. */
static int addLinks(Reading *p, const unsigned char *a, int n){
  MlrecRanker *r = p->r;
  i64 k0 = r->aLinkStart[r->nItem], k;
  int bad = 0;
  if( n==0 ) return SQLITE_OK;   /* (an empty blob may be a NULL pointer) */
  if( k0+n>p->nLinkAlloc ){
    i64 nNew = 2*(k0+n) + 1024;
    int *aItem = sqlite3_realloc64(r->aLinkItem, sizeof(int)*nNew);
    float *aWeight;
    if( aItem ) r->aLinkItem = aItem;
    aWeight = sqlite3_realloc64(r->aLinkWeight, sizeof(float)*nNew);
    if( aWeight ) r->aLinkWeight = aWeight;
    if( !aItem || !aWeight ) return SQLITE_NOMEM;
    p->nLinkAlloc = nNew;
  }
  mlrecGetInts(r->aLinkItem + k0, a, n);
  mlrecGetFloats(r->aLinkWeight + k0, a + 4*(i64)n, n);
  /* ascending from 0 up to the last movie: one comparison a link */
  if( r->aLinkItem[k0]<0 || r->aLinkItem[k0+n-1]>=p->h.nItem ){
    return SQLITE_CORRUPT;
  }
  for(k=k0+1; k<k0+n; k++) bad |= r->aLinkItem[k]<=r->aLinkItem[k-1];
  return !bad && mlrecAllFinite(r->aLinkWeight + k0, n) ? SQLITE_OK
                                                        : SQLITE_CORRUPT;
}

/* Append the movie in the current row of pStmt (id, count, factors,
** links) to p->r. */
static int readItem(sqlite3_stmt *pStmt, Reading *p, char **pzErr){
  MlrecRanker *r = p->r;
  int f = r->nFactor, i = r->nItem, rc;
  const unsigned char *aFactor = sqlite3_column_blob(pStmt, 2);
  const unsigned char *aLink = sqlite3_column_blob(pStmt, 3);
  i64 nLink = sqlite3_column_bytes(pStmt, 3);
  i64 iId = sqlite3_column_int64(pStmt, 0);
  if( sqlite3_column_type(pStmt, 0)!=SQLITE_INTEGER
   || (i>0 && iId<=r->aItemId[i-1])
   || sqlite3_column_type(pStmt, 1)!=SQLITE_INTEGER
   || sqlite3_column_int64(pStmt, 1)<0
   || sqlite3_column_int64(pStmt, 1)>0x7fffffff
   || sqlite3_column_type(pStmt, 2)!=SQLITE_BLOB
   || sqlite3_column_bytes(pStmt, 2)!=4*f
   || sqlite3_column_type(pStmt, 3)!=SQLITE_BLOB
   || nLink%8!=0 || (nLink>0 && !r->bTimed) ){
    return mlrecSavedDamaged(pzErr, p->zName, "the ranking row of movie "
                             "%lld is not an ascending integer id, a count, "
                             "%d float32 factors and links", iId, f);
  }
  if( aFactor==0 || (aLink==0 && nLink>0) ) return SQLITE_NOMEM;
  r->aItemId[i] = iId;
  r->aItemCount[i] = sqlite3_column_int(pStmt, 1);
  mlrecGetFloats(r->aItemFactor + (i64)i*f, aFactor, f);
  rc = addLinks(p, aLink, (int)(nLink/8));
  if( rc==SQLITE_CORRUPT || !mlrecAllFinite(r->aItemFactor + (i64)i*f, f) ){
    return mlrecSavedDamaged(pzErr, p->zName, "the ranking row of movie %lld "
                             "has a factor, link or weight that is not valid",
                             iId);
  }
  if( rc!=SQLITE_OK ) return rc;
  sumItem(&p->sum, iId, r->aItemCount[i], aFactor, 4*f, aLink, nLink);
  r->aLinkStart[i+1] = r->aLinkStart[i] + nLink/8;
  r->nItem++;
  return SQLITE_OK;
}

/* Read the movies of the ranking model p->zName and check the checksum. */
static int readItems(sqlite3 *db, Reading *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db,
      "SELECT id, count, factors, links FROM main.mlrec_saved_ranker_items "
      "WHERE model = ?1 ORDER BY id", p->zName, &pStmt, pzErr);
  if( rc==SQLITE_ERROR && *pzErr==0 ){   /* the table is missing */
    rc = mlrecSavedDamaged(pzErr, p->zName, "%s", sqlite3_errmsg(db));
  }
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, p->zName, -1, SQLITE_STATIC);
  while( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
      break;
    }
    if( rc!=SQLITE_ROW ){
      rc = mlrecSavedStepError(db, rc, p->zName, pzErr);
    }else if( p->r->nItem>=p->h.nItem ){
      rc = mlrecSavedDamaged(pzErr, p->zName, "more ranking rows than the "
                             "%lld movies of its header", p->h.nItem);
    }else{
      rc = readItem(pStmt, p, pzErr);
    }
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK && p->r->nItem!=p->h.nItem ){
    rc = mlrecSavedDamaged(pzErr, p->zName, "%d ranking rows, the header says "
                           "%lld", p->r->nItem, p->h.nItem);
  }
  if( rc==SQLITE_OK && p->sum.h!=p->h.checksum ){
    rc = mlrecSavedDamaged(pzErr, p->zName, "the checksum of its ranking model "
                           "does not match its content (truncated or altered)");
  }
  return rc;
}

/*
** Load the ranking model saved under zName into *ppOut, or set it to NULL
** if zName holds none (not an error).  A copy that another connection of
** the process loaded (same checksum) is shared, not read again.  Sets
** pOrigin (but its name).  Call it inside a read transaction.
*/
int mlrecLoadRanking(sqlite3 *db, const char *zName, MlrecRanker **ppOut,
                     MlrecOrigin *pOrigin, char **pzErr){
  MlrecShared *pFound = 0;
  Reading rd;
  int rc;
  *ppOut = 0;
  memset(&rd, 0, sizeof(rd));
  rd.zName = zName;
  rc = readHeader(db, &rd, pzErr);
  if( rc==SQLITE_OK ){
    /* (shared is the first member of a model) */
    pFound = mlrecSharedFind(MLREC_SHARED_RANKING, rd.h.checksum);
    if( pFound==0 ) rc = readItems(db, &rd, pzErr);
  }
  if( rc==SQLITE_OK && pFound ){
    *ppOut = (MlrecRanker*)pFound;
  }else if( rc==SQLITE_OK ){
    *ppOut = (MlrecRanker*)mlrecSharedList(&rd.r->shared,
                                           MLREC_SHARED_RANKING,
                                           rd.h.checksum);
    if( *ppOut==rd.r ) rd.r = 0;
  }
  if( rc==SQLITE_OK ){
    pOrigin->eOrigin = MLREC_ORIGIN_LOADED;
    pOrigin->checksum = rd.h.checksum;
    memcpy(pOrigin->zSavedAt, rd.h.zSavedAt, sizeof(rd.h.zSavedAt));
  }
  mlrecRankerUnref(rd.r);
  mlrecSavedHeaderClear(&rd.h);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}
