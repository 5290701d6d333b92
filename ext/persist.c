/*
** persist.c: models saved into ordinary tables of the database, loaded back
** by any connection or process, and factors imported from Spark.
**
**     SELECT train_mf('{"factors": 64}');
**     SELECT mlrec_save_model('prod');     -- the connection's model, saved
**     SELECT mlrec_load_model('prod');     -- serve it: here, elsewhere, later
**       -> {"name":"prod","kind":"mf","users":610,"items":9724,
**           "factors":64,"stale":0}
**     SELECT mlrec_import_factors('spark', 'spark_users', 'spark_items');
**
** mlrec_save_model([name]) writes the model of this connection (from
** train_mf() or mlrec_load_model()) under name, default 'default',
** replacing a model saved under that name.  mlrec_load_model([name]) makes
** a saved model the model of this connection, which predict() and
** recommend(..., '{"model": "rating"}') then serve; "stale" says whether the
** ratings table has changed since it was trained.  The neighbourhood half
** of predict() (knn_weight, neighbours.c) is not saved but fitted again on
** the ratings table when the model loads.  mlrec_import_factors(name,
** users_table, items_table) saves, under name, a model made of factors
** trained elsewhere: tables with columns id (integer) and features (a JSON
** array of numbers), the layout of Spark MLlib's ALSModel.userFactors and
** itemFactors written as CSV.  Its prediction is the dot product, clipped
** to the rating range of the ratings table when there is one.
**
** THE TABLES (created with CREATE TABLE IF NOT EXISTS in "main")
**
**   mlrec_saved_models, one row per model:
**     name, kind ('mf': mean + user bias + item bias + user . item), format
**     (1; a newer format is refused), users, items, factors, ratings and
**     data_hash (the fingerprint of the data trained on), mean, rating_min
**     and rating_max (NULL: no clipping), options (JSON), info (JSON: rmse,
**     seconds, trained_at), checksum (16 hex digits over all the above and
**     every vector), saved_at.
**   mlrec_saved_vectors, one row per user and per movie of each model:
**     model, side ('user' or 'item'), id, bias, factors (float32, little
**     endian, as a blob).
**
** A model of another kind would add its own kind name and sides.  Saving
** rewrites the rows of one model inside a SAVEPOINT (a function cannot DROP
** a table while its statement runs).  Loading checks the format, the
** dimensions, every row and the checksum, and refuses a truncated or
** altered model with an error saying what is wrong.  The checksum detects
** truncation and accidental damage; it is not a signature: whoever can
** write the tables can also recompute it.
*/
#include "surface.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PERSIST_FORMAT 1

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
    "PRIMARY KEY(model, side, id)) WITHOUT ROWID;";

/* ---- Checksum: FNV-1a over a byte serialisation independent of the host -- */

typedef struct Checksum Checksum;
struct Checksum {
  u64 h;
};

static void checksumBytes(Checksum *p, const unsigned char *a, size_t n){
  u64 h = p->h;
  size_t i;
  for(i=0; i<n; i++) h = (h ^ a[i]) * 0x100000001b3ULL;
  p->h = h;
}

static void checksumU64(Checksum *p, u64 x){
  unsigned char a[8];
  int i;
  for(i=0; i<8; i++) a[i] = (unsigned char)(x >> (8*i));
  checksumBytes(p, a, 8);
}

static void checksumDouble(Checksum *p, double r){
  u64 bits;
  memcpy(&bits, &r, sizeof(bits));
  checksumU64(p, bits);
}

/* A string with its terminator, so that "ab","c" differs from "a","bc". */
static void checksumText(Checksum *p, const char *z){
  checksumBytes(p, (const unsigned char*)z, strlen(z)+1);
}

/* ---- float32 vectors as little-endian blobs ------------------------------- */

static void floatsToBlob(unsigned char *a, const float *x, int n){
  int i, j;
  for(i=0; i<n; i++){
    unsigned int bits;
    memcpy(&bits, &x[i], sizeof(bits));
    for(j=0; j<4; j++) a[4*i+j] = (unsigned char)(bits >> (8*j));
  }
}

static void blobToFloats(float *x, const unsigned char *a, int n){
  int i;
  for(i=0; i<n; i++){
    unsigned int bits = (unsigned int)a[4*i] | (unsigned int)a[4*i+1]<<8
                      | (unsigned int)a[4*i+2]<<16 | (unsigned int)a[4*i+3]<<24;
    memcpy(&x[i], &bits, sizeof(bits));
  }
}

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
  p->aId = 0;
  p->aBias = 0;
  p->aFactor = 0;
  p->n = p->nAlloc = 0;
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

static int allFinite(const float *a, int n){
  int i;
  for(i=0; i<n; i++) if( !isfinite(a[i]) ) return 0;
  return 1;
}

/* ---- The header: everything about a model but its vectors ---------------- */

typedef struct Header Header;
struct Header {
  const char *zKind;
  i64 nUser, nItem, nFactor, nRating;
  u64 dataHash;
  double mu, rMin, rMax;   /* rMin, rMax infinite: no clipping */
  char *zOptions;          /* JSON */
  char *zInfo;             /* JSON */
};

static u64 modelChecksum(const Header *pH, const Side *pUser,
                         const Side *pItem){
  Checksum c;
  const Side *aSide[2];
  int s, i;
  c.h = 0xcbf29ce484222325ULL;
  checksumText(&c, pH->zKind);
  checksumU64(&c, PERSIST_FORMAT);
  checksumU64(&c, (u64)pH->nUser);
  checksumU64(&c, (u64)pH->nItem);
  checksumU64(&c, (u64)pH->nFactor);
  checksumU64(&c, (u64)pH->nRating);
  checksumU64(&c, pH->dataHash);
  checksumDouble(&c, pH->mu);
  checksumDouble(&c, pH->rMin);
  checksumDouble(&c, pH->rMax);
  checksumText(&c, pH->zOptions);
  checksumText(&c, pH->zInfo);
  aSide[0] = pUser;
  aSide[1] = pItem;
  for(s=0; s<2; s++){
    const Side *p = aSide[s];
    for(i=0; i<p->n; i++){
      unsigned char aBuf[4*MLREC_MAX_FACTORS];
      checksumU64(&c, (u64)p->aId[i]);
      floatsToBlob(aBuf, &p->aBias[i], 1);
      checksumBytes(&c, aBuf, 4);
      floatsToBlob(aBuf, &p->aFactor[(i64)i*p->nFactor], p->nFactor);
      checksumBytes(&c, aBuf, 4*(size_t)p->nFactor);
    }
  }
  return c.h;
}

/* Side p over arrays it shares (not to be freed), or empty. */
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

/* The sides of model m, sharing its arrays. */
static void modelSides(const MlrecModel *m, Side *pUser, Side *pItem){
  sideOver(pUser, "user", m->nUser, m->nFactor, m->aUserId, m->aUserBias,
           m->aUserFactor);
  sideOver(pItem, "item", m->nItem, m->nFactor, m->aItemId, m->aItemBias,
           m->aItemFactor);
}

/* ---- Saving --------------------------------------------------------------- */

static int bindRange(sqlite3_stmt *pStmt, int i, double r){
  return isfinite(r) ? sqlite3_bind_double(pStmt, i, r)
                     : sqlite3_bind_null(pStmt, i);
}

static int insertHeader(sqlite3 *db, const char *zName, const Header *pH,
                        u64 checksum){
  sqlite3_stmt *pStmt = 0;
  char zHash[20], zSum[20], zNow[32];
  int rc = sqlite3_prepare_v2(db,
      "INSERT INTO main.mlrec_saved_models VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
      " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_snprintf(sizeof(zHash), zHash, "%016llx", pH->dataHash);
  sqlite3_snprintf(sizeof(zSum), zSum, "%016llx", checksum);
  mlrecFormatTime(mlrecNow(), zNow, sizeof(zNow));
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, pH->zKind, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 3, PERSIST_FORMAT);
  sqlite3_bind_int64(pStmt, 4, pH->nUser);
  sqlite3_bind_int64(pStmt, 5, pH->nItem);
  sqlite3_bind_int64(pStmt, 6, pH->nFactor);
  sqlite3_bind_int64(pStmt, 7, pH->nRating);
  sqlite3_bind_text(pStmt, 8, zHash, -1, SQLITE_STATIC);
  sqlite3_bind_double(pStmt, 9, pH->mu);
  bindRange(pStmt, 10, pH->rMin);
  bindRange(pStmt, 11, pH->rMax);
  sqlite3_bind_text(pStmt, 12, pH->zOptions, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 13, pH->zInfo, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 14, zSum, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 15, zNow, -1, SQLITE_STATIC);
  sqlite3_step(pStmt);
  return sqlite3_finalize(pStmt);
}

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
    floatsToBlob(aBuf, &p->aFactor[(i64)i*p->nFactor], p->nFactor);
    sqlite3_bind_int64(pStmt, 3, p->aId[i]);
    sqlite3_bind_double(pStmt, 4, p->aBias[i]);
    sqlite3_bind_blob(pStmt, 5, aBuf, 4*p->nFactor, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

static int deleteModel(sqlite3 *db, const char *zName){
  static const char *azSql[] = {
    "DELETE FROM main.mlrec_saved_vectors WHERE model = ?1",
    "DELETE FROM main.mlrec_saved_models WHERE name = ?1",
  };
  int i, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<2; i++){
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(db, azSql[i], -1, &pStmt, 0);
    if( rc==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
    }
  }
  return rc;
}

/* Save header pH and vectors under zName, replacing what was there. */
static int saveModel(sqlite3 *db, const char *zName, const Header *pH,
                     const Side *pUser, const Side *pItem, const char *zFunc,
                     char **pzErr){
  u64 checksum = modelChecksum(pH, pUser, pItem);
  int rc = sqlite3_exec(db, "SAVEPOINT mlrec_save", 0, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_exec(db, zSchema, 0, 0, 0);
    if( rc==SQLITE_OK ) rc = deleteModel(db, zName);
    if( rc==SQLITE_OK ) rc = insertHeader(db, zName, pH, checksum);
    if( rc==SQLITE_OK ) rc = insertVectors(db, zName, pUser);
    if( rc==SQLITE_OK ) rc = insertVectors(db, zName, pItem);
    if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
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
  }else if( rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: %s", zFunc, sqlite3_errmsg(db));
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

static int saveMlrecModel(sqlite3 *db, const char *zName,
                          const MlrecModel *m, const char *zFunc,
                          char **pzErr){
  Header h;
  Side user, item;
  int rc;
  memset(&h, 0, sizeof(h));
  h.zKind = "mf";
  h.nUser = m->nUser;
  h.nItem = m->nItem;
  h.nFactor = m->nFactor;
  h.nRating = m->nRating;
  h.dataHash = m->dataHash;
  h.mu = m->mu;
  h.rMin = m->rMin;
  h.rMax = m->rMax;
  h.zOptions = m->zOptions ? sqlite3_mprintf("%s", m->zOptions)
                           : mlrecMfOptionsJson(&m->opt);
  h.zInfo = modelInfo(m);
  modelSides(m, &user, &item);
  rc = h.zOptions && h.zInfo ? saveModel(db, zName, &h, &user, &item, zFunc,
                                         pzErr)
                             : SQLITE_NOMEM;
  sqlite3_free(h.zOptions);
  sqlite3_free(h.zInfo);
  return rc;
}

/* ---- Loading -------------------------------------------------------------- */

/*
** Set a "the saved model is damaged" error and return SQLITE_ERROR, or
** SQLITE_NOMEM if the message cannot be built.
*/
static int damaged(char **pzErr, const char *zName, const char *zFormat, ...){
  va_list ap;
  char *zWhy;
  va_start(ap, zFormat);
  zWhy = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if( zWhy==0 ) return SQLITE_NOMEM;
  mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' is damaged and "
                "was not loaded: %s", zName, zWhy);
  sqlite3_free(zWhy);
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Column iCol of pStmt as an integer in [lo, hi], else SQLITE_CORRUPT. */
static int headerInt(sqlite3_stmt *pStmt, int iCol, i64 lo, i64 hi,
                     i64 *piOut){
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_INTEGER ) return SQLITE_CORRUPT;
  *piOut = sqlite3_column_int64(pStmt, iCol);
  return *piOut>=lo && *piOut<=hi ? SQLITE_OK : SQLITE_CORRUPT;
}

/* Column iCol as a finite number, else SQLITE_CORRUPT; if bNull, NULL
** is accepted and gives rNull. */
static int headerReal(sqlite3_stmt *pStmt, int iCol, int bNull, double rNull,
                      double *prOut){
  int eType = sqlite3_column_type(pStmt, iCol);
  if( eType==SQLITE_NULL && bNull ){
    *prOut = rNull;
    return SQLITE_OK;
  }
  if( eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT ) return SQLITE_CORRUPT;
  *prOut = sqlite3_column_double(pStmt, iCol);
  return isfinite(*prOut) ? SQLITE_OK : SQLITE_CORRUPT;
}

/* Column iCol as a copy of its text into *pzOut, else SQLITE_CORRUPT. */
static int headerText(sqlite3_stmt *pStmt, int iCol, char **pzOut){
  const char *z;
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_TEXT ) return SQLITE_CORRUPT;
  z = (const char*)sqlite3_column_text(pStmt, iCol);
  if( z==0 ) return SQLITE_NOMEM;
  *pzOut = sqlite3_mprintf("%s", z);
  return *pzOut ? SQLITE_OK : SQLITE_NOMEM;
}

static int parseHex64(const char *z, u64 *pOut){
  u64 x = 0;
  int i;
  if( z==0 || strlen(z)!=16 ) return SQLITE_CORRUPT;
  for(i=0; i<16; i++){
    int c = z[i];
    int d = c>='0' && c<='9' ? c-'0' : c>='a' && c<='f' ? c-'a'+10 : -1;
    if( d<0 ) return SQLITE_CORRUPT;
    x = x<<4 | (u64)d;
  }
  *pOut = x;
  return SQLITE_OK;
}

/* What a saved model holds besides its vectors. */
typedef struct Saved Saved;
struct Saved {
  Header h;
  MlrecMfOptions opt;      /* parsed from h.zOptions, else defaults */
  u64 checksum;
  double rmse;             /* < 0: none */
  double seconds;
  i64 trainedAt;
};

static void savedFree(Saved *p){
  sqlite3_free(p->h.zOptions);
  sqlite3_free(p->h.zInfo);
}

/* Check and store the header row in pStmt (see readHeader) into pS. */
static int checkHeader(sqlite3 *db, sqlite3_stmt *pStmt, const char *zName,
                       Saved *pS, char **pzErr){
  const char *zKind = (const char*)sqlite3_column_text(pStmt, 0);
  char *zIgnored = 0;
  i64 iFormat = 0;
  int rc;
  if( zKind==0 || strcmp(zKind, "mf")!=0 ){
    mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' is of kind "
                  "'%s', which this version of mlrec cannot load", zName,
                  zKind ? zKind : "");
    return SQLITE_ERROR;
  }
  pS->h.zKind = "mf";
  if( headerInt(pStmt, 1, 1, 0x7fffffff, &iFormat)!=SQLITE_OK ){
    return damaged(pzErr, zName, "format is not a positive integer");
  }
  if( iFormat!=PERSIST_FORMAT ){
    mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' has format "
                  "%lld; this version of mlrec reads format %d", zName, iFormat,
                  PERSIST_FORMAT);
    return SQLITE_ERROR;
  }
  if( headerInt(pStmt, 2, 0, 0x7fffffff, &pS->h.nUser)
   || headerInt(pStmt, 3, 0, 0x7fffffff, &pS->h.nItem)
   || headerInt(pStmt, 4, 1, MLREC_MAX_FACTORS, &pS->h.nFactor)
   || headerInt(pStmt, 5, 0, 0x7fffffffffffffffLL, &pS->h.nRating) ){
    return damaged(pzErr, zName, "users, items, factors or ratings out of "
                   "range");
  }
  if( parseHex64((const char*)sqlite3_column_text(pStmt, 6), &pS->h.dataHash)
   || headerReal(pStmt, 7, 0, 0.0, &pS->h.mu)
   || headerReal(pStmt, 8, 1, -INFINITY, &pS->h.rMin)
   || headerReal(pStmt, 9, 1, INFINITY, &pS->h.rMax)
   || pS->h.rMin>pS->h.rMax
   || parseHex64((const char*)sqlite3_column_text(pStmt, 12), &pS->checksum) ){
    return damaged(pzErr, zName, "data_hash, mean, rating_min, rating_max or "
                   "checksum is not valid");
  }
  rc = headerText(pStmt, 10, &pS->h.zOptions);
  if( rc==SQLITE_OK ) rc = headerText(pStmt, 11, &pS->h.zInfo);
  if( rc==SQLITE_CORRUPT ) return damaged(pzErr, zName, "options or info is "
                                          "not text");
  if( rc!=SQLITE_OK ) return rc;
  /* the training options, when they are those of train_mf() (they are
  ** kept as text to show them; an imported model has others) */
  mlrecMfDefaults(&pS->opt);
  rc = mlrecParseOptions(db, "mlrec_load_model", sqlite3_column_value(pStmt,
                         10), mlrecMfOptionSpec, mlrecMfOptionCount,
                         &pS->opt, &zIgnored);
  sqlite3_free(zIgnored);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc!=SQLITE_OK ){
    mlrecMfDefaults(&pS->opt);
    pS->opt.knnWeight = 0.0;   /* factors alone, as imported */
  }
  pS->opt.nFactor = pS->h.nFactor;
  /* info: {"rmse":..., "seconds":..., "trained_at":...}, as saved */
  pS->rmse = sqlite3_column_type(pStmt, 13)==SQLITE_NULL ? -1.0
           : sqlite3_column_double(pStmt, 13);
  pS->seconds = sqlite3_column_double(pStmt, 14);
  pS->trainedAt = sqlite3_column_int64(pStmt, 15);
  return SQLITE_OK;
}

/* Read and check the header of saved model zName into pS. */
static int readHeader(sqlite3 *db, const char *zName, Saved *pS,
                      char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db,
      "SELECT kind, format, users, items, factors, ratings, data_hash, mean, "
      "rating_min, rating_max, options, info, checksum, "
      "json_extract(info, '$.rmse'), json_extract(info, '$.seconds'), "
      "json_extract(info, '$.trained_at') "
      "FROM main.mlrec_saved_models WHERE name = ?1", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "mlrec_load_model: no saved model '%s' (%s)",
                    zName, sqlite3_errmsg(db));
    }
    return rc;
  }
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_ROW ){
    rc = checkHeader(db, pStmt, zName, pS, pzErr);
  }else if( rc==SQLITE_DONE ){
    mlrecSetError(pzErr, "mlrec_load_model: no saved model '%s' in "
                  "mlrec_saved_models", zName);
    rc = SQLITE_ERROR;
  }else if( rc==SQLITE_ERROR ){
    rc = damaged(pzErr, zName, "%s", sqlite3_errmsg(db));
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
    return damaged(pzErr, zName, "a %s id is not an integer", p->zName);
  }
  iId = sqlite3_column_int64(pStmt, 0);
  if( p->n>0 && iId<=p->aId[p->n-1] ){
    return damaged(pzErr, zName, "%s ids are not distinct", p->zName);
  }
  if( sqlite3_column_type(pStmt, 2)!=SQLITE_BLOB
   || sqlite3_column_bytes(pStmt, 2)!=4*p->nFactor ){
    return damaged(pzErr, zName, "the factors of %s %lld are not %d float32 "
                   "values", p->zName, iId, p->nFactor);
  }
  aBlob = sqlite3_column_blob(pStmt, 2);
  if( aBlob==0 ) return SQLITE_NOMEM;
  rc = sideGrow(p);
  if( rc!=SQLITE_OK ) return rc;
  p->aId[p->n] = iId;
  p->aBias[p->n] = (float)sqlite3_column_double(pStmt, 1);
  blobToFloats(&p->aFactor[(i64)p->n*p->nFactor], aBlob, p->nFactor);
  if( (sqlite3_column_type(pStmt, 1)!=SQLITE_FLOAT
       && sqlite3_column_type(pStmt, 1)!=SQLITE_INTEGER)
   || !allFinite(&p->aBias[p->n], 1)
   || !allFinite(&p->aFactor[(i64)p->n*p->nFactor], p->nFactor) ){
    return damaged(pzErr, zName, "%s %lld has a bias or factor that is not "
                   "a finite number", p->zName, iId);
  }
  p->n++;
  return SQLITE_OK;
}

/* Read the vectors of side p of saved model zName; nWant are expected. */
static int readSide(sqlite3 *db, const char *zName, Side *p, i64 nWant,
                    char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db,
      "SELECT id, bias, factors FROM main.mlrec_saved_vectors "
      "WHERE model = ?1 AND side = ?2 ORDER BY id", -1, &pStmt, 0);
  if( rc!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ) rc = damaged(pzErr, zName, "%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->zName, -1, SQLITE_STATIC);
  while( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){
      rc = p->n==nWant ? SQLITE_OK : damaged(pzErr, zName, "%d %s vectors, "
                              "the header says %lld", p->n, p->zName, nWant);
      break;
    }
    if( rc!=SQLITE_ROW ){
      if( rc==SQLITE_ERROR ) rc = damaged(pzErr, zName, "%s", sqlite3_errmsg(db));
      break;
    }
    if( p->n>=nWant ){
      rc = damaged(pzErr, zName, "more %s vectors than the %lld of the header",
                   p->zName, nWant);
    }else{
      rc = readVector(pStmt, zName, p, pzErr);
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* A model made from header pS and sides whose arrays it takes over. */
static MlrecModel *modelFromSides(const Saved *pS, Side *pUser, Side *pItem){
  MlrecModel *m = sqlite3_malloc64(sizeof(*m));
  if( m==0 ) return 0;
  memset(m, 0, sizeof(*m));
  mlrecSharedInit(&m->shared);
  m->zOptions = sqlite3_mprintf("%s", pS->h.zOptions);
  if( m->zOptions==0 ){
    sqlite3_free(m);
    return 0;
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
  pUser->aId = pItem->aId = 0;
  pUser->aBias = pItem->aBias = 0;
  pUser->aFactor = pItem->aFactor = 0;
  m->mu = pS->h.mu;
  m->rMin = pS->h.rMin;
  m->rMax = pS->h.rMax;
  m->nRating = pS->h.nRating;
  m->dataHash = pS->h.dataHash;
  m->rmse = pS->rmse;
  m->seconds = pS->seconds;
  m->trainedAt = pS->trainedAt;
  return m;
}

/* Load and check saved model zName into *ppOut. */
static int loadModel(sqlite3 *db, const char *zName, MlrecModel **ppOut,
                     char **pzErr){
  Saved s;
  Side user, item;
  int rc;
  *ppOut = 0;
  memset(&s, 0, sizeof(s));
  sideOver(&user, "user", 0, 0, 0, 0, 0);
  sideOver(&item, "item", 0, 0, 0, 0, 0);
  rc = readHeader(db, zName, &s, pzErr);
  if( rc==SQLITE_OK ){
    user.nFactor = item.nFactor = (int)s.h.nFactor;
    rc = readSide(db, zName, &user, s.h.nUser, pzErr);
  }
  if( rc==SQLITE_OK ) rc = readSide(db, zName, &item, s.h.nItem, pzErr);
  if( rc==SQLITE_OK && modelChecksum(&s.h, &user, &item)!=s.checksum ){
    rc = damaged(pzErr, zName, "its checksum does not match its content "
                 "(truncated or altered)");
  }
  if( rc==SQLITE_OK ){
    *ppOut = modelFromSides(&s, &user, &item);
    if( *ppOut==0 ) rc = SQLITE_NOMEM;
  }
  sideFree(&user);
  sideFree(&item);
  savedFree(&s);
  return rc;
}

/* ---- Importing factors trained elsewhere --------------------------------- */

typedef struct IdRow IdRow;
struct IdRow { i64 id; int row; };

static int cmpIdRow(const void *a, const void *b){
  i64 x = ((const IdRow*)a)->id, y = ((const IdRow*)b)->id;
  return (x>y) - (x<y);
}

/*
** Parse the features of the current row of pRead (a JSON array of numbers)
** into p's next vector, using pEach = json_each(?1).  The first row sets
** the number of factors.
*/
static int readFeatures(sqlite3_stmt *pRead, sqlite3_stmt *pEach,
                        const char *zTable, i64 iId, Side *p, char **pzErr){
  float aF[MLREC_MAX_FACTORS];
  int n = 0, rc;
  sqlite3_bind_value(pEach, 1, sqlite3_column_value(pRead, 1));
  while( (rc = sqlite3_step(pEach))==SQLITE_ROW ){
    double r = sqlite3_column_double(pEach, 1);
    const char *zType = (const char*)sqlite3_column_text(pEach, 2);
    if( zType==0 ){ rc = SQLITE_NOMEM; break; }
    if( sqlite3_column_type(pEach, 0)!=SQLITE_INTEGER
     || (strcmp(zType, "integer")!=0 && strcmp(zType, "real")!=0)
     || !(r>-1e30 && r<1e30) || n>=MLREC_MAX_FACTORS ){
      rc = SQLITE_MISMATCH;
      break;
    }
    aF[n++] = (float)r;
  }
  sqlite3_reset(pEach);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc!=SQLITE_DONE || n==0 ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s: the features of id %lld "
                  "must be a JSON array of 1 to %d finite numbers", zTable,
                  iId, MLREC_MAX_FACTORS);
    return SQLITE_ERROR;
  }
  if( p->nFactor==0 ) p->nFactor = n;
  if( n!=p->nFactor ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s: id %lld has %d features,"
                  " the first row has %d", zTable, iId, n, p->nFactor);
    return SQLITE_ERROR;
  }
  rc = sideGrow(p);
  if( rc!=SQLITE_OK ) return rc;
  p->aId[p->n] = iId;
  p->aBias[p->n] = 0.0f;
  memcpy(&p->aFactor[(i64)p->n*n], aF, sizeof(float)*n);
  p->n++;
  return SQLITE_OK;
}

/* Read table zTable(id, features) into side p. */
static int readFactorTable(sqlite3 *db, const char *zTable, Side *p,
                           char **pzErr){
  sqlite3_stmt *pRead = 0, *pEach = 0;
  char *zSql = sqlite3_mprintf("SELECT \"%w\".\"id\", \"%w\".\"features\" "
                               "FROM \"%w\"", zTable, zTable, zTable);
  int rc;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pRead, 0);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    if( rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "mlrec_import_factors: cannot read %s: %s (it "
                    "needs columns id and features, as Spark's userFactors)",
                    zTable, sqlite3_errmsg(db));
    }
    return rc;
  }
  rc = sqlite3_prepare_v2(db, "SELECT key, atom, type FROM json_each(?1)",
                          -1, &pEach, 0);
  while( rc==SQLITE_OK ){
    i64 iId;
    rc = sqlite3_step(pRead);
    if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
      break;
    }
    if( rc!=SQLITE_ROW ){
      if( rc!=SQLITE_NOMEM ){
        mlrecSetError(pzErr, "mlrec_import_factors: reading %s: %s", zTable,
                      sqlite3_errmsg(db));
      }
      break;
    }
    if( mlrecArgToId(sqlite3_column_value(pRead, 0), &iId)!=SQLITE_OK ){
      mlrecSetError(pzErr, "mlrec_import_factors: %s.id must be an integer, "
                    "not %s (declare the column INTEGER before importing)",
                    zTable, mlrecTypeName(sqlite3_column_type(pRead, 0)));
      rc = SQLITE_ERROR;
    }else{
      rc = readFeatures(pRead, pEach, zTable, iId, p, pzErr);
    }
  }
  sqlite3_finalize(pEach);
  sqlite3_finalize(pRead);
  return rc;
}

/* Sort the vectors of p by id; an id given twice is an error. */
static int sortSide(Side *p, const char *zTable, char **pzErr){
  IdRow *a = sqlite3_malloc64(sizeof(IdRow)*((i64)p->n+1));
  float *aFactor = sqlite3_malloc64(sizeof(float)*((i64)p->n*p->nFactor+1));
  int i, rc = SQLITE_OK;
  if( a==0 || aFactor==0 ){
    sqlite3_free(a);
    sqlite3_free(aFactor);
    return SQLITE_NOMEM;
  }
  for(i=0; i<p->n; i++){
    a[i].id = p->aId[i];
    a[i].row = i;
  }
  qsort(a, p->n, sizeof(IdRow), cmpIdRow);
  for(i=0; i<p->n; i++){
    if( i>0 && a[i].id==a[i-1].id ){
      mlrecSetError(pzErr, "mlrec_import_factors: %s: id %lld appears "
                    "twice", zTable, a[i].id);
      rc = SQLITE_ERROR;
      break;
    }
    p->aId[i] = a[i].id;
    memcpy(&aFactor[(i64)i*p->nFactor], &p->aFactor[(i64)a[i].row*p->nFactor],
           sizeof(float)*p->nFactor);
  }
  sqlite3_free(a);
  sqlite3_free(p->aFactor);
  p->aFactor = aFactor;
  return rc;
}

/* The header of imported factors: no biases, fingerprint of the ratings now. */
static int importHeader(MlrecState *pState, const char *zUsers,
                        const char *zItems, const Side *pUser,
                        const Side *pItem, double seconds, Header *pH){
  MlrecRatings *pR = 0;
  sqlite3_str *pStr;
  char *zIgnored = 0;
  int rc = mlrecRatingsCurrent(pState, &pR, &zIgnored);
  sqlite3_free(zIgnored);
  if( rc==SQLITE_NOMEM ) return rc;
  memset(pH, 0, sizeof(*pH));
  pH->zKind = "mf";
  pH->nUser = pUser->n;
  pH->nItem = pItem->n;
  pH->nFactor = pUser->nFactor;
  pH->rMin = -INFINITY;
  pH->rMax = INFINITY;
  if( pR && pR->nRating>0 ){
    pH->nRating = pR->nRating;
    pH->dataHash = pR->hash;
    pH->rMin = pR->rMin;
    pH->rMax = pR->rMax;
  }
  mlrecRatingsUnref(pR);
  pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "{\"imported_from\":{\"users\":");
  mlrecJsonString(pStr, zUsers);
  sqlite3_str_appendall(pStr, ",\"items\":");
  mlrecJsonString(pStr, zItems);
  sqlite3_str_appendall(pStr, "}}");
  pH->zOptions = sqlite3_str_finish(pStr);
  pH->zInfo = sqlite3_mprintf("{\"rmse\":null,\"seconds\":%!.17g,"
                              "\"trained_at\":%lld}", seconds, mlrecNow());
  return pH->zOptions && pH->zInfo ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- SQL functions -------------------------------------------------------- */

/*
** A text argument that must not be empty, e.g. a model or table name; on
** error, sets the result and returns NULL.
*/
static const char *textArg(sqlite3_context *ctx, sqlite3_value *pVal,
                           const char *zFunc, const char *zWhat){
  int eType = sqlite3_value_type(pVal);
  const char *z = eType==SQLITE_TEXT ? (const char*)sqlite3_value_text(pVal)
                                     : 0;
  char *zErr;
  if( z && z[0] ) return z;
  if( eType==SQLITE_TEXT && z==0 ){
    sqlite3_result_error_nomem(ctx);
    return 0;
  }
  zErr = sqlite3_mprintf("%s: %s must be non-empty text, not %s", zFunc,
                         zWhat, z ? "''" : mlrecTypeName(eType));
  mlrecResultError(ctx, SQLITE_ERROR, zErr);
  sqlite3_free(zErr);
  return 0;
}

/* The model name argument, 'default' if absent or NULL; NULL on error. */
static const char *nameArg(sqlite3_context *ctx, const char *zFunc, int argc,
                           sqlite3_value **argv){
  if( argc==0 || sqlite3_value_type(argv[0])==SQLITE_NULL ) return "default";
  return textArg(ctx, argv[0], zFunc, "the model name");
}

/* Report rc/zErr, or set the result to text zOut (NULL: out of memory). */
static void resultOrError(sqlite3_context *ctx, int rc, char *zErr,
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

/* {"name":...,"kind":"mf","users":...,"items":...,"factors":...} and zMore */
static char *modelSummary(const char *zName, int nUser, int nItem,
                          int nFactor, const char *zMore){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "{\"name\":");
  mlrecJsonString(pStr, zName);
  sqlite3_str_appendf(pStr, ",\"kind\":\"mf\",\"users\":%d,\"items\":%d,"
                      "\"factors\":%d%s}", nUser, nItem, nFactor, zMore);
  return sqlite3_str_finish(pStr);
}

/* mlrec_save_model([name]) */
static void saveFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = (MlrecState*)sqlite3_user_data(ctx);
  const char *zName = nameArg(ctx, "mlrec_save_model", argc, argv);
  char *zErr = 0;
  int rc;
  if( zName==0 ) return;
  if( p->pModel==0 ){
    zErr = sqlite3_mprintf("mlrec_save_model: this connection has no model "
                           "to save; train one with train_mf() or load one "
                           "with mlrec_load_model()");
    resultOrError(ctx, SQLITE_ERROR, zErr, 0);
    return;
  }
  rc = saveMlrecModel(p->db, zName, p->pModel, "mlrec_save_model", &zErr);
  resultOrError(ctx, rc, zErr, rc==SQLITE_OK ? modelSummary(zName,
                p->pModel->nUser, p->pModel->nItem, p->pModel->nFactor, "")
                : 0);
}

/*
** The neighbourhood half of predict() (knn_weight > 0, neighbours.c) is not
** saved: it is fitted again on the ratings table, as train_mf() fitted it.
*/
static int refitNeighbours(MlrecState *p, const char *zName, MlrecModel *m,
                           MlrecRatings *pR, const char *zWhy, char **pzErr){
  if( m->opt.knnWeight<=0.0 ) return SQLITE_OK;
  if( pR==0 ){
    mlrecSetError(pzErr, "mlrec_load_model: model '%s' blends in the "
                  "neighbourhood model (knn_weight %g), which is fitted on the "
                  "ratings table: %s", zName, m->opt.knnWeight, zWhy);
    return SQLITE_ERROR;
  }
  return mlrecNeighboursTrain(p->db, pR, m->opt.nNeighbour, m->opt.shrinkage,
                              &m->pNeighbours);
}

/* mlrec_load_model([name]) */
static void loadFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = (MlrecState*)sqlite3_user_data(ctx);
  const char *zName = nameArg(ctx, "mlrec_load_model", argc, argv);
  MlrecModel *m = 0;
  MlrecRatings *pR = 0;
  char *zErr = 0;
  int rc, bStale = 1;
  if( zName==0 ) return;
  rc = loadModel(p->db, zName, &m, &zErr);
  if( rc==SQLITE_OK ){
    char *zWhy = 0;
    rc = mlrecRatingsCurrent(p, &pR, &zWhy);
    if( rc==SQLITE_OK ){
      bStale = pR->hash!=m->dataHash || pR->nRating!=m->nRating;
    }
    /* no ratings table: the model is stale, and serves if it can */
    if( rc!=SQLITE_NOMEM ){
      rc = refitNeighbours(p, zName, m, pR, zWhy ? zWhy : "?", &zErr);
    }
    sqlite3_free(zWhy);
    mlrecRatingsUnref(pR);
  }
  if( rc==SQLITE_OK ){
    mlrecSetModel(p, m);
  }else{
    mlrecModelUnref(m);
  }
  resultOrError(ctx, rc, zErr, rc==SQLITE_OK ? modelSummary(zName, m->nUser,
                m->nItem, m->nFactor, bStale ? ",\"stale\":1" : ",\"stale\":0")
                : 0);
}

/* mlrec_import_factors(name, users_table, items_table) */
static void importFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = (MlrecState*)sqlite3_user_data(ctx);
  double t0 = mlrecClock();
  const char *zName = nameArg(ctx, "mlrec_import_factors", argc, argv);
  const char *zUsers = zName ? textArg(ctx, argv[1], "mlrec_import_factors",
                                       "users_table") : 0;
  const char *zItems = zUsers ? textArg(ctx, argv[2], "mlrec_import_factors",
                                        "items_table") : 0;
  Side user, item;
  Header h;
  char *zErr = 0;
  int rc;
  if( zItems==0 ) return;
  sideOver(&user, "user", 0, 0, 0, 0, 0);
  sideOver(&item, "item", 0, 0, 0, 0, 0);
  memset(&h, 0, sizeof(h));
  rc = readFactorTable(p->db, zUsers, &user, &zErr);
  if( rc==SQLITE_OK ) rc = readFactorTable(p->db, zItems, &item, &zErr);
  if( rc==SQLITE_OK && (user.n==0 || item.n==0) ){
    mlrecSetError(&zErr, "mlrec_import_factors: %s is empty",
                  user.n==0 ? zUsers : zItems);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK && user.nFactor!=item.nFactor ){
    mlrecSetError(&zErr, "mlrec_import_factors: %s has %d features per row, "
                  "%s has %d", zUsers, user.nFactor, zItems, item.nFactor);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ) rc = sortSide(&user, zUsers, &zErr);
  if( rc==SQLITE_OK ) rc = sortSide(&item, zItems, &zErr);
  if( rc==SQLITE_OK ){
    rc = importHeader(p, zUsers, zItems, &user, &item, mlrecClock()-t0, &h);
  }
  if( rc==SQLITE_OK ){
    rc = saveModel(p->db, zName, &h, &user, &item, "mlrec_import_factors",
                   &zErr);
  }
  resultOrError(ctx, rc, zErr, rc==SQLITE_OK ? modelSummary(zName, user.n,
                item.n, user.nFactor, "") : 0);
  sideFree(&user);
  sideFree(&item);
  sqlite3_free(h.zOptions);
  sqlite3_free(h.zInfo);
}

int mlrecRegisterPersist(sqlite3 *db, MlrecState *p){
  /* They read and write tables and change the connection's model. */
  int rc = SQLITE_OK;
  int nArg;
  for(nArg=0; rc==SQLITE_OK && nArg<=1; nArg++){
    rc = mlrecCreateFunction(db, "mlrec_save_model", nArg, SQLITE_DIRECTONLY,
                             p, saveFunc);
    if( rc==SQLITE_OK ){
      rc = mlrecCreateFunction(db, "mlrec_load_model", nArg,
                               SQLITE_DIRECTONLY, p, loadFunc);
    }
  }
  if( rc==SQLITE_OK ){
    rc = mlrecCreateFunction(db, "mlrec_import_factors", 3, SQLITE_DIRECTONLY,
                             p, importFunc);
  }
  return rc;
}
