/*
** saved.c: what every kind of saved model shares (saved.h): the checksum,
** arrays as little-endian blobs, the header columns, and the errors that
** refuse a damaged model.
**
** THE CHECKSUM
**
** FNV-1a, taking 8 bytes (a little-endian word) at a step rather than one,
** so that summing the hundreds of megabytes of a large model costs little,
** over a serialisation that does not depend on the host: integers as 8
** little-endian bytes, doubles by their IEEE bits, text with its
** terminator (so that "ab","c" differs from "a","bc"), vectors as the
** bytes of their blobs.  Each step is a bijection of the state, so a
** single altered word always changes the sum.  It detects truncation and
** accidental damage; it is not a signature (whoever can write the tables
** can recompute it).  A
** row that a model reads lazily (saved_rating.c) is summed by its digest,
** the FNV-1a of its blob, kept in a column of its own: the checksum then
** covers it without its blob being read at load, and the row is checked
** against its digest when it is read.
**
** THE HEADER
**
** Each kind has a header table with one row per saved name, whose first
** columns are the same for all (MLREC_SAVED_COLUMNS): the format (2: older
** formats are refused with a message saying what to do, newer ones too),
** the sizes, the fingerprint of the ratings trained on (ratings and
** data_hash, as in mlrec_models.stale), the rating range (NULL: none),
** options and info as JSON, the checksum (16 hex digits) and saved_at.
*/
#include "saved.h"
#include <math.h>
#include <stdarg.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

/* On a little-endian host a blob is the array's own bytes: a copy. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__==__ORDER_LITTLE_ENDIAN__
# define SAVED_NATIVE 1
#else
# define SAVED_NATIVE 0
#endif

/* The little-endian 64-bit word at a. */
static u64 get64(const unsigned char *a){
  u64 w;
  int j;
  if( SAVED_NATIVE ){
    memcpy(&w, a, 8);
    return w;
  }
  for(w=0, j=7; j>=0; j--) w = w<<8 | a[j];
  return w;
}

void mlrecSumInit(MlrecSum *p){
  p->h = FNV_OFFSET;
}

void mlrecSumBytes(MlrecSum *p, const unsigned char *a, size_t n){
  u64 h = p->h;
  size_t i;
  for(i=0; i+8<=n; i+=8) h = (h ^ get64(a+i)) * FNV_PRIME;
  for(; i<n; i++) h = (h ^ a[i]) * FNV_PRIME;
  p->h = h;
}

/* The same as summing its 8 little-endian bytes: one step. */
void mlrecSumU64(MlrecSum *p, u64 x){
  p->h = (p->h ^ x) * FNV_PRIME;
}

void mlrecSumDouble(MlrecSum *p, double r){
  u64 bits;
  memcpy(&bits, &r, sizeof(bits));
  mlrecSumU64(p, bits);
}

void mlrecSumText(MlrecSum *p, const char *z){
  mlrecSumBytes(p, (const unsigned char*)z, strlen(z)+1);
}

/* The digest of a blob: its FNV-1a. */
u64 mlrecDigest(const unsigned char *a, size_t n){
  MlrecSum s;
  mlrecSumInit(&s);
  mlrecSumBytes(&s, a, n);
  return s.h;
}

/* ---- Arrays as little-endian blobs --------------------------------------- */

static void put32(unsigned char *a, unsigned int x){
  a[0] = (unsigned char)x;
  a[1] = (unsigned char)(x>>8);
  a[2] = (unsigned char)(x>>16);
  a[3] = (unsigned char)(x>>24);
}

static unsigned int get32(const unsigned char *a){
  return (unsigned int)a[0] | (unsigned int)a[1]<<8
       | (unsigned int)a[2]<<16 | (unsigned int)a[3]<<24;
}

void mlrecPutFloats(unsigned char *a, const float *x, int n){
  int i;
  if( SAVED_NATIVE ){
    if( n>0 ) memcpy(a, x, 4*(size_t)n);
    return;
  }
  for(i=0; i<n; i++){
    unsigned int bits;
    memcpy(&bits, &x[i], 4);
    put32(a+4*(i64)i, bits);
  }
}

void mlrecGetFloats(float *x, const unsigned char *a, int n){
  int i;
  if( SAVED_NATIVE ){
    if( n>0 ) memcpy(x, a, 4*(size_t)n);
    return;
  }
  for(i=0; i<n; i++){
    unsigned int bits = get32(a+4*(i64)i);
    memcpy(&x[i], &bits, 4);
  }
}

void mlrecPutInts(unsigned char *a, const int *x, int n){
  int i;
  if( SAVED_NATIVE ){
    if( n>0 ) memcpy(a, x, 4*(size_t)n);
    return;
  }
  for(i=0; i<n; i++) put32(a+4*(i64)i, (unsigned int)x[i]);
}

void mlrecGetInts(int *x, const unsigned char *a, int n){
  int i;
  if( SAVED_NATIVE ){
    if( n>0 ) memcpy(x, a, 4*(size_t)n);
    return;
  }
  for(i=0; i<n; i++) x[i] = (int)get32(a+4*(i64)i);
}

void mlrecPutDoubles(unsigned char *a, const double *x, int n){
  int i, j;
  for(i=0; i<n; i++){
    u64 bits;
    memcpy(&bits, &x[i], 8);
    for(j=0; j<8; j++) a[8*(i64)i+j] = (unsigned char)(bits >> (8*j));
  }
}

void mlrecGetDoubles(double *x, const unsigned char *a, int n){
  int i;
  for(i=0; i<n; i++){
    u64 bits = get64(a+8*(i64)i);
    memcpy(&x[i], &bits, 8);
  }
}

/* True if no float of a is infinite or NaN (all exponent bits set): four
** at a time, without a branch per value (a load checks millions). */
int mlrecAllFinite(const float *a, i64 n){
  typedef int Int4 __attribute__((vector_size(16)));
  const Int4 exp = { 0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000 };
  Int4 bad = { 0, 0, 0, 0 }, x;
  i64 i;
  for(i=0; i+4<=n; i+=4){
    memcpy(&x, a+i, sizeof(x));
    bad |= (x & exp)==exp;
  }
  for(; i<n; i++) if( !isfinite(a[i]) ) return 0;
  return !(bad[0] | bad[1] | bad[2] | bad[3]);
}

/* ---- The header ---------------------------------------------------------- */

/* Add the common header fields of pH to the checksum p. */
void mlrecSavedHeaderSum(MlrecSum *p, const MlrecSavedHeader *pH){
  mlrecSumU64(p, MLREC_SAVED_FORMAT);
  mlrecSumU64(p, (u64)pH->nUser);
  mlrecSumU64(p, (u64)pH->nItem);
  mlrecSumU64(p, (u64)pH->nFactor);
  mlrecSumU64(p, (u64)pH->nRating);
  mlrecSumU64(p, pH->dataHash);
  mlrecSumDouble(p, pH->rMin);
  mlrecSumDouble(p, pH->rMax);
  mlrecSumText(p, pH->zOptions);
  mlrecSumText(p, pH->zInfo);
}

/* UTC now as "YYYY-MM-DD HH:MM:SS". */
void mlrecSavedNow(char *zBuf, int nBuf){
  mlrecFormatTime(mlrecNow(), zBuf, nBuf);
}

static int bindRange(sqlite3_stmt *pStmt, int i, double r){
  return isfinite(r) ? sqlite3_bind_double(pStmt, i, r)
                     : sqlite3_bind_null(pStmt, i);
}

/*
** Bind the common columns of pH to parameters ?2 to ?13 of pStmt (?1 is
** the name): an INSERT that lists them in MLREC_SAVED_COLUMNS order.  Text
** is bound SQLITE_STATIC: pH outlives the step.
*/
void mlrecSavedHeaderBind(sqlite3_stmt *pStmt, const MlrecSavedHeader *pH){
  char zHash[20], zSum[20];
  sqlite3_snprintf(sizeof(zHash), zHash, "%016llx", pH->dataHash);
  sqlite3_snprintf(sizeof(zSum), zSum, "%016llx", pH->checksum);
  sqlite3_bind_int(pStmt, 2, MLREC_SAVED_FORMAT);
  sqlite3_bind_int64(pStmt, 3, pH->nUser);
  sqlite3_bind_int64(pStmt, 4, pH->nItem);
  sqlite3_bind_int64(pStmt, 5, pH->nFactor);
  sqlite3_bind_int64(pStmt, 6, pH->nRating);
  sqlite3_bind_text(pStmt, 7, zHash, -1, SQLITE_TRANSIENT);
  bindRange(pStmt, 8, pH->rMin);
  bindRange(pStmt, 9, pH->rMax);
  sqlite3_bind_text(pStmt, 10, pH->zOptions, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 11, pH->zInfo, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 12, zSum, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(pStmt, 13, pH->zSavedAt, -1, SQLITE_STATIC);
}

void mlrecSavedHeaderClear(MlrecSavedHeader *pH){
  sqlite3_free(pH->zOptions);
  sqlite3_free(pH->zInfo);
  memset(pH, 0, sizeof(*pH));
}

/* Column iCol of pStmt as an integer in [lo, hi], else SQLITE_CORRUPT. */
static int columnInt(sqlite3_stmt *pStmt, int iCol, i64 lo, i64 hi,
                     i64 *piOut){
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_INTEGER ) return SQLITE_CORRUPT;
  *piOut = sqlite3_column_int64(pStmt, iCol);
  return *piOut>=lo && *piOut<=hi ? SQLITE_OK : SQLITE_CORRUPT;
}

/* Column iCol as a finite number, else SQLITE_CORRUPT; NULL gives rNull
** if bNull. */
static int columnReal(sqlite3_stmt *pStmt, int iCol, int bNull, double rNull,
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
static int columnText(sqlite3_stmt *pStmt, int iCol, char **pzOut){
  const char *z;
  if( sqlite3_column_type(pStmt, iCol)!=SQLITE_TEXT ) return SQLITE_CORRUPT;
  z = (const char*)sqlite3_column_text(pStmt, iCol);
  if( z==0 ) return SQLITE_NOMEM;
  *pzOut = sqlite3_mprintf("%s", z);
  return *pzOut ? SQLITE_OK : SQLITE_NOMEM;
}

/* Column iCol as 16 lower-case hex digits, else SQLITE_CORRUPT. */
static int columnHex(sqlite3_stmt *pStmt, int iCol, u64 *pOut){
  const char *z = (const char*)sqlite3_column_text(pStmt, iCol);
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

/* Check the format in column 0 of the header row. */
static int checkFormat(sqlite3_stmt *pStmt, const char *zName, char **pzErr){
  i64 iFormat = 0;
  if( columnInt(pStmt, 0, 1, 0x7fffffff, &iFormat)!=SQLITE_OK ){
    return mlrecSavedDamaged(pzErr, zName, "format is not a positive integer");
  }
  if( iFormat==1 ){
    mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' has format 1, "
                  "written by mlrec 0.1, which this version does not read "
                  "(format 1 left out the neighbourhood half and the ranking "
                  "model): train or import it again and save it", zName);
    return SQLITE_ERROR;
  }
  if( iFormat!=MLREC_SAVED_FORMAT ){
    mlrecSetError(pzErr, "mlrec_load_model: saved model '%s' has format "
                  "%lld; this version of mlrec reads format %d", zName,
                  iFormat, MLREC_SAVED_FORMAT);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/*
** Check and read the common columns of the header row in pStmt (the first
** MLREC_SAVED_NCOLUMN, see saved.h) into pH.
*/
int mlrecSavedHeaderRead(sqlite3_stmt *pStmt, const char *zName,
                         MlrecSavedHeader *pH, char **pzErr){
  const char *zAt;
  int rc = checkFormat(pStmt, zName, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  if( columnInt(pStmt, 1, 0, 0x7fffffff, &pH->nUser)
   || columnInt(pStmt, 2, 0, 0x7fffffff, &pH->nItem)
   || columnInt(pStmt, 3, 1, MLREC_MAX_FACTORS, &pH->nFactor)
   || columnInt(pStmt, 4, 0, 0x7fffffffffffffffLL, &pH->nRating) ){
    return mlrecSavedDamaged(pzErr, zName, "users, items, factors or ratings "
                             "out of range");
  }
  if( columnHex(pStmt, 5, &pH->dataHash)
   || columnReal(pStmt, 6, 1, -INFINITY, &pH->rMin)
   || columnReal(pStmt, 7, 1, INFINITY, &pH->rMax)
   || pH->rMin>pH->rMax
   || columnHex(pStmt, 10, &pH->checksum) ){
    return mlrecSavedDamaged(pzErr, zName, "data_hash, rating_min, "
                             "rating_max or checksum is not valid");
  }
  rc = columnText(pStmt, 8, &pH->zOptions);
  if( rc==SQLITE_OK ) rc = columnText(pStmt, 9, &pH->zInfo);
  if( rc==SQLITE_CORRUPT ){
    return mlrecSavedDamaged(pzErr, zName, "options or info is not text");
  }
  if( rc!=SQLITE_OK ) return rc;
  zAt = (const char*)sqlite3_column_text(pStmt, 11);
  sqlite3_snprintf(sizeof(pH->zSavedAt), pH->zSavedAt, "%s", zAt ? zAt : "");
  pH->seconds = sqlite3_column_double(pStmt, 12);
  pH->trainedAt = sqlite3_column_int64(pStmt, 13);
  return SQLITE_OK;
}

/* ---- Errors -------------------------------------------------------------- */

/*
** Set a "the saved model is damaged" error and return SQLITE_ERROR, or
** SQLITE_NOMEM if the message cannot be built.
*/
int mlrecSavedDamaged(char **pzErr, const char *zName, const char *zFormat,
                      ...){
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

/* True if the last error of db says that a table does not exist. */
int mlrecSavedNoTable(sqlite3 *db){
  return strncmp(sqlite3_errmsg(db), "no such table", 13)==0;
}

/*
** Prepare zSql, which reads the tables of saved model zName; a failure
** other than a missing table (a damaged schema, say) is the model's.
*/
int mlrecSavedPrepare(sqlite3 *db, const char *zSql, const char *zName,
                      sqlite3_stmt **ppStmt, char **pzErr){
  int rc = sqlite3_prepare_v2(db, zSql, -1, ppStmt, 0);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && !mlrecSavedNoTable(db) ){
    rc = mlrecSavedDamaged(pzErr, zName, "%s", sqlite3_errmsg(db));
  }
  return rc;
}

/* The error of a step that returned rc (neither ROW nor DONE). */
int mlrecSavedStepError(sqlite3 *db, int rc, const char *zName,
                        char **pzErr){
  if( rc==SQLITE_ERROR ) return mlrecSavedDamaged(pzErr, zName, "%s",
                                                  sqlite3_errmsg(db));
  return rc;
}

/* Run zSql with ?1 bound to zName (a statement that writes). */
int mlrecSavedExec(sqlite3 *db, const char *zSql, const char *zName){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  return rc;
}
