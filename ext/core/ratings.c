/*
** ratings.c: reads the ratings table into an immutable in-memory snapshot.
**
** The table is read with one statement
**
**     SELECT "ratings"."userId", "ratings"."movieId", "ratings"."rating"
**       FROM "ratings"
**
** (names from mlrec_config(), quoted as identifiers; a view works too).
** Ids must be integers (a REAL with an integral value is accepted), ratings
** numbers that a float holds (0, or 1e-30 to 1e30 in magnitude).  Anything
** else, and two ratings for the same (user, movie), is an error that names
** the offending row: the extension never guesses what a bad row meant.
**
** HOW IT WORKS
**
** While scanning, ids are mapped to dense indexes in the order they are
** first seen (an open-addressing hash map) and each row is appended to
** three compact arrays (user index, movie index, rating as float).  When
** every rating is a multiple of 1/2 between -64 and 63.5 (star ratings),
** the floats become bytes, 2 x rating, exactly.  Then the indexes are
** renumbered in ascending order of id, and two counting sorts build the
** compressed sparse rows by user and by movie, each sorted by the other
** index.  Rows that arrive in (user, movie) order, as from a table with
** that primary key, already are the rows by user: one counting sort is
** enough.  Consecutive rows of one user look the user up once.  The
** snapshot holds 10 bytes per rating (16 with ratings that are not half
** stars), with no per-row allocation.
**
** Freshness: the state remembers a "data version" of the connection
** (sqlite3_total_changes64() for this connection's own writes, including
** uncommitted ones, and for every database its name, file and
** SQLITE_FCNTL_DATA_VERSION, for commits by anyone), taken inside a read
** transaction of every database (mlrecReadPin()).  While it is unchanged,
** the snapshot is current.  When it changes, the table is read again; if
** the content is the same, the old snapshot (and anything derived from it)
** is kept.  Inside a write transaction nothing is trusted (a ROLLBACK
** changes no counter, nor does a schema change until it commits): the
** table is read again at every use.
**
** sqlite3_interrupt() stops the scan (SQLite checks it while stepping) and
** every loop that builds the layouts (a probe statement, util.c).
*/
#include "core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Hash of string z into h. */
static u64 hashText(u64 h, const char *z){
  for(; z && *z; z++) h = mlrecMix64(h ^ (unsigned char)*z);
  return mlrecMix64(h);
}

/*
** A value that changes whenever any database of the connection may have:
** this connection's own changes, and for every database its name, file
** (a DETACH and an ATTACH of another file under the same name) and data
** version (commits by anyone; fresh only inside a read transaction, see
** mlrecReadPin()).
*/
static u64 dataVersion(sqlite3 *db){
  u64 h = mlrecMix64((u64)sqlite3_total_changes64(db));
  const char *zDb;
  int i;
  for(i=0; (zDb = sqlite3_db_name(db, i))!=0; i++){
    unsigned int v = 0;
    void *pFile = 0;
    sqlite3_file_control(db, zDb, SQLITE_FCNTL_DATA_VERSION, &v);
    sqlite3_file_control(db, zDb, SQLITE_FCNTL_FILE_POINTER, &pFile);
    h = hashText(h ^ (u64)i, zDb);
    h = hashText(h, sqlite3_db_filename(db, zDb));
    h = mlrecMix64(h ^ (u64)(size_t)pFile);
    h = mlrecMix64(h ^ v);
  }
  return h;
}

/* Record in *pStamp the data version now, before something is read. */
void mlrecStampTake(sqlite3 *db, MlrecStamp *pStamp){
  pStamp->version = dataVersion(db);
  /* read inside a write transaction, it may hold changes that a ROLLBACK
  ** undoes without changing the data version: never trust it */
  pStamp->bValid = sqlite3_txn_state(db, 0)!=SQLITE_TXN_WRITE;
}

/*
** True if what was read under *pStamp is certainly still current.  Never
** inside a write transaction: its own changes to the schema (a table
** renamed in place of the one read) change no counter until it commits.
*/
int mlrecStampHolds(sqlite3 *db, const MlrecStamp *pStamp){
  return pStamp->bValid && sqlite3_txn_state(db, 0)!=SQLITE_TXN_WRITE
      && pStamp->version==dataVersion(db);
}

/*
** Hash of one row; the table's hash is the sum, so row order is irrelevant.
** Each step of the chain is a bijection, so the last one is folded with
** itself (x ^ f(x) has no inverse to solve): a row cannot be chosen to
** give a wanted hash.  Whether a snapshot changed is decided by comparing
** contents, not hashes (sameContent()); the hash only says whether a
** model was trained on the data of the snapshot.
*/
static u64 rowHash(i64 iUser, i64 iItem, double r){
  u64 bits, h;
  memcpy(&bits, &r, sizeof(bits));
  h = mlrecMix64(mlrecMix64(mlrecMix64((u64)iUser) ^ (u64)iItem) ^ bits);
  return h ^ mlrecMix64(h ^ 0x6a09e667f3bcc909ULL);
}

/*
** IdMap: distinct ids in the order first seen, with a hash table from id to
** that position.  A slot holds the id beside its position, so a lookup
** touches one cache line.
*/
typedef struct IdSlot IdSlot;
struct IdSlot {
  i64 id;
  int pos;         /* position in aId; -1 = empty slot */
};
typedef struct IdMap IdMap;
struct IdMap {
  i64 *aId;        /* distinct ids, in first-seen order */
  int nId;
  IdSlot *aSlot;   /* open addressing, linear probing */
  u64 nSlot;       /* power of two, more than twice nId */
};

static int idMapGrow(IdMap *p){
  u64 nNew = p->nSlot ? p->nSlot*2 : 1024;
  IdSlot *aSlot;
  i64 *aId;
  u64 i;
  if( nNew/2 > 0x7fffffff ) return SQLITE_FULL;
  aSlot = sqlite3_malloc64(nNew*sizeof(IdSlot));
  aId = sqlite3_realloc64(p->aId, (nNew/2)*sizeof(i64));
  if( aSlot==0 || aId==0 ){
    sqlite3_free(aSlot);
    if( aId ) p->aId = aId;
    return SQLITE_NOMEM;
  }
  p->aId = aId;
  for(i=0; i<nNew; i++) aSlot[i].pos = -1;
  for(i=0; i<(u64)p->nId; i++){
    u64 h = mlrecMix64((u64)aId[i]) & (nNew-1);
    while( aSlot[h].pos>=0 ) h = (h+1) & (nNew-1);
    aSlot[h].id = aId[i];
    aSlot[h].pos = (int)i;
  }
  sqlite3_free(p->aSlot);
  p->aSlot = aSlot;
  p->nSlot = nNew;
  return SQLITE_OK;
}

/* Store in *piOut the position of iId, adding it if new. */
static int idMapIndex(IdMap *p, i64 iId, int *piOut){
  u64 h;
  if( (u64)p->nId*2 >= p->nSlot ){
    int rc = idMapGrow(p);
    if( rc!=SQLITE_OK ) return rc;
  }
  h = mlrecMix64((u64)iId) & (p->nSlot-1);
  while( p->aSlot[h].pos>=0 ){
    if( p->aSlot[h].id==iId ){
      *piOut = p->aSlot[h].pos;
      return SQLITE_OK;
    }
    h = (h+1) & (p->nSlot-1);
  }
  p->aSlot[h].id = iId;
  p->aSlot[h].pos = p->nId;
  p->aId[p->nId] = iId;
  *piOut = p->nId++;
  return SQLITE_OK;
}

static void idMapFree(IdMap *p){
  sqlite3_free(p->aId);
  sqlite3_free(p->aSlot);
  memset(p, 0, sizeof(*p));
}

/* The rows of the table as read, before sorting. */
typedef struct Triples Triples;
struct Triples {
  int *aUser, *aItem;   /* first-seen positions in the IdMaps */
  float *aValue;        /* the ratings, or NULL once they are ... */
  signed char *aHalf;   /* ... 2 x rating (triplesToHalves()) */
  i64 n, nAlloc;
};

static int triplesAppend(Triples *p, int iUser, int iItem, float r){
  if( p->n==p->nAlloc ){
    i64 nNew = p->nAlloc ? p->nAlloc*2 : 4096;
    int *aUser = sqlite3_realloc64(p->aUser, nNew*sizeof(int));
    int *aItem = aUser ? sqlite3_realloc64(p->aItem, nNew*sizeof(int)) : 0;
    float *aValue = aItem ? sqlite3_realloc64(p->aValue, nNew*sizeof(float)) : 0;
    if( aUser ) p->aUser = aUser;
    if( aItem ) p->aItem = aItem;
    if( aValue==0 ) return SQLITE_NOMEM;
    p->aValue = aValue;
    p->nAlloc = nNew;
  }
  p->aUser[p->n] = iUser;
  p->aItem[p->n] = iItem;
  p->aValue[p->n] = r;
  p->n++;
  return SQLITE_OK;
}

static void triplesFree(Triples *p){
  sqlite3_free(p->aUser);
  sqlite3_free(p->aItem);
  sqlite3_free(p->aValue);
  sqlite3_free(p->aHalf);
  memset(p, 0, sizeof(*p));
}

/*
** If every rating of p is a multiple of 1/2 between -64 and 63.5, hold each
** as 2 x rating in one byte instead of a float: both ways exact (but for
** -0, which would come back as +0: it stays a float).
*/
static int triplesToHalves(Triples *p){
  i64 k;
  for(k=0; k<p->n; k++){
    float r2 = 2.0f*p->aValue[k];
    if( r2!=floorf(r2) || r2<-128.0f || r2>127.0f
     || (r2==0.0f && signbit(r2)) ){
      return SQLITE_OK;
    }
  }
  p->aHalf = sqlite3_malloc64(p->n+1);
  if( p->aHalf==0 ) return SQLITE_NOMEM;
  for(k=0; k<p->n; k++) p->aHalf[k] = (signed char)(2.0f*p->aValue[k]);
  sqlite3_free(p->aValue);
  p->aValue = 0;
  return SQLITE_OK;
}

void mlrecRatingsUnref(MlrecRatings *p){
  if( p==0 || --p->nRef>0 ) return;
  sqlite3_free(p->aItemNorm);
  sqlite3_free(p->aItemInvNorm);
  if( p->bBorrowed ){
    sqlite3_free(p);
    return;
  }
  mlrecRatingsUnref(p->pUsers);
  sqlite3_free(p->aUserId);
  sqlite3_free(p->aItemId);
  sqlite3_free(p->aUserStart);
  sqlite3_free(p->aUserItem);
  sqlite3_free(p->aUserValue);
  sqlite3_free(p->aUserHalf);
  sqlite3_free(p->aItemStart);
  sqlite3_free(p->aItemUser);
  sqlite3_free(p->aItemValue);
  sqlite3_free(p->aItemHalf);
  sqlite3_free(p);
}

/* Position of iId in the ascending array aId[nId], or -1. */
int mlrecFindId(const i64 *aId, int nId, i64 iId){
  int lo = 0, hi = nId-1;
  while( lo<=hi ){
    int mid = lo + (hi-lo)/2;
    if( aId[mid]<iId ) lo = mid+1;
    else if( aId[mid]>iId ) hi = mid-1;
    else return mid;
  }
  return -1;
}

typedef struct IdPos IdPos;
struct IdPos { i64 id; int pos; };

static int cmpIdPos(const void *a, const void *b){
  i64 x = ((const IdPos*)a)->id, y = ((const IdPos*)b)->id;
  return (x>y) - (x<y);
}

/*
** Sort the ids of pMap ascending into a new array *paSorted and fill
** aRemap[firstSeenPosition] = sortedPosition.
*/
static int sortIds(const IdMap *pMap, i64 **paSorted, int *aRemap){
  IdPos *a = sqlite3_malloc64(sizeof(IdPos)*(pMap->nId+1));
  i64 *aSorted = sqlite3_malloc64(sizeof(i64)*(pMap->nId+1));
  int i;
  if( a==0 || aSorted==0 ){
    sqlite3_free(a);
    sqlite3_free(aSorted);
    return SQLITE_NOMEM;
  }
  for(i=0; i<pMap->nId; i++){
    a[i].id = pMap->aId[i];
    a[i].pos = i;
  }
  qsort(a, pMap->nId, sizeof(IdPos), cmpIdPos);
  for(i=0; i<pMap->nId; i++){
    aSorted[i] = a[i].id;
    aRemap[a[i].pos] = i;
  }
  sqlite3_free(a);
  *paSorted = aSorted;
  return SQLITE_OK;
}

/* Offsets of a CSR from counts: aStart[i] = sum of aIndex==j for j<i. */
static i64 *countStarts(const int *aIndex, i64 n, int nGroup){
  i64 *aStart = sqlite3_malloc64(sizeof(i64)*((i64)nGroup+1));
  i64 k;
  int i;
  if( aStart==0 ) return 0;
  memset(aStart, 0, sizeof(i64)*((i64)nGroup+1));
  for(k=0; k<n; k++) aStart[aIndex[k]+1]++;
  for(i=0; i<nGroup; i++) aStart[i+1] += aStart[i];
  return aStart;
}

/*
** Make the rows of pT, already grouped by user and sorted by movie, the
** rows by user of p: no copy, the arrays change hands.
*/
static void adoptUserRows(MlrecRatings *p, Triples *pT){
  i64 n = pT->n;
  int *aItem = sqlite3_realloc64(pT->aItem, sizeof(int)*(n+1));
  /* shrinking cannot fail in practice; if it does, keep the larger block */
  p->aUserItem = aItem ? aItem : pT->aItem;
  if( pT->aValue ){
    float *aValue = sqlite3_realloc64(pT->aValue, sizeof(float)*(n+1));
    p->aUserValue = aValue ? aValue : pT->aValue;
  }
  p->aUserHalf = pT->aHalf;   /* already n+1 bytes */
  pT->aItem = 0;
  pT->aValue = 0;
  pT->aHalf = 0;
}

/* Room for the n ratings of one order, bytes if bHalf, else floats. */
static int allocRatings(i64 n, int bHalf, float **paValue,
                        signed char **paHalf){
  if( bHalf ){
    *paHalf = sqlite3_malloc64(n+1);
    return *paHalf!=0;
  }
  *paValue = sqlite3_malloc64(sizeof(float)*(n+1));
  return *paValue!=0;
}

/*
** Build the two CSR layouts of p from the scanned rows pT, whose user and
** movie positions are already renumbered; bSorted if the rows are in user
** order and in movie order within a user, as a table with PRIMARY KEY
** (userId, movieId) returns them.  The ratings stay halves if they are
** (pT->aHalf).  Frees the arrays of pT.
*/
static int buildCsr(MlrecRatings *p, Triples *pT, int bSorted,
                    MlrecInterrupt *pIntr){
  i64 n = pT->n, k;
  i64 *aNext;
  int u, i, bHalf = pT->aHalf!=0, rc = SQLITE_OK;
  p->aUserStart = countStarts(pT->aUser, n, p->nUser);
  p->aItemStart = countStarts(pT->aItem, n, p->nItem);
  aNext = sqlite3_malloc64(sizeof(i64)*((i64)(p->nUser > p->nItem ?
                                               p->nUser : p->nItem)+1));
  if( bSorted ){
    adoptUserRows(p, pT);
  }else{
    p->aUserItem = sqlite3_malloc64(sizeof(int)*(n+1));
    if( !allocRatings(n, bHalf, &p->aUserValue, &p->aUserHalf) ){
      rc = SQLITE_NOMEM;
    }
  }
  if( !p->aUserStart || !p->aItemStart || !p->aUserItem || !aNext ){
    rc = SQLITE_NOMEM;
  }
  if( rc!=SQLITE_OK ){
    sqlite3_free(aNext);
    return rc;
  }
  /* Group by user, in table order within a user. */
  memcpy(aNext, p->aUserStart, sizeof(i64)*p->nUser);
  for(k=0; !bSorted && rc==SQLITE_OK && k<n; k++){
    i64 pos = aNext[pT->aUser[k]]++;
    p->aUserItem[pos] = pT->aItem[k];
    if( bHalf ) p->aUserHalf[pos] = pT->aHalf[k];
    else p->aUserValue[pos] = pT->aValue[k];
    rc = mlrecInterruptedEvery(pIntr, k);
  }
  triplesFree(pT);
  p->aItemUser = sqlite3_malloc64(sizeof(int)*(n+1));
  if( !allocRatings(n, bHalf, &p->aItemValue, &p->aItemHalf)
   || p->aItemUser==0 ){
    if( rc==SQLITE_OK ) rc = SQLITE_NOMEM;
  }
  /* Group by movie; visiting users in order sorts each movie's row. */
  memcpy(aNext, p->aItemStart, sizeof(i64)*p->nItem);
  for(u=0; rc==SQLITE_OK && u<p->nUser; u++){
    for(k=p->aUserStart[u]; rc==SQLITE_OK && k<p->aUserStart[u+1]; k++){
      i64 pos = aNext[p->aUserItem[k]]++;
      p->aItemUser[pos] = u;
      if( bHalf ) p->aItemHalf[pos] = p->aUserHalf[k];
      else p->aItemValue[pos] = p->aUserValue[k];
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  /* Regroup by user from the movie rows, which sorts each user's row. */
  memcpy(aNext, p->aUserStart, sizeof(i64)*p->nUser);
  for(i=0; !bSorted && rc==SQLITE_OK && i<p->nItem; i++){
    for(k=p->aItemStart[i]; rc==SQLITE_OK && k<p->aItemStart[i+1]; k++){
      i64 pos = aNext[p->aItemUser[k]]++;
      p->aUserItem[pos] = i;
      if( bHalf ) p->aUserHalf[pos] = p->aItemHalf[k];
      else p->aUserValue[pos] = p->aItemValue[k];
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  sqlite3_free(aNext);
  return rc;
}

/* Error if some user rated some movie twice (rows are sorted by movie). */
static int checkDuplicates(const MlrecRatings *p, const MlrecConfig *pCfg,
                           char **pzErr){
  int u;
  i64 k;
  for(u=0; u<p->nUser; u++){
    for(k=p->aUserStart[u]+1; k<p->aUserStart[u+1]; k++){
      if( p->aUserItem[k]==p->aUserItem[k-1] ){
        mlrecSetError(pzErr, "mlrec: table %s has more than one rating "
          "for %s=%lld, %s=%lld; keep one rating per (user, movie), e.g. "
          "with a UNIQUE index", pCfg->zRatings, pCfg->zUser, p->aUserId[u],
          pCfg->zMovie, p->aItemId[p->aUserItem[k]]);
        return SQLITE_ERROR;
      }
    }
  }
  return SQLITE_OK;
}

/* Norms of the movie vectors and the range and mean of the ratings. */
static int computeStatistics(MlrecRatings *p, MlrecInterrupt *pIntr){
  double rSum = 0.0;
  i64 k;
  int i, rc = SQLITE_OK;
  p->aItemNorm = sqlite3_malloc64(sizeof(double)*((i64)p->nItem+1));
  p->aItemInvNorm = sqlite3_malloc64(sizeof(float)*((i64)p->nItem+1));
  if( p->aItemNorm==0 || p->aItemInvNorm==0 ) return SQLITE_NOMEM;
  p->rMin = p->nRating ? mlrecItemRating(p, 0) : 0.0;
  p->rMax = p->rMin;
  /* Multiples of 1/2 up to 1024 in size: their products are multiples of
  ** 1/4 below 2^20, so sums of fewer than 2^28 of them are exact doubles. */
  p->bExactDots = p->nUser < (1<<28);
  for(i=0; rc==SQLITE_OK && i<p->nItem; i++){
    double rSq = 0.0;
    for(k=p->aItemStart[i]; rc==SQLITE_OK && k<p->aItemStart[i+1]; k++){
      double r = mlrecItemRating(p, k);
      rSq += r*r;
      rSum += r;
      if( r<p->rMin ) p->rMin = r;
      if( r>p->rMax ) p->rMax = r;
      if( 2.0*r!=floor(2.0*r) || fabs(r)>1024.0 ) p->bExactDots = 0;
      rc = mlrecInterruptedEvery(pIntr, k);
    }
    p->aItemNorm[i] = sqrt(rSq);
    p->aItemInvNorm[i] = rSq>0.0 ? (float)(1.0/p->aItemNorm[i]) : 0.0f;
  }
  p->rMean = p->nRating ? rSum/(double)p->nRating : 0.0;
  return rc;
}

/*
** Whether knn.c may add up products of the halves in 32-bit integers,
** exactly (reading 5 bytes per (user, movie) pair instead of 8): a dot
** product has at most nMost terms of at most (2 rLarge)^2.
*/
static void decideIntDots(MlrecRatings *p){
  i64 nMost = 0;
  double rLarge = fabs(p->rMin)>fabs(p->rMax) ? fabs(p->rMin) : fabs(p->rMax);
  int i;
  p->bIntDots = 0;
  if( p->aUserHalf==0 || !p->bExactDots ) return;
  for(i=0; i<p->nItem; i++){
    i64 n = p->aItemStart[i+1] - p->aItemStart[i];
    if( n>nMost ) nMost = n;
  }
  p->bIntDots = 4.0*rLarge*rLarge*(double)nMost <= 2147483647.0;
}

/* Describe value pVal for an error message, e.g. "text '1'". */
static char *describeValue(sqlite3_value *pVal){
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_TEXT:
      return sqlite3_mprintf("text %.40Q", sqlite3_value_text(pVal));
    case SQLITE_BLOB:
      return sqlite3_mprintf("a blob of %d bytes", sqlite3_value_bytes(pVal));
    case SQLITE_FLOAT:
      return sqlite3_mprintf("%!.17g", sqlite3_value_double(pVal));
    default:
      return sqlite3_mprintf("%s", mlrecTypeName(sqlite3_value_type(pVal)));
  }
}

/* Read an id from column iCol of the current row of pStmt. */
static int readId(sqlite3_stmt *pStmt, int iCol, const char *zTable,
                  const char *zCol, i64 iRow, i64 *piOut, char **pzErr){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, iCol);
  char *zVal;
  if( mlrecArgToId(pVal, piOut)==SQLITE_OK ) return SQLITE_OK;
  zVal = describeValue(pVal);
  mlrecSetError(pzErr, "mlrec: %s.%s must be an integer id, got %s in row "
    "%lld of the table (declare the column INTEGER; see "
    "sql/load_movielens.sql)", zTable, zCol, zVal ? zVal : "?", iRow);
  sqlite3_free(zVal);
  return SQLITE_ERROR;
}

/* Read the rating in column iCol of the current row of pStmt, the rating of
** user iUser for movie iItem. */
int mlrecReadRating(sqlite3_stmt *pStmt, int iCol, const MlrecConfig *pCfg,
                    i64 iUser, i64 iItem, double *prOut, char **pzErr){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, iCol);
  int eType = sqlite3_value_type(pVal);
  char *zVal;
  if( eType==SQLITE_INTEGER || eType==SQLITE_FLOAT ){
    double r = sqlite3_value_double(pVal);
    /* Ratings are held as floats: |r| < 1e30 keeps them finite (and rules
    ** out infinities), |r| > 1e-30 keeps them from rounding to 0. */
    if( r==0.0 || (fabs(r)>1e-30 && fabs(r)<1e30) ){
      *prOut = r;
      return SQLITE_OK;
    }
    if( isfinite(r) ){
      mlrecSetError(pzErr, "mlrec: %s.%s must be 0 or between 1e-30 and 1e30 "
        "in magnitude (ratings are held as floats), got %!.17g for "
        "%s=%lld, %s=%lld", pCfg->zRatings, pCfg->zRating, r, pCfg->zUser,
        iUser, pCfg->zMovie, iItem);
      return SQLITE_ERROR;
    }
  }
  zVal = describeValue(pVal);
  mlrecSetError(pzErr, "mlrec: %s.%s must be a finite number, got %s for "
    "%s=%lld, %s=%lld", pCfg->zRatings, pCfg->zRating, zVal ? zVal : "?",
    pCfg->zUser, iUser, pCfg->zMovie, iItem);
  sqlite3_free(zVal);
  return SQLITE_ERROR;
}

/*
** Step pStmt to the end, mapping ids into the two maps and appending rows
** to pT.  Sets *pHash to the content hash.
*/
static int scanRows(sqlite3_stmt *pStmt, const MlrecConfig *pCfg,
                    IdMap *pUsers, IdMap *pItems, Triples *pT, u64 *pHash,
                    char **pzErr){
  u64 hash = 0;
  i64 iPrevUser = 0;
  int rc, u = -1;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    i64 iUser, iItem;
    double r;
    int i;
    rc = readId(pStmt, 0, pCfg->zRatings, pCfg->zUser, pT->n+1, &iUser, pzErr);
    if( rc==SQLITE_OK ){
      rc = readId(pStmt, 1, pCfg->zRatings, pCfg->zMovie, pT->n+1, &iItem,
                  pzErr);
    }
    if( rc==SQLITE_OK ){
      rc = mlrecReadRating(pStmt, 2, pCfg, iUser, iItem, &r, pzErr);
    }
    /* tables are often in user order: skip the lookup of the same user */
    if( rc==SQLITE_OK && (u<0 || iUser!=iPrevUser) ){
      rc = idMapIndex(pUsers, iUser, &u);
      iPrevUser = iUser;
    }
    if( rc==SQLITE_OK ) rc = idMapIndex(pItems, iItem, &i);
    if( rc==SQLITE_OK ) rc = triplesAppend(pT, u, i, (float)r);
    if( rc!=SQLITE_OK ) return rc;
    hash += rowHash(iUser, iItem, r);
  }
  *pHash = hash + mlrecMix64((u64)pT->n);
  return rc==SQLITE_DONE ? SQLITE_OK : rc;
}

/* Renumber users and movies by ascending id and build the layouts. */
static int buildSnapshot(MlrecRatings *p, IdMap *pUsers, IdMap *pItems,
                         Triples *pT, MlrecInterrupt *pIntr){
  int *aRemapUser = sqlite3_malloc64(sizeof(int)*((i64)pUsers->nId+1));
  int *aRemapItem = sqlite3_malloc64(sizeof(int)*((i64)pItems->nId+1));
  int rc = SQLITE_NOMEM, bSorted = 1;
  i64 k;
  p->nUser = pUsers->nId;
  p->nItem = pItems->nId;
  p->nRating = pT->n;
  if( aRemapUser && aRemapItem ){
    rc = sortIds(pUsers, &p->aUserId, aRemapUser);
    if( rc==SQLITE_OK ) rc = sortIds(pItems, &p->aItemId, aRemapItem);
  }
  idMapFree(pUsers);
  idMapFree(pItems);
  for(k=0; rc==SQLITE_OK && k<pT->n; k++){
    pT->aUser[k] = aRemapUser[pT->aUser[k]];
    pT->aItem[k] = aRemapItem[pT->aItem[k]];
    if( k>0 && (pT->aUser[k]<pT->aUser[k-1] || (pT->aUser[k]==pT->aUser[k-1]
                                       && pT->aItem[k]<=pT->aItem[k-1])) ){
      bSorted = 0;
    }
    rc = mlrecInterruptedEvery(pIntr, k);
  }
  sqlite3_free(aRemapUser);
  sqlite3_free(aRemapItem);
  if( rc==SQLITE_OK ) rc = triplesToHalves(pT);
  if( rc==SQLITE_OK ) rc = buildCsr(p, pT, bSorted, pIntr);
  if( rc==SQLITE_OK ) rc = computeStatistics(p, pIntr);
  if( rc==SQLITE_OK ) decideIntDots(p);
  return rc;
}

/* Read the ratings table named by pCfg into a new snapshot *ppOut. */
static int loadRatings(sqlite3 *db, const MlrecConfig *pCfg,
                       MlrecRatings **ppOut, char **pzErr){
  double t0 = mlrecClock();
  sqlite3_stmt *pStmt = 0;
  MlrecInterrupt intr;
  IdMap users, items;
  Triples rows;
  MlrecRatings *p;
  int rc;
  /* Qualified names: an unknown unqualified "name" would be read as a
  ** string literal (SQLite's double-quoted string compatibility). */
  char *zFrom = mlrecFromSql(db, pCfg->zRatings);
  char *zSql = zFrom ? sqlite3_mprintf("SELECT \"%w\".\"%w\", "
                   "\"%w\".\"%w\", \"%w\".\"%w\" FROM %s",
                   pCfg->zRatings, pCfg->zUser, pCfg->zRatings, pCfg->zMovie,
                   pCfg->zRatings, pCfg->zRating, zFrom) : 0;
  sqlite3_free(zFrom);
  *ppOut = 0;
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ){
    mlrecSetError(pzErr, "mlrec: cannot read the ratings table: %s (the "
      "names it reads are set with mlrec_config())", sqlite3_errmsg(db));
    return rc;
  }
  memset(&users, 0, sizeof(users));
  memset(&items, 0, sizeof(items));
  memset(&rows, 0, sizeof(rows));
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ){
    rc = SQLITE_NOMEM;
  }else{
    memset(p, 0, sizeof(*p));
    p->nRef = 1;
    rc = scanRows(pStmt, pCfg, &users, &items, &rows, &p->hash, pzErr);
    if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "mlrec: reading the ratings table: %s",
                    sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_OK ) rc = mlrecInterruptBegin(db, &intr);
  if( rc==SQLITE_OK ){
    rc = buildSnapshot(p, &users, &items, &rows, &intr);
    mlrecInterruptEnd(&intr);
  }
  if( rc==SQLITE_OK ) rc = checkDuplicates(p, pCfg, pzErr);
  idMapFree(&users);
  idMapFree(&items);
  triplesFree(&rows);
  if( rc!=SQLITE_OK ){
    mlrecRatingsUnref(p);
    return rc;
  }
  p->loadedAt = mlrecNow();
  p->seconds = mlrecClock() - t0;
  *ppOut = p;
  return SQLITE_OK;
}

/*
** Set *ppOut to a new reference to a snapshot of the ratings table as it is
** now, reading the table again only if the database may have changed.
*/
/* True if snapshots a and b hold the same ratings. */
static int sameContent(const MlrecRatings *a, const MlrecRatings *b){
  return a->nUser==b->nUser && a->nItem==b->nItem && a->nRating==b->nRating
      && a->hash==b->hash
      && memcmp(a->aUserId, b->aUserId, sizeof(i64)*a->nUser)==0
      && memcmp(a->aItemId, b->aItemId, sizeof(i64)*a->nItem)==0
      && memcmp(a->aUserStart, b->aUserStart, sizeof(i64)*(a->nUser+1))==0
      && memcmp(a->aUserItem, b->aUserItem, sizeof(int)*a->nRating)==0
      && (a->aUserHalf!=0)==(b->aUserHalf!=0)
      && (a->aUserHalf ? memcmp(a->aUserHalf, b->aUserHalf, a->nRating)
          : memcmp(a->aUserValue, b->aUserValue, sizeof(float)*a->nRating))==0;
}

/*
** Set *ppOut to a new reference to a snapshot of the ratings table as it is
** now, reading the table again only if the database may have changed.
*/
int mlrecRatingsCurrent(MlrecState *p, MlrecRatings **ppOut, char **pzErr){
  int rc = mlrecReadPin(p, pzErr);
  *ppOut = 0;
  if( rc!=SQLITE_OK ) return rc;
  if( p->pRatings==0 || !mlrecStampHolds(p->db, &p->ratingsStamp) ){
    MlrecRatings *pNew = 0;
    MlrecStamp stamp;
    const char *zPrev = mlrecReading(p, "the ratings table");
    mlrecStampTake(p->db, &stamp);
    rc = loadRatings(p->db, &p->cfg, &pNew, pzErr);
    mlrecReading(p, zPrev);
    if( rc==SQLITE_OK ){
      if( p->pRatings && sameContent(p->pRatings, pNew) ){
        mlrecRatingsUnref(pNew);   /* same content: keep what is derived */
      }else{
        mlrecRatingsUnref(p->pRatings);
        p->pRatings = pNew;
      }
      p->ratingsStamp = stamp;
    }
  }
  if( rc==SQLITE_OK ){
    p->pRatings->nRef++;
    *ppOut = p->pRatings;
  }
  mlrecReadUnpin(p);
  return rc;
}

/*
** Set *ppOut to snapshot pR transposed (not a new reference: pR owns it):
** users in the place of movies and movies in the place of users, so that
** the item-item kNN of knn.c finds similar users.  It borrows pR's two
** layouts, which already are each other's transpose, and adds what is per
** "movie" (the norms of the users' rating vectors).  Built at the first
** call.
*/
int mlrecRatingsByUser(sqlite3 *db, MlrecRatings *pR, MlrecRatings **ppOut){
  MlrecRatings *t = pR->pUsers;
  MlrecInterrupt intr;
  int rc;
  *ppOut = 0;
  if( t==0 ){
    t = sqlite3_malloc64(sizeof(*t));
    if( t==0 ) return SQLITE_NOMEM;
    memset(t, 0, sizeof(*t));
    t->nRef = 1;
    t->bBorrowed = 1;
    t->nUser = pR->nItem;
    t->nItem = pR->nUser;
    t->nRating = pR->nRating;
    t->aUserId = pR->aItemId;
    t->aItemId = pR->aUserId;
    t->aUserStart = pR->aItemStart;
    t->aUserItem = pR->aItemUser;
    t->aUserValue = pR->aItemValue;
    t->aUserHalf = pR->aItemHalf;
    t->aItemStart = pR->aUserStart;
    t->aItemUser = pR->aUserItem;
    t->aItemValue = pR->aUserValue;
    t->aItemHalf = pR->aUserHalf;
    t->hash = pR->hash;
    t->loadedAt = pR->loadedAt;
    rc = mlrecInterruptBegin(db, &intr);
    if( rc==SQLITE_OK ){
      rc = computeStatistics(t, &intr);
      if( rc==SQLITE_OK ) decideIntDots(t);
      mlrecInterruptEnd(&intr);
    }
    if( rc!=SQLITE_OK ){
      mlrecRatingsUnref(t);
      return rc;
    }
    pR->pUsers = t;
  }
  *ppOut = t;
  return SQLITE_OK;
}

/* Drop the snapshot, e.g. because the configured names changed. */
void mlrecForgetRatings(MlrecState *p){
  mlrecRatingsUnref(p->pRatings);
  p->pRatings = 0;
}
