/*
** sequence.c: the sequence part of the ranking model behind recommend():
** movies that other users rated close in time to the movies this user rated
** last.
**
** People rate in sessions and in runs of related movies, so the movies rated
** just before and after a movie in someone's history are a strong hint of
** what comes next.  Every user's ratings are put in time order (the time
** column of mlrec_config(), "timestamp" in MovieLens; ties by movieId).
** Two movies d ratings apart in one user's sequence (1 <= d <= window) are
** linked with weight exp(-(d-1)/window_decay), and the links are summed over
** users and damped by the movies' popularity:
**
**     S(i,j) = sum over users v of exp(-(d_v(i,j)-1)/window_decay)
**              / (count(i) count(j))^popularity_exponent
**
** Training keeps, for every movie i, its sequence_links strongest links
** S(i,j) (ties to the smaller movie index): a movie rated by tens of
** thousands of users is linked to most of the catalogue, and walking its
** raters' sequences at query time would cost milliseconds per rated movie.
** A user's score of movie j is sum over rated movies i of w(i) S(i,j), with
** w(i) = 0.5^(age/sequence_recency) * x(i): age is how many ratings the user
** made after i, x the rating scaled to [0, 1]; so a query costs the kept
** links of the user's recent movies.
**
** Without a time column there are no sequences and this part is off.
*/
#include "ranking.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The users' sequences and where each rating sits in them: what building
** the links needs, freed once they are built. */
typedef struct SeqIndex SeqIndex;
struct SeqIndex {
  const MlrecRatings *pR;  /* users' rows (aUserStart), movies' (aItem...) */
  int *aSeqItem;           /* each user's movies, oldest first */
  int *aItemPos;           /* per rating by movie: its place in the sequence */
  double *aDecay;          /* window+1 weights of a distance */
};

/* A rating's time as SQL orders it (NULL, numbers, text, blobs; text and
** blobs by their bytes), and its movie, which breaks ties. */
typedef struct SeqKey SeqKey;
struct SeqKey {
  int eClass;              /* 0 NULL, 1 number, 2 text, 3 blob */
  int bInt;                /* a number: iVal if an integer, else rVal */
  i64 iVal;
  double rVal;
  i64 iByte;               /* text or blob: nByte bytes at iByte of the */
  int nByte;               /* user's arena, then at z */
  const unsigned char *z;
  int iItem;
};

static int cmpNumber(const SeqKey *a, const SeqKey *b){
  if( a->bInt && b->bInt ) return (a->iVal>b->iVal) - (a->iVal<b->iVal);
  {
    double x = a->bInt ? (double)a->iVal : a->rVal;
    double y = b->bInt ? (double)b->iVal : b->rVal;
    return (x>y) - (x<y);
  }
}

static int cmpSeqKey(const void *pA, const void *pB){
  const SeqKey *a = (const SeqKey*)pA, *b = (const SeqKey*)pB;
  int c = (a->eClass>b->eClass) - (a->eClass<b->eClass);
  if( c==0 && a->eClass==1 ) c = cmpNumber(a, b);
  if( c==0 && a->eClass>=2 ){
    c = memcmp(a->z, b->z, (size_t)(a->nByte<b->nByte ? a->nByte : b->nByte));
    if( c==0 ) c = (a->nByte>b->nByte) - (a->nByte<b->nByte);
  }
  return c ? c : (a->iItem>b->iItem) - (a->iItem<b->iItem);
}

/* One user's ratings as they are read: time keys, and the bytes of text
** or blob times. */
typedef struct SeqUser SeqUser;
struct SeqUser {
  SeqKey *aKey;
  int nKey, nKeyAlloc;
  unsigned char *aByte;
  i64 nByte, nByteAlloc;
};

/* Append the time in column iCol of pStmt, of a rating of movie iItem. */
static int seqUserAdd(SeqUser *pU, sqlite3_stmt *pStmt, int iCol, int iItem){
  SeqKey *k;
  int eType = sqlite3_column_type(pStmt, iCol);
  if( pU->nKey==pU->nKeyAlloc ){
    int nNew = pU->nKeyAlloc ? 2*pU->nKeyAlloc : 256;
    SeqKey *aNew = sqlite3_realloc64(pU->aKey, sizeof(SeqKey)*(i64)nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    pU->aKey = aNew;
    pU->nKeyAlloc = nNew;
  }
  k = &pU->aKey[pU->nKey++];
  memset(k, 0, sizeof(*k));
  k->iItem = iItem;
  if( eType==SQLITE_INTEGER || eType==SQLITE_FLOAT ){
    k->eClass = 1;
    k->bInt = eType==SQLITE_INTEGER;
    k->iVal = sqlite3_column_int64(pStmt, iCol);
    k->rVal = sqlite3_column_double(pStmt, iCol);
  }else if( eType==SQLITE_TEXT || eType==SQLITE_BLOB ){
    const void *z = eType==SQLITE_TEXT
                    ? (const void*)sqlite3_column_text(pStmt, iCol)
                    : sqlite3_column_blob(pStmt, iCol);
    int n = sqlite3_column_bytes(pStmt, iCol);
    if( z==0 && n>0 ) return SQLITE_NOMEM;
    if( pU->nByte+n>pU->nByteAlloc ){
      i64 nNew = 2*(pU->nByte+n) + 256;
      unsigned char *aNew = sqlite3_realloc64(pU->aByte, nNew);
      if( aNew==0 ) return SQLITE_NOMEM;
      pU->aByte = aNew;
      pU->nByteAlloc = nNew;
    }
    k->eClass = eType==SQLITE_TEXT ? 2 : 3;
    k->iByte = pU->nByte;
    k->nByte = n;
    if( n>0 ) memcpy(pU->aByte + pU->nByte, z, (size_t)n);
    pU->nByte += n;
  }
  return SQLITE_OK;
}

/* Sort the ratings of pU by time and movie into aSeq; empty pU. */
static void seqUserFlush(SeqUser *pU, int *aSeq){
  int t;
  for(t=0; t<pU->nKey; t++) pU->aKey[t].z = pU->aByte + pU->aKey[t].iByte;
  qsort(pU->aKey, (size_t)pU->nKey, sizeof(SeqKey), cmpSeqKey);
  for(t=0; t<pU->nKey; t++) aSeq[t] = pU->aKey[t].iItem;
  pU->nKey = 0;
  pU->nByte = 0;
}

/*
** Fill x->aSeqItem with every user's movies in time order (ties by movie).
** The table is read in the order of the snapshot's rows by user, which an
** index on (user, movie) gives without sorting, and each user's ratings
** are sorted by time here.  SQLITE_ABORT if the rows differ from the
** snapshot (the table changed in between).
*/
static int readSequences(sqlite3 *db, const MlrecConfig *pCfg, SeqIndex *x,
                         char **pzErr){
  const MlrecRatings *pR = x->pR;
  sqlite3_stmt *pStmt = 0;
  SeqUser user;
  char *zFrom = mlrecFromSql(db, pCfg->zRatings);
  char *zSql = zFrom==0 ? 0 : sqlite3_mprintf("SELECT \"%w\".\"%w\", "
      "\"%w\".\"%w\", \"%w\".\"%w\" FROM %s ORDER BY 1, 2", pCfg->zRatings,
      pCfg->zUser, pCfg->zRatings, pCfg->zMovie, pCfg->zRatings, pCfg->zTime,
      zFrom);
  i64 k = 0;
  int u = 0;
  int rc = zSql ? SQLITE_OK : SQLITE_NOMEM;
  memset(&user, 0, sizeof(user));
  sqlite3_free(zFrom);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    /* row k is rating k of the snapshot by user */
    while( u<pR->nUser && k==pR->aUserStart[u+1] ){
      seqUserFlush(&user, x->aSeqItem + pR->aUserStart[u]);
      u++;
    }
    if( k>=pR->nRating
     || sqlite3_column_int64(pStmt, 0)!=pR->aUserId[u]
     || sqlite3_column_int64(pStmt, 1)!=pR->aItemId[pR->aUserItem[k]] ){
      rc = SQLITE_ABORT;
      break;
    }
    rc = seqUserAdd(&user, pStmt, 2, pR->aUserItem[k]);
    k++;
  }
  if( rc==SQLITE_DONE ){
    rc = k==pR->nRating ? SQLITE_OK : SQLITE_ABORT;
    if( rc==SQLITE_OK && u<pR->nUser ){
      seqUserFlush(&user, x->aSeqItem + pR->aUserStart[u]);
    }
  }
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && rc!=SQLITE_ABORT
   && rc!=SQLITE_INTERRUPT ){
    mlrecSetError(pzErr, "train_ranker: reading the ratings in time order: "
                  "%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(user.aKey);
  sqlite3_free(user.aByte);
  return rc;
}

/*
** Index each rating by movie with its place in its user's sequence.  Users
** come in ascending order, as they do in each movie's list of raters, so
** every movie's next rater is the one at its cursor.  SQLITE_ABORT if the
** sequences do not match the snapshot.
*/
static int indexPositions(SeqIndex *x, MlrecInterrupt *pIntr){
  const MlrecRatings *pR = x->pR;
  i64 *aCursor = sqlite3_malloc64(sizeof(i64)*((i64)pR->nItem+1));
  i64 k;
  int v, rc = SQLITE_OK;
  if( aCursor==0 ) return SQLITE_NOMEM;
  memcpy(aCursor, pR->aItemStart, sizeof(i64)*pR->nItem);
  for(v=0; rc==SQLITE_OK && v<pR->nUser; v++){
    for(k=pR->aUserStart[v]; rc==SQLITE_OK && k<pR->aUserStart[v+1]; k++){
      int i = x->aSeqItem[k];
      i64 m = aCursor[i]++;
      if( m>=pR->aItemStart[i+1] || pR->aItemUser[m]!=v ){
        rc = SQLITE_ABORT;
        break;
      }
      x->aItemPos[m] = (int)(k - pR->aUserStart[v]);
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  sqlite3_free(aCursor);
  return rc;
}

/* Work space of one worker: the links of one movie at a time. */
typedef struct LinkWork LinkWork;
struct LinkWork {
  double *aSum;     /* nItem: sum of the window weights, zero between movies */
  int *aTouched;    /* the movies of non-zero aSum */
  MlrecTopK top;    /* the strongest */
};

/* What the tasks of linkMovies() share: a task is a movie. */
typedef struct LinkJob LinkJob;
struct LinkJob {
  const SeqIndex *x;
  MlrecRanker *r;
  int nKeep;        /* links kept per movie, at most: each has that room */
  int *aCount;      /* nItem: links kept of each movie */
  LinkWork *aWork;  /* one per worker */
};

#define SEQ_AHEAD 4     /* raters whose windows are fetched ahead */

/* Ask for the window of the rating at place k of the movies' rows: the
** windows are scattered over the sequences, and each would otherwise wait
** for memory. */
static void prefetchWindow(const SeqIndex *x, int L, i64 k){
  const MlrecRatings *pR = x->pR;
  int v = pR->aItemUser[k];
  i64 lo = pR->aUserStart[v] + x->aItemPos[k] - L;
  i64 hi = pR->aUserStart[v] + x->aItemPos[k] + L;
  const char *z, *zEnd;
  if( lo<pR->aUserStart[v] ) lo = pR->aUserStart[v];
  if( hi>=pR->aUserStart[v+1] ) hi = pR->aUserStart[v+1]-1;
  zEnd = (const char*)(x->aSeqItem + hi);
  for(z=(const char*)(x->aSeqItem + lo); z<=zEnd; z+=64) __builtin_prefetch(z);
}

/*
** Add up in w->aSum the window weights of the movies rated near movie i,
** over its raters; *pn gets the number of movies touched.  Returns
** SQLITE_INTERRUPT, leaving w->aSum dirty, if the work must stop.
*/
static int sumWindows(const SeqIndex *x, int L, int i, LinkWork *w, int *pn,
                      MlrecWorker *pWorker){
  const MlrecRatings *pR = x->pR;
  i64 k;
  int n = 0;
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    int v = pR->aItemUser[k];
    const int *aSeq = x->aSeqItem + pR->aUserStart[v];
    int nSeq = (int)(pR->aUserStart[v+1] - pR->aUserStart[v]);
    int p = x->aItemPos[k], d;
    int dLo = p<L ? p : L;
    int dHi = nSeq-1-p<L ? nSeq-1-p : L;
    if( mlrecWorkerStop(pWorker, 1) ) return SQLITE_INTERRUPT;
    if( k+SEQ_AHEAD<pR->aItemStart[i+1] ) prefetchWindow(x, L, k+SEQ_AHEAD);
    for(d=-dLo; d<=dHi; d++){
      int j = aSeq[p+d];
      if( d==0 ) continue;
      if( w->aSum[j]==0.0 ) w->aTouched[n++] = j;
      w->aSum[j] += x->aDecay[d<0 ? -d : d];
    }
  }
  *pn = n;
  return SQLITE_OK;
}

static int cmpInt(const void *pA, const void *pB){
  int a = *(const int*)pA, b = *(const int*)pB;
  return (a>b) - (a<b);
}

/*
** Keep the strongest links of movie i, of the n movies touched in w, in
** movie order in its room of r->aLinkItem/aLinkWeight; clear w->aSum.
*/
static void keepLinks(LinkJob *pJob, int i, LinkWork *w, int n){
  MlrecRanker *r = pJob->r;
  const double *aDamp = r->aItemDamp;
  int *aItem = r->aLinkItem + (i64)i*pJob->nKeep;
  float *aWeight = r->aLinkWeight + (i64)i*pJob->nKeep;
  int t;
  w->top.n = 0;
  for(t=0; t<n; t++){
    int j = w->aTouched[t];
    double key = w->aSum[j]*aDamp[j];
    /* most are turned away here, without a call */
    if( w->top.n==w->top.k && key<w->top.a[0].key ) continue;
    mlrecTopKPush(&w->top, key, 0.0, j);
  }
  for(t=0; t<w->top.n; t++) aItem[t] = w->top.a[t].idx;
  qsort(aItem, (size_t)w->top.n, sizeof(int), cmpInt);
  for(t=0; t<w->top.n; t++){
    aWeight[t] = (float)(w->aSum[aItem[t]]*aDamp[i]*aDamp[aItem[t]]);
  }
  pJob->aCount[i] = w->top.n;
  for(t=0; t<n; t++) w->aSum[w->aTouched[t]] = 0.0;
}

static int linkTask(void *pCtx, MlrecWorker *pWorker, i64 iTask){
  LinkJob *pJob = (LinkJob*)pCtx;
  LinkWork *w = &pJob->aWork[pWorker->iWorker];
  int n;
  int rc = sumWindows(pJob->x, (int)pJob->r->opt.window, (int)iTask, w, &n,
                      pWorker);
  if( rc==SQLITE_OK ) keepLinks(pJob, (int)iTask, w, n);
  return rc;
}

/*
** Close up the rooms of the links into consecutive runs (aLinkStart), and
** give back the room left over (most movies of a small table have fewer
** links than sequence_links); if that fails, keep it.
*/
static void packLinks(MlrecRanker *r, int nItem, const LinkJob *pJob){
  i64 n = 0;
  int i, *aItem;
  float *aWeight;
  for(i=0; i<nItem; i++){
    i64 iFrom = (i64)i*pJob->nKeep;
    r->aLinkStart[i] = n;
    memmove(r->aLinkItem+n, r->aLinkItem+iFrom, sizeof(int)*pJob->aCount[i]);
    memmove(r->aLinkWeight+n, r->aLinkWeight+iFrom,
            sizeof(float)*pJob->aCount[i]);
    n += pJob->aCount[i];
  }
  r->aLinkStart[nItem] = n;
  aItem = sqlite3_realloc64(r->aLinkItem, sizeof(int)*(n+1));
  if( aItem ) r->aLinkItem = aItem;
  aWeight = sqlite3_realloc64(r->aLinkWeight, sizeof(float)*(n+1));
  if( aWeight ) r->aLinkWeight = aWeight;
}

/* Find the strongest links of every movie into r->aLink*, one movie a task
** on up to nThread threads of the pool of p. */
static int linkMovies(MlrecState *p, const SeqIndex *x, MlrecRanker *r,
                      int nThread, MlrecInterrupt *pIntr){
  int nItem = x->pR->nItem, w;
  int nWorker = mlrecPoolReserve(p, nThread);
  LinkJob job;
  i64 nRoom;
  int rc = SQLITE_OK;
  memset(&job, 0, sizeof(job));
  job.x = x;
  job.r = r;
  job.nKeep = r->opt.sequenceLinks<nItem ? (int)r->opt.sequenceLinks : nItem;
  nRoom = (i64)nItem*job.nKeep;
  job.aCount = sqlite3_malloc64(sizeof(int)*((i64)nItem+1));
  job.aWork = sqlite3_malloc64(sizeof(LinkWork)*nWorker);
  r->aLinkStart = sqlite3_malloc64(sizeof(i64)*((i64)nItem+1));
  r->aLinkItem = sqlite3_malloc64(sizeof(int)*(nRoom+1));
  r->aLinkWeight = sqlite3_malloc64(sizeof(float)*(nRoom+1));
  if( !job.aCount || !job.aWork || !r->aLinkStart || !r->aLinkItem
   || !r->aLinkWeight ){
    rc = SQLITE_NOMEM;
  }else{
    memset(job.aWork, 0, sizeof(LinkWork)*nWorker);
  }
  for(w=0; rc==SQLITE_OK && w<nWorker; w++){
    LinkWork *pWork = &job.aWork[w];
    pWork->aSum = sqlite3_malloc64(sizeof(double)*((i64)nItem+1));
    pWork->aTouched = sqlite3_malloc64(sizeof(int)*((i64)nItem+1));
    rc = mlrecTopKInit(&pWork->top, job.nKeep);
    if( rc==SQLITE_OK && (!pWork->aSum || !pWork->aTouched) ){
      rc = SQLITE_NOMEM;
    }
    if( rc==SQLITE_OK ) memset(pWork->aSum, 0, sizeof(double)*nItem);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecParallelRun(p, pIntr, nWorker, nItem, linkTask, &job, 0);
  }
  if( rc==SQLITE_OK ) packLinks(r, nItem, &job);
  for(w=0; job.aWork && w<nWorker; w++){
    sqlite3_free(job.aWork[w].aSum);
    sqlite3_free(job.aWork[w].aTouched);
    mlrecTopKFree(&job.aWork[w].top);
  }
  sqlite3_free(job.aWork);
  sqlite3_free(job.aCount);
  return rc;
}

/*
** Build the sequence links of r from the ratings table of p (pR is its
** snapshot) on up to nThread threads of its pool if the table has the
** configured time column; set r->bTimed accordingly.
*/
int mlrecSequenceBuild(MlrecState *p, const MlrecRatings *pR,
                       MlrecRanker *r, int nThread, char **pzErr){
  sqlite3 *db = p->db;
  const MlrecConfig *pCfg = &p->cfg;
  SeqIndex x;
  MlrecInterrupt intr;
  i64 n = pR->nRating;
  int d, rc = mlrecTableHas(db, pCfg->zRatings, pCfg->zTime, &r->bTimed);
  if( rc!=SQLITE_OK || !r->bTimed ) return rc;
  memset(&x, 0, sizeof(x));
  x.pR = pR;
  x.aSeqItem = sqlite3_malloc64(sizeof(int)*(n+1));
  x.aItemPos = sqlite3_malloc64(sizeof(int)*(n+1));
  x.aDecay = sqlite3_malloc64(sizeof(double)*(r->opt.window+1));
  rc = mlrecInterruptBegin(db, &intr);
  if( rc==SQLITE_OK && (!x.aSeqItem || !x.aItemPos || !x.aDecay) ){
    rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    x.aDecay[0] = 0.0;
    for(d=1; d<=r->opt.window; d++){
      x.aDecay[d] = exp(-(d-1)/r->opt.windowDecay);
    }
    rc = readSequences(db, pCfg, &x, pzErr);
  }
  if( rc==SQLITE_OK ) rc = indexPositions(&x, &intr);
  if( rc==SQLITE_OK ) rc = linkMovies(p, &x, r, nThread, &intr);
  if( rc==SQLITE_ABORT ){
    mlrecSetError(pzErr, "train_ranker: the ratings table changed while "
                  "it was read; try again");
    rc = SQLITE_ERROR;
  }
  mlrecInterruptEnd(&intr);
  sqlite3_free(x.aSeqItem);
  sqlite3_free(x.aItemPos);
  sqlite3_free(x.aDecay);
  return rc;
}

/*
** Add to aScore[j] (nItem entries) the sum over t of aWeight[t] S(aItem[t],
** j), for the n rated movies aItem (-1: unknown to r, skipped) whose weight
** is above zero.
*/
void mlrecSequenceScore(const MlrecRanker *r, int n, const int *aItem,
                        const double *aWeight, double *aScore){
  int t;
  for(t=0; t<n; t++){
    int i = aItem[t];
    i64 k;
    if( i<0 || !(aWeight[t]>0.0) ) continue;
    for(k=r->aLinkStart[i]; k<r->aLinkStart[i+1]; k++){
      aScore[r->aLinkItem[k]] += aWeight[t]*r->aLinkWeight[k];
    }
  }
}

/* S(i, j) as kept: 0 if j is not among the strongest links of i. */
double mlrecSequencePair(const MlrecRanker *r, int i, int j){
  i64 lo = r->aLinkStart[i], hi = r->aLinkStart[i+1]-1;
  while( lo<=hi ){
    i64 mid = lo + (hi-lo)/2;
    if( r->aLinkItem[mid]<j ) lo = mid+1;
    else if( r->aLinkItem[mid]>j ) hi = mid-1;
    else return r->aLinkWeight[mid];
  }
  return 0.0;
}
