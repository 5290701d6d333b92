/*
** saved_rating.c: the rating model of train_mf() (or factors imported from
** elsewhere, import.c) saved into tables of the database and loaded back,
** for mlrec_save_model() and mlrec_load_model() (persist.c).
**
** THE TABLES (format 2, in "main", created by the first save)
**
**   mlrec_saved_models      one row per saved name that holds a rating
**     model: name, kind ('mf': mean + user bias + item bias + user . item),
**     the columns of every kind (saved.c: format, sizes, fingerprint of the
**     ratings, rating range, options, info, checksum, saved_at) and mean.
**   mlrec_saved_vectors     one row per user and per movie of the factors:
**     model, side ('user' or 'item'), id, bias, factors (float32, little
**     endian, as a blob).
**   mlrec_saved_neighbours  the neighbourhood half of predict(), when
**     knn_weight > 0: one row per user (side 'user', bias b(u), ratings:
**     the movies the user rated) and per movie (side 'item', bias b(i),
**     ratings: its raters), and one row 'mean' (id 0, bias: the mean of its
**     baselines).  ratings is a blob of n int32 positions (in the ascending
**     ids of the other side) then n float32 residuals r - b(u,i), the
**     arrays rating/neighbours.c serves from; digest is its FNV-1a.  An
**     index holds all but the blob: a load reads it alone, a few bytes per
**     row, not the pages of the blobs.
**
** HOW A LOAD READS THEM
**
** The header, the vectors and the small columns of the neighbour rows (id,
** bias, digest) are read at load, checked row by row and summed: the
** checksum covers the blobs through their digests.  The blobs of the
** neighbour rows, most of the model's bytes (two numbers per rating), are
** read when a prediction first needs one (fetchRow): by the checksum of
** the saved model, under whichever name holds it, and checked against the
** digest read at load.  A load thus reads a few bytes per user and per
** movie, never the ratings table.
*/
#include "saved.h"
#include <math.h>
#include <string.h>

static const char zSchema[] =
  "CREATE TABLE IF NOT EXISTS main.mlrec_saved_models("
    "name TEXT PRIMARY KEY, kind TEXT NOT NULL, format INTEGER NOT NULL, "
    "users INTEGER NOT NULL, items INTEGER NOT NULL, "
    "factors INTEGER NOT NULL, ratings INTEGER NOT NULL, "
    "data_hash TEXT NOT NULL, mean REAL NOT NULL, rating_min REAL, "
    "rating_max REAL, options TEXT NOT NULL, info TEXT NOT NULL, "
    "checksum TEXT NOT NULL, saved_at TEXT NOT NULL);"
  "CREATE TABLE IF NOT EXISTS main.mlrec_saved_vectors("
    "model TEXT NOT NULL, side TEXT NOT NULL, id INTEGER NOT NULL, "
    "bias REAL NOT NULL, factors BLOB NOT NULL, "
    "PRIMARY KEY(model, side, id)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS main.mlrec_saved_neighbours("
    "model TEXT NOT NULL, side TEXT NOT NULL, id INTEGER NOT NULL, "
    "bias REAL NOT NULL, digest INTEGER NOT NULL, ratings BLOB NOT NULL);"
  "CREATE INDEX IF NOT EXISTS main.mlrec_saved_neighbours_rows "
    "ON mlrec_saved_neighbours(model, side, id, bias, digest);";

/* ---- The vectors of one side (users or movies) --------------------------- */

typedef struct Side Side;
struct Side {
  const char *zName;     /* "user" or "item" */
  int n, nAlloc;
  int nFactor;
  i64 *aId;
  float *aBias;
  float *aFactor;        /* n x nFactor */
};

static void sideFree(Side *p){
  sqlite3_free(p->aId);
  sqlite3_free(p->aBias);
  sqlite3_free(p->aFactor);
  memset(p, 0, sizeof(*p));
}

/* Room for one more vector; arrays grow with the rows actually read. */
static int sideGrow(Side *p){
  if( p->n==p->nAlloc ){
    i64 nNew = p->nAlloc ? 2*(i64)p->nAlloc : 256;
    i64 *aId;
    float *aBias, *aFactor;
    if( nNew>0x7fffffff ) return SQLITE_FULL;
    aId = sqlite3_realloc64(p->aId, sizeof(i64)*nNew);
    if( aId ) p->aId = aId;
    aBias = sqlite3_realloc64(p->aBias, sizeof(float)*nNew);
    if( aBias ) p->aBias = aBias;
    aFactor = sqlite3_realloc64(p->aFactor, sizeof(float)*nNew*p->nFactor);
    if( aFactor ) p->aFactor = aFactor;
    if( !aId || !aBias || !aFactor ) return SQLITE_NOMEM;
    p->nAlloc = (int)nNew;
  }
  return SQLITE_OK;
}

/* Side p over arrays it does not own (a model's), or empty. */
static void sideOver(Side *p, const char *zName, int n, int nFactor,
                     i64 *aId, float *aBias, float *aFactor){
  memset(p, 0, sizeof(*p));
  p->zName = zName;
  p->n = n;
  p->nFactor = nFactor;
  p->aId = aId;
  p->aBias = aBias;
  p->aFactor = aFactor;
}

static void sumVectors(MlrecSum *c, const Side *p){
  unsigned char aBuf[4*MLREC_MAX_FACTORS];
  int i;
  for(i=0; i<p->n; i++){
    mlrecSumU64(c, (u64)p->aId[i]);
    mlrecPutFloats(aBuf, &p->aBias[i], 1);
    mlrecSumBytes(c, aBuf, 4);
    mlrecPutFloats(aBuf, &p->aFactor[(i64)i*p->nFactor], p->nFactor);
    mlrecSumBytes(c, aBuf, 4*(size_t)p->nFactor);
  }
}

/* ---- The rows of the neighbourhood half, as a load reads them ------------ */

typedef struct KnnSide KnnSide;
struct KnnSide {
  const char *zName;     /* "user" or "item" */
  int n, nAlloc;
  i64 *aId;
  double *aBias;
  u64 *aDigest;          /* of each row's blob */
};

static void knnSideFree(KnnSide *p){
  sqlite3_free(p->aId);
  sqlite3_free(p->aBias);
  sqlite3_free(p->aDigest);
  memset(p, 0, sizeof(*p));
}

static int knnSideGrow(KnnSide *p){
  if( p->n==p->nAlloc ){
    i64 nNew = p->nAlloc ? 2*(i64)p->nAlloc : 256;
    i64 *aId;
    double *aBias;
    u64 *aDigest;
    if( nNew>0x7fffffff ) return SQLITE_FULL;
    aId = sqlite3_realloc64(p->aId, sizeof(i64)*nNew);
    if( aId ) p->aId = aId;
    aBias = sqlite3_realloc64(p->aBias, sizeof(double)*nNew);
    if( aBias ) p->aBias = aBias;
    aDigest = sqlite3_realloc64(p->aDigest, sizeof(u64)*nNew);
    if( aDigest ) p->aDigest = aDigest;
    if( !aId || !aBias || !aDigest ) return SQLITE_NOMEM;
    p->nAlloc = (int)nNew;
  }
  return SQLITE_OK;
}

static void sumKnnSide(MlrecSum *c, int n, const i64 *aId,
                       const double *aBias, const u64 *aDigest){
  int i;
  mlrecSumU64(c, (u64)n);
  for(i=0; i<n; i++){
    mlrecSumU64(c, (u64)aId[i]);
    mlrecSumDouble(c, aBias[i]);
    mlrecSumU64(c, aDigest[i]);
  }
}

/*
** The checksum of a rating model: its header, its vectors and, if pNb is
** not NULL, the rows of its neighbourhood half by their digests.
*/
static u64 ratingChecksum(const MlrecSavedHeader *pH, double mu,
                          const Side *pUser, const Side *pItem,
                          const MlrecNeighbours *pNb, const u64 *aUserDigest,
                          const u64 *aItemDigest){
  MlrecSum c;
  mlrecSumInit(&c);
  mlrecSumText(&c, "mf");
  mlrecSavedHeaderSum(&c, pH);
  mlrecSumDouble(&c, mu);
  sumVectors(&c, pUser);
  sumVectors(&c, pItem);
  if( pNb ){
    mlrecSumDouble(&c, pNb->mu);
    sumKnnSide(&c, pNb->nUser, pNb->aUserId, pNb->aUserBias, aUserDigest);
    sumKnnSide(&c, pNb->nItem, pNb->aItemId, pNb->aItemBias, aItemDigest);
  }
  return c.h;
}

/* ---- Saving -------------------------------------------------------------- */

static int insertVectors(sqlite3 *db, const char *zName, const Side *p){
  sqlite3_stmt *pStmt = 0;
  unsigned char aBuf[4*MLREC_MAX_FACTORS];
  int i;
  int rc = sqlite3_prepare_v2(db,
      "INSERT INTO main.mlrec_saved_vectors VALUES(?1, ?2, ?3, ?4, ?5)",
      -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->zName, -1, SQLITE_STATIC);
  for(i=0; rc==SQLITE_OK && i<p->n; i++){
    mlrecPutFloats(aBuf, &p->aFactor[(i64)i*p->nFactor], p->nFactor);
    sqlite3_bind_int64(pStmt, 3, p->aId[i]);
    sqlite3_bind_double(pStmt, 4, p->aBias[i]);
    sqlite3_bind_blob(pStmt, 5, aBuf, 4*p->nFactor, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* The residuals of row p as floats at a, in the saved byte order. */
static void putResiduals(unsigned char *a, const MlrecKnnRow *p){
  int k;
  for(k=0; k<p->n; k++){
    float z = mlrecKnnResid(p, k);
    mlrecPutFloats(a + 4*(i64)k, &z, 1);
  }
}

/*
** Insert the rows of one side of neighbourhood model pNb (bUser: the
** users), all in memory, setting aDigest[i] to the digest of row i.
*/
static int insertKnnSide(sqlite3 *db, const char *zName,
                         const MlrecNeighbours *pNb, int bUser,
                         u64 *aDigest){
  int n = bUser ? pNb->nUser : pNb->nItem;
  const i64 *aId = bUser ? pNb->aUserId : pNb->aItemId;
  const double *aBias = bUser ? pNb->aUserBias : pNb->aItemBias;
  sqlite3_stmt *pStmt = 0;
  unsigned char *aBuf = 0;
  i64 nBuf = 0;
  int i, rc = sqlite3_prepare_v2(db,
      "INSERT INTO main.mlrec_saved_neighbours VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
      -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, bUser ? "user" : "item", -1, SQLITE_STATIC);
  for(i=0; rc==SQLITE_OK && i<n; i++){
    MlrecKnnRow row;
    i64 nByte;
    mlrecNeighboursRow(pNb, bUser, i, &row);
    nByte = 8*(i64)row.n;
    if( nByte>=nBuf ){
      unsigned char *aNew = sqlite3_realloc64(aBuf, nByte+8);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      aBuf = aNew;
      nBuf = nByte+8;
    }
    mlrecPutInts(aBuf, row.aIdx, row.n);
    putResiduals(aBuf+4*(i64)row.n, &row);
    aDigest[i] = mlrecDigest(aBuf, (size_t)nByte);
    sqlite3_bind_int64(pStmt, 3, aId[i]);
    sqlite3_bind_double(pStmt, 4, aBias[i]);
    sqlite3_bind_int64(pStmt, 5, (i64)aDigest[i]);
    sqlite3_bind_blob64(pStmt, 6, aBuf, (sqlite3_uint64)nByte, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  sqlite3_free(aBuf);
  sqlite3_finalize(pStmt);
  return rc;
}

/* Insert the rows of neighbourhood model pNb, their digests into the
** arrays *paUser and *paItem (allocated here). */
static int insertNeighbours(sqlite3 *db, const char *zName,
                            const MlrecNeighbours *pNb, u64 **paUser,
                            u64 **paItem){
  sqlite3_stmt *pStmt = 0;
  int rc;
  *paUser = sqlite3_malloc64(sizeof(u64)*((i64)pNb->nUser+1));
  *paItem = sqlite3_malloc64(sizeof(u64)*((i64)pNb->nItem+1));
  if( *paUser==0 || *paItem==0 ) return SQLITE_NOMEM;
  rc = insertKnnSide(db, zName, pNb, 1, *paUser);
  if( rc==SQLITE_OK ) rc = insertKnnSide(db, zName, pNb, 0, *paItem);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "INSERT INTO main.mlrec_saved_neighbours "
                            "VALUES(?1, 'mean', 0, ?2, 0, x'')", -1, &pStmt,
                            0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    sqlite3_bind_double(pStmt, 2, pNb->mu);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  return rc;
}

/* The info JSON of model m: what mlrec_models shows besides the options. */
static char *modelInfo(const MlrecModel *m){
  if( m->rmse>=0.0 ){
    return sqlite3_mprintf("{\"rmse\":%!.17g,\"seconds\":%!.17g,"
                           "\"trained_at\":%lld}", m->rmse, m->seconds,
                           m->trainedAt);
  }
  return sqlite3_mprintf("{\"rmse\":null,\"seconds\":%!.17g,"
                         "\"trained_at\":%lld}", m->seconds, m->trainedAt);
}

static int insertHeader(sqlite3 *db, const char *zName,
                        const MlrecSavedHeader *pH, double mu){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db,
      "INSERT INTO main.mlrec_saved_models(name, " MLREC_SAVED_COLUMNS
      ", kind, mean) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
      " ?13, 'mf', ?14)", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  mlrecSavedHeaderBind(pStmt, pH);
  sqlite3_bind_double(pStmt, 14, mu);
  sqlite3_step(pStmt);
  return sqlite3_finalize(pStmt);
}

/* Delete the rating model saved under zName, if any (creating the tables
** if needed, inside the caller's SAVEPOINT). */
int mlrecForgetRating(sqlite3 *db, const char *zName){
  static const char *azSql[] = {
    "DELETE FROM main.mlrec_saved_neighbours WHERE model = ?1",
    "DELETE FROM main.mlrec_saved_vectors WHERE model = ?1",
    "DELETE FROM main.mlrec_saved_models WHERE name = ?1",
  };
  int i, rc = sqlite3_exec(db, zSchema, 0, 0, 0);
  for(i=0; rc==SQLITE_OK && i<3; i++) rc = mlrecSavedExec(db, azSql[i], zName);
  return rc;
}

/* Save model m under zName (its header, vectors and neighbour rows). */
static int writeRating(sqlite3 *db, const char *zName, const MlrecModel *m,
                       MlrecSavedHeader *pH){
  Side user, item;
  u64 *aUserDigest = 0, *aItemDigest = 0;
  int rc = mlrecForgetRating(db, zName);
  sideOver(&user, "user", m->nUser, m->nFactor, m->aUserId, m->aUserBias,
           m->aUserFactor);
  sideOver(&item, "item", m->nItem, m->nFactor, m->aItemId, m->aItemBias,
           m->aItemFactor);
  if( rc==SQLITE_OK ) rc = insertVectors(db, zName, &user);
  if( rc==SQLITE_OK ) rc = insertVectors(db, zName, &item);
  if( rc==SQLITE_OK && m->pNeighbours ){
    rc = insertNeighbours(db, zName, m->pNeighbours, &aUserDigest,
                          &aItemDigest);
  }
  if( rc==SQLITE_OK ){
    pH->checksum = ratingChecksum(pH, m->mu, &user, &item, m->pNeighbours,
                                  aUserDigest, aItemDigest);
    rc = insertHeader(db, zName, pH, m->mu);
  }
  sqlite3_free(aUserDigest);
  sqlite3_free(aItemDigest);
  return rc;
}

/*
** Save rating model m under zName, replacing what was there, inside the
** caller's SAVEPOINT, and set pOrigin->checksum and zSavedAt to those of
** the saved model.  (Saving again what is saved rewrites it, which repairs
** damaged rows; a loaded model first reads the rows it has not read.)
*/
int mlrecSaveRating(sqlite3 *db, const char *zName, const MlrecModel *m,
                    MlrecOrigin *pOrigin, char **pzErr){
  MlrecSavedHeader h;
  int rc = SQLITE_OK;
  /* a loaded model reads the rows it has not read yet: they must be in
  ** memory before a save under the name they are read from deletes them */
  if( m->pNeighbours ){
    rc = mlrecNeighboursRead(m->pNeighbours, db, 1, 0, 0, pzErr);
    if( rc==SQLITE_OK ){
      rc = mlrecNeighboursRead(m->pNeighbours, db, 0, 0, 0, pzErr);
    }
    if( rc!=SQLITE_OK ) return rc;
  }
  memset(&h, 0, sizeof(h));
  h.nUser = m->nUser;
  h.nItem = m->nItem;
  h.nFactor = m->nFactor;
  h.nRating = m->nRating;
  h.dataHash = m->dataHash;
  h.rMin = m->rMin;
  h.rMax = m->rMax;
  h.zOptions = m->zOptions ? sqlite3_mprintf("%s", m->zOptions)
                           : mlrecMfOptionsJson(&m->opt);
  h.zInfo = modelInfo(m);
  mlrecSavedNow(h.zSavedAt, sizeof(h.zSavedAt));
  if( h.zOptions==0 || h.zInfo==0 ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ) rc = writeRating(db, zName, m, &h);
  if( rc==SQLITE_OK ){
    pOrigin->checksum = h.checksum;
    memcpy(pOrigin->zSavedAt, h.zSavedAt, sizeof(h.zSavedAt));
  }
  mlrecSavedHeaderClear(&h);
  return rc;
}

/* ---- Loading ------------------------------------------------------------- */

/* What the header row of a saved rating model holds. */
typedef struct Saved Saved;
struct Saved {
  const char *zName;
  MlrecSavedHeader h;
  double mu;
  MlrecMfOptions opt;      /* parsed from h.zOptions, else defaults */
  int bImported;           /* the options are not train_mf()'s */
  double rmse;             /* < 0: none */
};

/* Check and store the header row in pStmt (see readHeader) into pS. */
static int checkHeader(sqlite3 *db, sqlite3_stmt *pStmt, Saved *pS,
                       char **pzErr){
  const char *zKind = (const char*)sqlite3_column_text(pStmt,
                                                       MLREC_SAVED_NCOLUMN);
  char *zIgnored = 0;
  int rc;
  if( zKind==0 || strcmp(zKind, "mf")!=0 ){
    mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' is of kind "
                  "'%s', which this version of mlrec cannot load", pS->zName,
                  zKind ? zKind : "");
    return SQLITE_ERROR;
  }
  rc = mlrecSavedHeaderRead(pStmt, pS->zName, &pS->h, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  pS->mu = sqlite3_column_double(pStmt, MLREC_SAVED_NCOLUMN+1);
  if( sqlite3_column_type(pStmt, MLREC_SAVED_NCOLUMN+1)!=SQLITE_FLOAT
   || !isfinite(pS->mu) ){
    return mlrecSavedDamaged(pzErr, pS->zName, "mean is not a finite number");
  }
  /* the training options, when they are those of train_mf() (imported
  ** factors have others, shown as saved) */
  mlrecMfDefaults(&pS->opt);
  rc = mlrecParseOptions(db, "mlrec_load_model", sqlite3_column_value(pStmt,
                         8), mlrecMfOptionSpec, mlrecMfOptionCount, &pS->opt,
                         &zIgnored);
  sqlite3_free(zIgnored);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc!=SQLITE_OK ){
    mlrecMfDefaults(&pS->opt);
    pS->opt.knnWeight = 0.0;   /* factors alone */
    pS->bImported = 1;
  }
  pS->opt.nFactor = pS->h.nFactor;
  pS->rmse = sqlite3_column_type(pStmt, MLREC_SAVED_NCOLUMN+2)==SQLITE_NULL
           ? -1.0 : sqlite3_column_double(pStmt, MLREC_SAVED_NCOLUMN+2);
  return SQLITE_OK;
}

/* Read and check the header of saved model pS->zName; SQLITE_DONE if
** there is none. */
static int readHeader(sqlite3 *db, Saved *pS, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db,
      "SELECT " MLREC_SAVED_COLUMNS ", json_extract(info, '$.seconds'), "
      "json_extract(info, '$.trained_at'), kind, mean, "
      "json_extract(info, '$.rmse') "
      "FROM main.mlrec_saved_models WHERE name = ?1", pS->zName, &pStmt,
      pzErr);
  if( rc!=SQLITE_OK ) return rc==SQLITE_ERROR && *pzErr==0 ? SQLITE_DONE : rc;
  sqlite3_bind_text(pStmt, 1, pS->zName, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    rc = checkHeader(db, pStmt, pS, pzErr);
  }else if( rc!=SQLITE_DONE ){
    rc = mlrecSavedStepError(db, rc, pS->zName, pzErr);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Append the vector in the current row of pStmt (id, bias, factors) to p. */
static int readVector(sqlite3_stmt *pStmt, const char *zName, Side *p,
                      char **pzErr){
  const unsigned char *aBlob;
  i64 iId;
  int rc;
  if( sqlite3_column_type(pStmt, 0)!=SQLITE_INTEGER ){
    return mlrecSavedDamaged(pzErr, zName, "a %s id is not an integer",
                             strcmp(p->zName, "item")==0 ? "movie" : "user");
  }
  iId = sqlite3_column_int64(pStmt, 0);
  if( p->n>0 && iId<=p->aId[p->n-1] ){
    return mlrecSavedDamaged(pzErr, zName, "%s ids are not distinct",
                             p->zName);
  }
  if( sqlite3_column_type(pStmt, 2)!=SQLITE_BLOB
   || sqlite3_column_bytes(pStmt, 2)!=4*p->nFactor ){
    return mlrecSavedDamaged(pzErr, zName, "the factors of %s %lld are not %d "
                             "float32 values", p->zName, iId, p->nFactor);
  }
  aBlob = sqlite3_column_blob(pStmt, 2);
  if( aBlob==0 ) return SQLITE_NOMEM;
  rc = sideGrow(p);
  if( rc!=SQLITE_OK ) return rc;
  p->aId[p->n] = iId;
  p->aBias[p->n] = (float)sqlite3_column_double(pStmt, 1);
  mlrecGetFloats(&p->aFactor[(i64)p->n*p->nFactor], aBlob, p->nFactor);
  if( (sqlite3_column_type(pStmt, 1)!=SQLITE_FLOAT
       && sqlite3_column_type(pStmt, 1)!=SQLITE_INTEGER)
   || !mlrecAllFinite(&p->aBias[p->n], 1)
   || !mlrecAllFinite(&p->aFactor[(i64)p->n*p->nFactor], p->nFactor) ){
    return mlrecSavedDamaged(pzErr, zName, "%s %lld has a bias or factor that "
                             "is not a finite number", p->zName, iId);
  }
  p->n++;
  return SQLITE_OK;
}

/* Read the vectors of side p of saved model zName; nWant are expected. */
static int readSide(sqlite3 *db, const char *zName, Side *p, i64 nWant,
                    char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db,
      "SELECT id, bias, factors FROM main.mlrec_saved_vectors "
      "WHERE model = ?1 AND side = ?2 ORDER BY id", zName, &pStmt, pzErr);
  if( rc==SQLITE_ERROR && *pzErr==0 ){   /* the table is missing */
    rc = mlrecSavedDamaged(pzErr, zName, "%s", sqlite3_errmsg(db));
  }
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->zName, -1, SQLITE_STATIC);
  while( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){
      rc = p->n==nWant ? SQLITE_OK : mlrecSavedDamaged(pzErr, zName, "%d %s "
                              "vectors, the header says %lld", p->n, p->zName,
                              nWant);
      break;
    }
    if( rc!=SQLITE_ROW ){
      rc = mlrecSavedStepError(db, rc, zName, pzErr);
      break;
    }
    if( p->n>=nWant ){
      rc = mlrecSavedDamaged(pzErr, zName, "more %s vectors than the %lld of "
                             "the header", p->zName, nWant);
    }else{
      rc = readVector(pStmt, zName, p, pzErr);
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Append the neighbour row in pStmt (id, bias, digest) to p. */
static int readKnnRow(sqlite3_stmt *pStmt, const char *zName, KnnSide *p,
                      char **pzErr){
  i64 iId;
  int rc;
  if( sqlite3_column_type(pStmt, 0)!=SQLITE_INTEGER
   || sqlite3_column_type(pStmt, 1)!=SQLITE_FLOAT
   || sqlite3_column_type(pStmt, 2)!=SQLITE_INTEGER
   || !isfinite(sqlite3_column_double(pStmt, 1)) ){
    return mlrecSavedDamaged(pzErr, zName, "a neighbourhood row of a %s does "
                             "not have an integer id, a finite bias and an "
                             "integer digest", p->zName);
  }
  iId = sqlite3_column_int64(pStmt, 0);
  if( p->n>0 && iId<=p->aId[p->n-1] ){
    return mlrecSavedDamaged(pzErr, zName, "%s ids of the neighbourhood rows "
                             "are not distinct", p->zName);
  }
  rc = knnSideGrow(p);
  if( rc!=SQLITE_OK ) return rc;
  p->aId[p->n] = iId;
  p->aBias[p->n] = sqlite3_column_double(pStmt, 1);
  p->aDigest[p->n] = (u64)sqlite3_column_int64(pStmt, 2);
  p->n++;
  return SQLITE_OK;
}

/* Read id, bias and digest of the neighbour rows of side p of zName. */
static int readKnnSide(sqlite3 *db, const char *zName, KnnSide *p,
                       char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db,
      "SELECT id, bias, digest FROM main.mlrec_saved_neighbours "
      "WHERE model = ?1 AND side = ?2 ORDER BY id", zName, &pStmt, pzErr);
  if( rc==SQLITE_ERROR && *pzErr==0 ){   /* the table is missing */
    rc = mlrecSavedDamaged(pzErr, zName, "its neighbourhood rows are missing "
                           "(%s)", sqlite3_errmsg(db));
  }
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->zName, -1, SQLITE_STATIC);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    rc = readKnnRow(pStmt, zName, p, pzErr);
    if( rc!=SQLITE_OK ) break;
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  else if( rc!=SQLITE_OK && *pzErr==0 ){
    rc = mlrecSavedStepError(db, rc, zName, pzErr);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* The mean of the baselines of the neighbourhood half of zName. */
static int readKnnMean(sqlite3 *db, const char *zName, double *prMu,
                       char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = mlrecSavedPrepare(db, "SELECT bias FROM main.mlrec_saved_neighbours"
                             " WHERE model = ?1 AND side = 'mean' AND id = 0",
                             zName, &pStmt, pzErr);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    *prMu = sqlite3_column_double(pStmt, 0);
    if( rc==SQLITE_ROW && sqlite3_column_type(pStmt, 0)==SQLITE_FLOAT
     && isfinite(*prMu) ){
      rc = SQLITE_OK;
    }else if( rc==SQLITE_ROW || rc==SQLITE_DONE ){
      rc = mlrecSavedDamaged(pzErr, zName, "the mean of its neighbourhood "
                             "half is missing or not a finite number");
    }else{
      rc = mlrecSavedStepError(db, rc, zName, pzErr);
    }
  }else if( rc==SQLITE_ERROR && *pzErr==0 ){
    rc = mlrecSavedDamaged(pzErr, zName, "its neighbourhood rows are missing "
                           "(%s)", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* ---- Rows read when a prediction needs them ------------------------------ */

/* Set *ppOut to the row of blob a (n bytes), checked against side nOther
** positions; SQLITE_CORRUPT if it is not a valid row. */
static int decodeRow(const unsigned char *a, i64 nByte, int nOther,
                     MlrecKnnRow **ppOut){
  int n = (int)(nByte/8), k;
  MlrecKnnRow *p;
  int *aIdx;
  float *aResid;
  if( nByte%8 || nByte/8>nOther ) return SQLITE_CORRUPT;
  p = sqlite3_malloc64(sizeof(*p) + 8*(i64)n + 8);
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  aIdx = (int*)&p[1];
  aResid = (float*)(aIdx + n);
  if( n>0 ){   /* (an empty blob may be a NULL pointer) */
    mlrecGetInts(aIdx, a, n);
    mlrecGetFloats(aResid, a + 4*(i64)n, n);
  }
  for(k=0; k<n && aIdx[k]>=0 && aIdx[k]<nOther; k++){}
  if( k<n || !mlrecAllFinite(aResid, n) ){
    sqlite3_free(p);
    return SQLITE_CORRUPT;
  }
  p->n = n;
  p->aIdx = aIdx;
  p->aResid = aResid;
  *ppOut = p;
  return SQLITE_OK;
}

/*
** Read the row of id iId (side zSide) of loaded model pNb with pStmt (its
** parameters bound but the id), under whichever name holds the saved model
** now, check it against digest and decode it into *ppOut.
*/
static int fetchRow(sqlite3_stmt *pStmt, const MlrecNeighbours *pNb,
                    const char *zSide, i64 iId, u64 digest, int nOther,
                    MlrecKnnRow **ppOut, char **pzErr){
  char *zBad = 0;
  int rc;
  sqlite3_bind_int64(pStmt, 3, iId);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const unsigned char *a = sqlite3_column_blob(pStmt, 1);
    i64 nByte = sqlite3_column_bytes(pStmt, 1);
    if( a==0 && nByte>0 ){ rc = SQLITE_NOMEM; break; }
    if( sqlite3_column_type(pStmt, 1)==SQLITE_BLOB
     && mlrecDigest(a, (size_t)nByte)==digest ){
      rc = decodeRow(a, nByte, nOther, ppOut);
      if( rc!=SQLITE_CORRUPT ) break;
    }
    /* another name may hold the same model intact: keep looking */
    if( zBad==0 ){
      zBad = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(pStmt, 0));
      if( zBad==0 ){ rc = SQLITE_NOMEM; break; }
    }
  }
  sqlite3_reset(pStmt);
  if( rc==SQLITE_DONE && zBad ){
    mlrecSetError(pzErr, "mlrec: the neighbourhood row of %s %lld of saved "
                  "model '%s' does not match its digest (altered since it was "
                  "saved); save the model again", zSide, iId, zBad);
    rc = SQLITE_ERROR;
  }else if( rc==SQLITE_DONE ){
    mlrecSetError(pzErr, "mlrec: the saved model that this connection "
                  "loaded (checksum %016llx) is no longer in the database "
                  "(saved again with other content, or deleted), and a row of "
                  "it not read yet is needed: load the model again with "
                  "mlrec_load_model()", pNb->checksum);
    rc = SQLITE_ERROR;
  }else if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && *pzErr==0 ){
    mlrecSetError(pzErr, "mlrec: reading the neighbourhood row of %s %lld: "
                  "%s", zSide, iId, sqlite3_errmsg(sqlite3_db_handle(pStmt)));
  }
  sqlite3_free(zBad);
  return rc;
}

/*
** The MlrecKnnFetch of a loaded model: read rows aiRow[0..n) of the users
** (bUser) or of the movies of pNb from db, by one statement, into apOut.
*/
static int fetchRows(sqlite3 *db, const MlrecNeighbours *pNb, int bUser,
                     int n, const int *aiRow, MlrecKnnRow **apOut,
                     char **pzErr){
  const char *zSide = bUser ? "user" : "item";
  sqlite3_stmt *pStmt = 0;
  char zSum[20];
  int nGot = 0, rc = sqlite3_prepare_v2(db,
      "SELECT model, ratings FROM main.mlrec_saved_neighbours "
      "WHERE model IN (SELECT name FROM main.mlrec_saved_models "
      "WHERE checksum = ?1) AND side = ?2 AND id = ?3", -1, &pStmt, 0);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "mlrec: reading the neighbourhood rows: %s",
                  sqlite3_errmsg(db));
  }
  if( rc==SQLITE_OK ){
    sqlite3_snprintf(sizeof(zSum), zSum, "%016llx", pNb->checksum);
    sqlite3_bind_text(pStmt, 1, zSum, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zSide, -1, SQLITE_STATIC);
  }
  while( rc==SQLITE_OK && nGot<n ){
    int i = aiRow[nGot];
    rc = fetchRow(pStmt, pNb, zSide, bUser ? pNb->aUserId[i] : pNb->aItemId[i],
                  bUser ? pNb->aUserDigest[i] : pNb->aItemDigest[i],
                  bUser ? pNb->nItem : pNb->nUser, &apOut[nGot], pzErr);
    if( rc==SQLITE_OK ) nGot++;
  }
  if( rc!=SQLITE_OK ){
    while( nGot>0 ) sqlite3_free(apOut[--nGot]);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* The neighbourhood half of a loaded model, from the rows read by load
** (whose arrays it takes over). */
static MlrecNeighbours *newNeighbours(const Saved *pS, double mu,
                                      KnnSide *pUser, KnnSide *pItem){
  MlrecNeighbours *p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  p->nNeighbour = pS->opt.nNeighbour;
  p->shrinkage = pS->opt.shrinkage;
  p->mu = mu;
  p->nUser = pUser->n;
  p->nItem = pItem->n;
  p->aUserId = pUser->aId;
  p->aItemId = pItem->aId;
  p->aUserBias = pUser->aBias;
  p->aItemBias = pItem->aBias;
  p->aUserDigest = pUser->aDigest;
  p->aItemDigest = pItem->aDigest;
  memset(pUser, 0, sizeof(*pUser));
  memset(pItem, 0, sizeof(*pItem));
  p->apUserRow = sqlite3_malloc64(sizeof(MlrecKnnRow*)*((i64)p->nUser+1));
  p->apItemRow = sqlite3_malloc64(sizeof(MlrecKnnRow*)*((i64)p->nItem+1));
  if( p->apUserRow==0 || p->apItemRow==0 ){
    sqlite3_free(p->apUserRow);
    sqlite3_free(p->apItemRow);
    p->apUserRow = p->apItemRow = 0;
    mlrecNeighboursFree(p);
    return 0;
  }
  memset(p->apUserRow, 0, sizeof(MlrecKnnRow*)*p->nUser);
  memset(p->apItemRow, 0, sizeof(MlrecKnnRow*)*p->nItem);
  p->checksum = pS->h.checksum;
  p->xFetch = fetchRows;
  return p;
}

/* A model made from header pS and sides whose arrays it takes over. */
static MlrecModel *newModel(Saved *pS, Side *pUser, Side *pItem){
  MlrecModel *m = sqlite3_malloc64(sizeof(*m));
  if( m==0 ) return 0;
  memset(m, 0, sizeof(*m));
  mlrecSharedInit(&m->shared);
  if( pS->bImported ){
    m->zOptions = pS->h.zOptions;
    pS->h.zOptions = 0;
  }
  m->opt = pS->opt;
  m->nFactor = (int)pS->h.nFactor;
  m->nUser = pUser->n;
  m->nItem = pItem->n;
  m->aUserId = pUser->aId;
  m->aUserBias = pUser->aBias;
  m->aUserFactor = pUser->aFactor;
  m->aItemId = pItem->aId;
  m->aItemBias = pItem->aBias;
  m->aItemFactor = pItem->aFactor;
  memset(pUser, 0, sizeof(*pUser));
  memset(pItem, 0, sizeof(*pItem));
  m->mu = pS->mu;
  m->rMin = pS->h.rMin;
  m->rMax = pS->h.rMax;
  m->nRating = pS->h.nRating;
  m->dataHash = pS->h.dataHash;
  m->rmse = pS->rmse;
  m->seconds = pS->h.seconds;
  m->trainedAt = pS->h.trainedAt;
  return m;
}

/* Read the vectors and neighbour rows of pS, check the checksum and make
** the model *ppOut. */
static int readModel(sqlite3 *db, Saved *pS, MlrecModel **ppOut,
                     char **pzErr){
  Side user, item;
  KnnSide kUser, kItem;
  MlrecNeighbours *pNb = 0;
  double mu = 0.0;
  int bKnn = pS->opt.knnWeight>0.0;
  int rc;
  sideOver(&user, "user", 0, (int)pS->h.nFactor, 0, 0, 0);
  sideOver(&item, "item", 0, (int)pS->h.nFactor, 0, 0, 0);
  memset(&kUser, 0, sizeof(kUser));
  memset(&kItem, 0, sizeof(kItem));
  kUser.zName = "user";
  kItem.zName = "item";
  rc = readSide(db, pS->zName, &user, pS->h.nUser, pzErr);
  if( rc==SQLITE_OK ) rc = readSide(db, pS->zName, &item, pS->h.nItem, pzErr);
  if( rc==SQLITE_OK && bKnn ) rc = readKnnMean(db, pS->zName, &mu, pzErr);
  if( rc==SQLITE_OK && bKnn ) rc = readKnnSide(db, pS->zName, &kUser, pzErr);
  if( rc==SQLITE_OK && bKnn ) rc = readKnnSide(db, pS->zName, &kItem, pzErr);
  if( rc==SQLITE_OK && bKnn ){
    pNb = newNeighbours(pS, mu, &kUser, &kItem);
    if( pNb==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && ratingChecksum(&pS->h, pS->mu, &user, &item, pNb,
                        pNb ? pNb->aUserDigest : 0,
                        pNb ? pNb->aItemDigest : 0)!=pS->h.checksum ){
    rc = mlrecSavedDamaged(pzErr, pS->zName, "its checksum does not match its "
                           "content (truncated or altered)");
  }
  if( rc==SQLITE_OK ){
    *ppOut = newModel(pS, &user, &item);
    if( *ppOut==0 ) rc = SQLITE_NOMEM;
    else (*ppOut)->pNeighbours = pNb;
  }
  if( rc!=SQLITE_OK ) mlrecNeighboursFree(pNb);
  sideFree(&user);
  sideFree(&item);
  knnSideFree(&kUser);
  knnSideFree(&kItem);
  return rc;
}

/*
** Load the rating model saved under zName into *ppOut, or set it to NULL
** if zName holds none (not an error).  A copy that another connection of
** the process loaded (same checksum) is shared, not read again.  Sets
** pOrigin (but its name) to say where it came from.  Call it inside a read
** transaction: the rows are then those of one save.
*/
int mlrecLoadRating(sqlite3 *db, const char *zName, MlrecModel **ppOut,
                    MlrecOrigin *pOrigin, char **pzErr){
  MlrecShared *pFound;
  Saved s;
  int rc;
  *ppOut = 0;
  memset(&s, 0, sizeof(s));
  s.zName = zName;
  rc = readHeader(db, &s, pzErr);
  if( rc==SQLITE_OK ){
    /* (shared is the first member of a model) */
    pFound = mlrecSharedFind(MLREC_SHARED_RATING, s.h.checksum);
    if( pFound ){
      *ppOut = (MlrecModel*)pFound;
    }else{
      rc = readModel(db, &s, ppOut, pzErr);
    }
    if( rc==SQLITE_OK && pFound==0 ){
      MlrecModel *m = *ppOut;
      *ppOut = (MlrecModel*)mlrecSharedList(&m->shared, MLREC_SHARED_RATING,
                                            s.h.checksum);
      if( *ppOut!=m ) mlrecModelUnref(m);
    }
  }
  if( rc==SQLITE_OK ){
    pOrigin->eOrigin = s.bImported ? MLREC_ORIGIN_IMPORTED
                                   : MLREC_ORIGIN_LOADED;
    pOrigin->checksum = s.h.checksum;
    memcpy(pOrigin->zSavedAt, s.h.zSavedAt, sizeof(s.h.zSavedAt));
  }
  mlrecSavedHeaderClear(&s.h);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}
