/*
** import.c: factors trained elsewhere (Spark MLlib's ALS, implicit, ...)
** saved as a model that mlrec serves.
**
**     SELECT mlrec_import_factors('spark', 'spark_users', 'spark_items');
**     SELECT mlrec_import_factors('clicks', 'users_f', 'items_f',
**                                 '{"implicit": true}');
**     SELECT mlrec_load_model('spark');
**     SELECT * FROM recommend(1, 10);    -- the imported factors rank
**
** mlrec_import_factors(name, users_table, items_table [, options]) reads
** two tables with columns id (integer) and features (a JSON array of
** numbers, the same length in every row of both), the layout of Spark
** MLlib's ALSModel.userFactors and itemFactors written as CSV, and saves
** them under name as a rating model (saved_rating.c), replacing what name
** held.  Its prediction is the dot product of the two vectors (no mean, no
** biases).  Option "implicit" says what the factors were trained on:
** false (the default) for explicit ratings, whose prediction is a rating,
** clipped to the rating range of the ratings table when there is one;
** true for implicit preferences (Spark's implicitPrefs), whose prediction
** is a preference score, never clipped.  The fingerprint of the model is
** that of the ratings table at import time.
**
** Once loaded, the imported model serves predict() and
** recommend(..., '{"model": "rating"}'), and also a plain recommend()
** while the connection holds no ranking model (recommend.c).
*/
#include "saved.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The options of mlrec_import_factors(). */
typedef struct ImportOptions ImportOptions;
struct ImportOptions {
  i64 bImplicit;
};

static const MlrecOption aImportOption[] = {
  { "implicit", 'b', 0, 1, .offset=offsetof(ImportOptions, bImplicit) },
};
#define N_IMPORT_OPTION (int)(sizeof(aImportOption)/sizeof(aImportOption[0]))

/* The vectors of one table, by id once sorted. */
typedef struct Factors Factors;
struct Factors {
  const char *zTable;
  int n, nAlloc;
  int nFactor;           /* set by the first row */
  i64 *aId;
  float *aFactor;        /* n x nFactor */
};

static void factorsFree(Factors *p){
  sqlite3_free(p->aId);
  sqlite3_free(p->aFactor);
  p->aId = 0;
  p->aFactor = 0;
}

/* Room for one more vector. */
static int factorsGrow(Factors *p){
  if( p->n==p->nAlloc ){
    i64 nNew = p->nAlloc ? 2*(i64)p->nAlloc : 256;
    i64 *aId;
    float *aFactor;
    if( nNew>0x7fffffff ) return SQLITE_FULL;
    aId = sqlite3_realloc64(p->aId, sizeof(i64)*nNew);
    if( aId ) p->aId = aId;
    aFactor = sqlite3_realloc64(p->aFactor, sizeof(float)*nNew*p->nFactor);
    if( aFactor ) p->aFactor = aFactor;
    if( !aId || !aFactor ) return SQLITE_NOMEM;
    p->nAlloc = (int)nNew;
  }
  return SQLITE_OK;
}

/* The largest magnitude of an imported feature: a dot product of two
** vectors of MLREC_MAX_FACTORS such features stays far inside a float. */
#define MLREC_MAX_FEATURE 1e15

/*
** Parse the features of the current row of pRead (a JSON array of numbers)
** into p's next vector, using pEach = json_each(?1).  The first row sets
** the number of factors.
*/
static int readFeatures(sqlite3_stmt *pRead, sqlite3_stmt *pEach, i64 iId,
                        Factors *p, char **pzErr){
  float aF[MLREC_MAX_FACTORS];
  int n = 0, rc;
  sqlite3_bind_value(pEach, 1, sqlite3_column_value(pRead, 1));
  while( (rc = sqlite3_step(pEach))==SQLITE_ROW ){
    double r = sqlite3_column_double(pEach, 1);
    const char *zType = (const char*)sqlite3_column_text(pEach, 2);
    if( zType==0 ){ rc = SQLITE_NOMEM; break; }
    if( sqlite3_column_type(pEach, 0)!=SQLITE_INTEGER
     || (strcmp(zType, "integer")!=0 && strcmp(zType, "real")!=0)
     || !(fabs(r)<MLREC_MAX_FEATURE) || n>=MLREC_MAX_FACTORS ){
      rc = SQLITE_MISMATCH;
      break;
    }
    aF[n++] = (float)r;
  }
  sqlite3_reset(pEach);
  if( rc==SQLITE_NOMEM ) return rc;
  if( rc!=SQLITE_DONE || n==0 ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s: the features of id %lld "
                  "must be a JSON array of 1 to %d numbers below %g in "
                  "magnitude (their products must stay finite)", p->zTable,
                  iId, MLREC_MAX_FACTORS, MLREC_MAX_FEATURE);
    return SQLITE_ERROR;
  }
  if( p->nFactor==0 ) p->nFactor = n;
  if( n!=p->nFactor ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s: id %lld has %d features,"
                  " the first row has %d", p->zTable, iId, n, p->nFactor);
    return SQLITE_ERROR;
  }
  rc = factorsGrow(p);
  if( rc!=SQLITE_OK ) return rc;
  p->aId[p->n] = iId;
  memcpy(&p->aFactor[(i64)p->n*n], aF, sizeof(float)*n);
  p->n++;
  return SQLITE_OK;
}

/* Read table p->zTable(id, features) into p. */
static int readFactorTable(sqlite3 *db, Factors *p, char **pzErr){
  sqlite3_stmt *pRead = 0, *pEach = 0;
  const char *zTable = p->zTable;
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
      rc = readFeatures(pRead, pEach, iId, p, pzErr);
    }
  }
  sqlite3_finalize(pEach);
  sqlite3_finalize(pRead);
  return rc;
}

typedef struct IdRow IdRow;
struct IdRow { i64 id; int row; };

static int cmpIdRow(const void *a, const void *b){
  i64 x = ((const IdRow*)a)->id, y = ((const IdRow*)b)->id;
  return (x>y) - (x<y);
}

/* Sort the vectors of p by id; an id given twice is an error. */
static int sortFactors(Factors *p, char **pzErr){
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
                    "twice", p->zTable, a[i].id);
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

/* The options JSON of an import: where from, and the kind of feedback. */
static char *importOptionsJson(const Factors *pUsers, const Factors *pItems,
                               int bImplicit){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "{\"imported_from\":{\"users\":");
  mlrecJsonString(pStr, pUsers->zTable);
  sqlite3_str_appendall(pStr, ",\"items\":");
  mlrecJsonString(pStr, pItems->zTable);
  sqlite3_str_appendf(pStr, "},\"implicit\":%s}", bImplicit ? "true" : "false");
  return sqlite3_str_finish(pStr);
}

/* Zero biases for n vectors. */
static float *zeros(int n){
  float *a = sqlite3_malloc64(sizeof(float)*((i64)n+1));
  if( a ) memset(a, 0, sizeof(float)*((i64)n+1));
  return a;
}

/*
** A model of the imported factors, which it takes over: no mean, no
** biases, the fingerprint of the ratings table now (if it can be read)
** and, for explicit ratings, its rating range.
*/
static int importedModel(MlrecState *p, Factors *pUsers, Factors *pItems,
                         int bImplicit, MlrecModel **ppOut){
  MlrecModel *m = sqlite3_malloc64(sizeof(*m));
  MlrecRatings *pR = 0;
  char *zIgnored = 0;
  int rc = mlrecRatingsCurrent(p, &pR, &zIgnored);
  sqlite3_free(zIgnored);
  *ppOut = 0;
  if( rc==SQLITE_NOMEM || m==0 ){
    mlrecRatingsUnref(pR);
    sqlite3_free(m);
    return SQLITE_NOMEM;
  }
  memset(m, 0, sizeof(*m));
  mlrecSharedInit(&m->shared);
  mlrecMfDefaults(&m->opt);
  m->opt.knnWeight = 0.0;
  m->opt.nFactor = m->nFactor = pUsers->nFactor;
  m->nUser = pUsers->n;
  m->nItem = pItems->n;
  m->aUserId = pUsers->aId;
  m->aUserFactor = pUsers->aFactor;
  m->aItemId = pItems->aId;
  m->aItemFactor = pItems->aFactor;
  pUsers->aId = pItems->aId = 0;
  pUsers->aFactor = pItems->aFactor = 0;
  m->aUserBias = zeros(m->nUser);
  m->aItemBias = zeros(m->nItem);
  m->rMin = -INFINITY;
  m->rMax = INFINITY;
  if( pR && pR->nRating>0 ){
    m->nRating = pR->nRating;
    m->dataHash = pR->hash;
    if( !bImplicit ){
      m->rMin = pR->rMin;
      m->rMax = pR->rMax;
    }
  }
  mlrecRatingsUnref(pR);
  m->rmse = -1.0;
  m->trainedAt = mlrecNow();
  m->zOptions = importOptionsJson(pUsers, pItems, bImplicit);
  if( !m->aUserBias || !m->aItemBias || !m->zOptions ){
    mlrecModelUnref(m);
    return SQLITE_NOMEM;
  }
  *ppOut = m;
  return SQLITE_OK;
}

/* Read, check and sort the two tables. */
static int readFactors(sqlite3 *db, Factors *pUsers, Factors *pItems,
                       char **pzErr){
  int rc = readFactorTable(db, pUsers, pzErr);
  if( rc==SQLITE_OK ) rc = readFactorTable(db, pItems, pzErr);
  if( rc==SQLITE_OK && (pUsers->n==0 || pItems->n==0) ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s is empty",
                  pUsers->n==0 ? pUsers->zTable : pItems->zTable);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK && pUsers->nFactor!=pItems->nFactor ){
    mlrecSetError(pzErr, "mlrec_import_factors: %s has %d features per row, "
                  "%s has %d", pUsers->zTable, pUsers->nFactor, pItems->zTable,
                  pItems->nFactor);
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ) rc = sortFactors(pUsers, pzErr);
  if( rc==SQLITE_OK ) rc = sortFactors(pItems, pzErr);
  return rc;
}

/* mlrec_import_factors(name, users_table, items_table [, options]) */
static void importFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  double t0 = mlrecClock();
  const char *zName = mlrecNameArg(ctx, "mlrec_import_factors", argc, argv);
  const char *zUsers = zName ? mlrecTextArg(ctx, argv[1],
                                 "mlrec_import_factors", "users_table") : 0;
  const char *zItems = zUsers ? mlrecTextArg(ctx, argv[2],
                                  "mlrec_import_factors", "items_table") : 0;
  ImportOptions opt;
  Factors users, items;
  MlrecModel *m = 0;
  MlrecOrigin mo, ro;
  char *zErr = 0, *zOut = 0;
  int rc;
  if( zItems==0 ) return;
  memset(&users, 0, sizeof(users));
  memset(&items, 0, sizeof(items));
  memset(&mo, 0, sizeof(mo));
  memset(&ro, 0, sizeof(ro));
  users.zTable = zUsers;
  items.zTable = zItems;
  mlrecOptionsDefault(aImportOption, N_IMPORT_OPTION, &opt);
  rc = mlrecParseOptions(p->db, "mlrec_import_factors", argc>3 ? argv[3] : 0,
                         aImportOption, N_IMPORT_OPTION, &opt, &zErr);
  if( rc==SQLITE_OK ) rc = readFactors(p->db, &users, &items, &zErr);
  if( rc==SQLITE_OK ){
    rc = importedModel(p, &users, &items, (int)opt.bImplicit, &m);
  }
  if( rc==SQLITE_OK ){
    m->seconds = mlrecClock() - t0;
    rc = mlrecSaveModels(p->db, zName, m, &mo, 0, &ro,
                         "mlrec_import_factors", &zErr);
  }
  if( rc==SQLITE_OK ) zOut = mlrecSavedSummary(zName, m, 0);
  mlrecResultOrError(ctx, rc, zErr, zOut);
  mlrecModelUnref(m);
  factorsFree(&users);
  factorsFree(&items);
}

int mlrecRegisterImport(sqlite3 *db, MlrecState *p){
  /* Reads and writes tables. */
  return mlrecCreateFunctions(db, "mlrec_import_factors", 3, 4,
                              SQLITE_DIRECTONLY, p, importFunc);
}
