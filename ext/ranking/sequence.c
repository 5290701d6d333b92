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

/*
** The users' sequences and where each rating sits in them: what building
** the links needs, freed once they are built.  The movies are done in
** chunks of about 1/SEQ_CHUNKS of the ratings and of the movies, and the
** places are kept for one chunk at a time: the places of all ratings would
** be 4 bytes a rating, as the sequences are.  (Sequences kept as 2-byte
** places in the users' rows of the snapshot took 20% longer at 25 million
** ratings: one more scattered read per place of a window.)
*/
#define SEQ_CHUNKS 8
struct MlrecSequences {
  const MlrecRatings *pR;  /* users' rows (aUserStart), movies' (aItem...) */
  int *aSeqItem;           /* each user's movies, oldest first */
  int *aItemPos;           /* per rating of the chunk's movies: its place in
                           ** the sequence; entry 0 is rating iPos0 by movie */
  i64 iPos0;
  i64 nPosAlloc;           /* entries allocated */
  i64 *aCursor;            /* nItem: the next rater of each movie */
  float *aDecay;           /* window+1 weights of a distance */
};

/* A rating's time as SQL orders it (NULL, numbers, text, blobs; text and
** blobs by their bytes), and its movie, which breaks ties: 24 bytes, as
** the sort moves them around. */
typedef struct SeqKey SeqKey;
struct SeqKey {
  union {
    i64 i;                 /* an integer */
    double r;              /* a real */
    i64 iByte;             /* text or blob: nByte bytes at iByte of the */
    const unsigned char *z;  /* user's arena, then at z */
  } u;
  int nByte;
  int iItem;
  unsigned char eClass;    /* 0 NULL, 1 number, 2 text, 3 blob */
  unsigned char bInt;      /* a number: u.i if an integer, else u.r */
};

static int cmpNumber(const SeqKey *a, const SeqKey *b){
  if( a->bInt && b->bInt ) return (a->u.i>b->u.i) - (a->u.i<b->u.i);
  {
    double x = a->bInt ? (double)a->u.i : a->u.r;
    double y = b->bInt ? (double)b->u.i : b->u.r;
    return (x>y) - (x<y);
  }
}

static int cmpSeqKey(const void *pA, const void *pB){
  const SeqKey *a = (const SeqKey*)pA, *b = (const SeqKey*)pB;
  int c = (a->eClass>b->eClass) - (a->eClass<b->eClass);
  if( c==0 && a->eClass==1 ) c = cmpNumber(a, b);
  if( c==0 && a->eClass>=2 ){
    c = memcmp(a->u.z, b->u.z,
               (size_t)(a->nByte<b->nByte ? a->nByte : b->nByte));
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
    if( k->bInt ){
      k->u.i = sqlite3_column_int64(pStmt, iCol);
    }else{
      k->u.r = sqlite3_column_double(pStmt, iCol);
    }
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
    k->u.iByte = pU->nByte;
    k->nByte = n;
    if( n>0 ) memcpy(pU->aByte + pU->nByte, z, (size_t)n);
    pU->nByte += n;
  }
  return SQLITE_OK;
}

/* Sort the ratings of pU by time and movie into aSeq; empty pU. */
static void seqUserFlush(SeqUser *pU, MlrecSequences *x, i64 k0){
  int t;
  for(t=0; t<pU->nKey; t++){
    SeqKey *k = &pU->aKey[t];
    if( k->eClass>=2 ) k->u.z = pU->aByte + k->u.iByte;
  }
  qsort(pU->aKey, (size_t)pU->nKey, sizeof(SeqKey), cmpSeqKey);
  for(t=0; t<pU->nKey; t++) x->aSeqItem[k0+t] = pU->aKey[t].iItem;
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
static int readSequences(sqlite3 *db, const MlrecConfig *pCfg,
                         MlrecSequences *x, char **pzErr){
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
      seqUserFlush(&user, x, pR->aUserStart[u]);
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
      seqUserFlush(&user, x, pR->aUserStart[u]);
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
** Index each rating of the movies iFirst to iLast-1 with its place in its
** user's sequence, into x->aItemPos.  Users come in ascending order, as they
** do in each movie's list of raters, so every movie's next rater is the one
** at its cursor.  SQLITE_ABORT if the sequences do not match the snapshot.
*/
static int indexPositions(MlrecSequences *x, int iFirst, int iLast,
                          MlrecInterrupt *pIntr){
  const MlrecRatings *pR = x->pR;
  i64 k, nPos = pR->aItemStart[iLast] - pR->aItemStart[iFirst];
  int v, rc = SQLITE_OK;
  if( nPos>x->nPosAlloc ){
    int *aNew = sqlite3_realloc64(x->aItemPos, sizeof(int)*(nPos+1));
    if( aNew==0 ) return SQLITE_NOMEM;
    x->aItemPos = aNew;
    x->nPosAlloc = nPos;
  }
  x->iPos0 = pR->aItemStart[iFirst];
  memcpy(x->aCursor + iFirst, pR->aItemStart + iFirst,
         sizeof(i64)*(iLast - iFirst));
  for(v=0; rc==SQLITE_OK && v<pR->nUser; v++){
    for(k=pR->aUserStart[v]; rc==SQLITE_OK && k<pR->aUserStart[v+1]; k++){
      int i = x->aSeqItem[k];
      i64 m;
      if( i<iFirst || i>=iLast ) continue;
      m = x->aCursor[i]++;
      if( m>=pR->aItemStart[i+1] || pR->aItemUser[m]!=v ){
        rc = SQLITE_ABORT;
        break;
      }
      x->aItemPos[m - x->iPos0] = (int)(k - pR->aUserStart[v]);
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  return rc;
}

/* Work space of one worker: the links of one movie at a time. */
typedef struct LinkWork LinkWork;
struct LinkWork {
  float *aSum;      /* nItem: sum of the window weights, zero between movies
                    ** (floats: half the cache of doubles, and exact enough to
                    ** choose the strongest links) */
  int *aTouched;    /* the movies of non-zero aSum */
  MlrecTopK top;    /* the strongest */
};

/* What the tasks of a chunk share: task t is movie iFirst+t. */
typedef struct LinkJob LinkJob;
struct LinkJob {
  const MlrecSequences *x;
  MlrecRanker *r;
  int iFirst;
  int nKeep;        /* links kept per movie, at most: each has that room */
  int *aCount;      /* per movie of the chunk: links kept */
  int *aRoomItem;   /* per movie of the chunk: room for nKeep links */
  float *aRoomWeight;
  LinkWork *aWork;  /* one per worker */
};

#define SEQ_AHEAD 8     /* raters whose windows are fetched ahead */

/* Ask for the window of the rating at place k of the movies' rows: the
** windows are scattered over the sequences, and each would otherwise wait
** for memory. */
static void prefetchWindow(const MlrecSequences *x, int L, i64 k){
  const MlrecRatings *pR = x->pR;
  int v = pR->aItemUser[k];
  int p = x->aItemPos[k - x->iPos0];
  i64 lo = pR->aUserStart[v] + p - L;
  i64 hi = pR->aUserStart[v] + p + L;
  const char *z, *zEnd;
  if( lo<pR->aUserStart[v] ) lo = pR->aUserStart[v];
  if( hi>=pR->aUserStart[v+1] ) hi = pR->aUserStart[v+1]-1;
  zEnd = (const char*)(x->aSeqItem + hi);
  for(z=(const char*)(x->aSeqItem + lo); z<=zEnd; z+=64) __builtin_prefetch(z);
}

/* Add weight r of movie j to w, noting j if it is new. */
static inline void addLink(LinkWork *w, int *pn, int j, float r){
  if( w->aSum[j]==0.0f ) w->aTouched[(*pn)++] = j;
  w->aSum[j] += r;
}

/*
** Add to w the window weights of the movies at the places p-dLo to p+dHi
** but p of the sequence of the user whose row starts at place k0, in order.
*/
static void addWindow(const MlrecSequences *x, i64 k0, int p, int dLo, int dHi,
                      LinkWork *w, int *pn){
  const float *aDecay = x->aDecay;
  const int *aSeq = x->aSeqItem + k0 + p;
  int d;
  for(d=dLo; d>=1; d--) addLink(w, pn, aSeq[-d], aDecay[d]);
  for(d=1; d<=dHi; d++) addLink(w, pn, aSeq[d], aDecay[d]);
}

/*
** Add up in w->aSum the window weights of the movies rated near movie i,
** over its raters; *pn gets the number of movies touched.  Returns
** SQLITE_INTERRUPT, leaving w->aSum dirty, if the work must stop.
*/
static int sumWindows(const MlrecSequences *x, int L, int i, LinkWork *w,
                      int *pn, MlrecWorker *pWorker){
  const MlrecRatings *pR = x->pR;
  i64 k;
  int n = 0;
  for(k=pR->aItemStart[i]; k<pR->aItemStart[i+1]; k++){
    int v = pR->aItemUser[k];
    i64 k0 = pR->aUserStart[v];
    int nSeq = (int)(pR->aUserStart[v+1] - k0);
    int p = x->aItemPos[k - x->iPos0];
    int dLo = p<L ? p : L;
    int dHi = nSeq-1-p<L ? nSeq-1-p : L;
    if( mlrecWorkerStop(pWorker, 1) ) return SQLITE_INTERRUPT;
    if( k+SEQ_AHEAD<pR->aItemStart[i+1] ) prefetchWindow(x, L, k+SEQ_AHEAD);
    addWindow(x, k0, p, dLo, dHi, w, &n);
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
** movie order in its room; clear w->aSum.
*/
static void keepLinks(LinkJob *pJob, int i, LinkWork *w, int n){
  MlrecRanker *r = pJob->r;
  const double *aDamp = r->aItemDamp;
  i64 iRoom = (i64)(i - pJob->iFirst)*pJob->nKeep;
  int *aItem = pJob->aRoomItem + iRoom;
  float *aWeight = pJob->aRoomWeight + iRoom;
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
  pJob->aCount[i - pJob->iFirst] = w->top.n;
  for(t=0; t<n; t++) w->aSum[w->aTouched[t]] = 0.0f;
}

static int linkTask(void *pCtx, MlrecWorker *pWorker, i64 iTask){
  LinkJob *pJob = (LinkJob*)pCtx;
  LinkWork *w = &pJob->aWork[pWorker->iWorker];
  int n;
  int i = pJob->iFirst + (int)iTask;
  int rc = sumWindows(pJob->x, (int)pJob->r->opt.window, i, w, &n, pWorker);
  if( rc==SQLITE_OK ) keepLinks(pJob, i, w, n);
  return rc;
}

/*
** Append the links of the nMovie movies of the chunk of pJob, from their
** rooms, to r->aLink* (r->aLinkStart[pJob->iFirst] is where they start).
*/
static int appendLinks(MlrecRanker *r, const LinkJob *pJob, int nMovie){
  i64 n = r->aLinkStart[pJob->iFirst], nNew = n;
  int t, *aItem;
  float *aWeight;
  for(t=0; t<nMovie; t++) nNew += pJob->aCount[t];
  aItem = sqlite3_realloc64(r->aLinkItem, sizeof(int)*(nNew+1));
  if( aItem ) r->aLinkItem = aItem;
  aWeight = sqlite3_realloc64(r->aLinkWeight, sizeof(float)*(nNew+1));
  if( aWeight ) r->aLinkWeight = aWeight;
  if( !aItem || !aWeight ) return SQLITE_NOMEM;
  for(t=0; t<nMovie; t++){
    i64 iRoom = (i64)t*pJob->nKeep;
    memcpy(r->aLinkItem+n, pJob->aRoomItem+iRoom, sizeof(int)*pJob->aCount[t]);
    memcpy(r->aLinkWeight+n, pJob->aRoomWeight+iRoom,
           sizeof(float)*pJob->aCount[t]);
    n += pJob->aCount[t];
    r->aLinkStart[pJob->iFirst+t+1] = n;
  }
  return SQLITE_OK;
}

/* The end of the chunk of movies that starts at iFirst: about 1/SEQ_CHUNKS
** of the ratings and at most nMovie movies, one movie at least. */
static int chunkEnd(const MlrecRatings *pR, int iFirst, int nMovie){
  i64 nMost = pR->nRating/SEQ_CHUNKS + 1;
  int iLast = iFirst + 1;
  while( iLast<pR->nItem && iLast-iFirst<nMovie
      && pR->aItemStart[iLast+1] - pR->aItemStart[iFirst]<=nMost ){
    iLast++;
  }
  return iLast;
}

/* Allocate the work space of job: rooms for nMovie movies, nWorker
** workers. */
static int linkJobAlloc(LinkJob *pJob, int nItem, int nMovie, int nWorker){
  int w;
  pJob->aCount = sqlite3_malloc64(sizeof(int)*((i64)nMovie+1));
  pJob->aRoomItem = sqlite3_malloc64(sizeof(int)*((i64)nMovie*pJob->nKeep+1));
  pJob->aRoomWeight = sqlite3_malloc64(sizeof(float)
                                       *((i64)nMovie*pJob->nKeep+1));
  pJob->aWork = sqlite3_malloc64(sizeof(LinkWork)*nWorker);
  if( !pJob->aCount || !pJob->aRoomItem || !pJob->aRoomWeight
   || !pJob->aWork ){
    return SQLITE_NOMEM;
  }
  memset(pJob->aWork, 0, sizeof(LinkWork)*nWorker);
  for(w=0; w<nWorker; w++){
    LinkWork *pWork = &pJob->aWork[w];
    int rc = mlrecTopKInit(&pWork->top, pJob->nKeep);
    pWork->aSum = sqlite3_malloc64(sizeof(float)*((i64)nItem+1));
    pWork->aTouched = sqlite3_malloc64(sizeof(int)*((i64)nItem+1));
    if( rc!=SQLITE_OK || !pWork->aSum || !pWork->aTouched ){
      return SQLITE_NOMEM;
    }
    memset(pWork->aSum, 0, sizeof(float)*nItem);
  }
  return SQLITE_OK;
}

static void linkJobFree(LinkJob *pJob, int nWorker){
  int w;
  for(w=0; pJob->aWork && w<nWorker; w++){
    sqlite3_free(pJob->aWork[w].aSum);
    sqlite3_free(pJob->aWork[w].aTouched);
    mlrecTopKFree(&pJob->aWork[w].top);
  }
  sqlite3_free(pJob->aWork);
  sqlite3_free(pJob->aCount);
  sqlite3_free(pJob->aRoomItem);
  sqlite3_free(pJob->aRoomWeight);
}

/* Find the strongest links of every movie into r->aLink*, chunk by chunk,
** one movie a task on up to nThread threads of the pool of p. */
static int linkMovies(MlrecState *p, MlrecSequences *x, MlrecRanker *r,
                      int nThread, MlrecInterrupt *pIntr){
  const MlrecRatings *pR = x->pR;
  int nItem = pR->nItem, iFirst, iLast;
  int nWorker = mlrecPoolReserve(p, nThread);
  int nMovie = nItem/SEQ_CHUNKS + 1;
  LinkJob job;
  int rc;
  memset(&job, 0, sizeof(job));
  job.x = x;
  job.r = r;
  job.nKeep = r->opt.sequenceLinks<nItem ? (int)r->opt.sequenceLinks : nItem;
  rc = linkJobAlloc(&job, nItem, nMovie, nWorker);
  r->aLinkStart = sqlite3_malloc64(sizeof(i64)*((i64)nItem+1));
  x->aCursor = sqlite3_malloc64(sizeof(i64)*((i64)nItem+1));
  if( !r->aLinkStart || !x->aCursor ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ) r->aLinkStart[0] = 0;
  for(iFirst=0; rc==SQLITE_OK && iFirst<nItem; iFirst=iLast){
    iLast = chunkEnd(pR, iFirst, nMovie);
    rc = indexPositions(x, iFirst, iLast, pIntr);
    job.iFirst = iFirst;
    if( rc==SQLITE_OK ){
      rc = mlrecParallelRun(p, pIntr, nWorker, iLast-iFirst, linkTask, &job,
                            0);
    }
    if( rc==SQLITE_OK ) rc = appendLinks(r, &job, iLast-iFirst);
  }
  linkJobFree(&job, nWorker);
  return rc;
}

/* SQLITE_ABORT (the rows read do not match the snapshot) as an error. */
static int changedWhileRead(int rc, char **pzErr){
  if( rc!=SQLITE_ABORT ) return rc;
  mlrecSetError(pzErr, "train_ranker: the ratings table changed while it "
                "was read; try again");
  return SQLITE_ERROR;
}

void mlrecSequenceFree(MlrecSequences *x){
  if( x==0 ) return;
  sqlite3_free(x->aSeqItem);
  sqlite3_free(x->aItemPos);
  sqlite3_free(x->aCursor);
  sqlite3_free(x->aDecay);
  sqlite3_free(x);
}

/*
** Read the users' sequences for the links of r from the ratings table of p
** (pR is its snapshot, which must be the same ratings) into *ppOut, if the
** table has the configured time column (else *ppOut is NULL); set r->bTimed
** accordingly.
*/
int mlrecSequenceRead(MlrecState *p, const MlrecRatings *pR, MlrecRanker *r,
                      MlrecSequences **ppOut, char **pzErr){
  const MlrecConfig *pCfg = &p->cfg;
  MlrecSequences *x;
  int d, rc = mlrecTableHas(p->db, pCfg->zRatings, pCfg->zTime, &r->bTimed);
  *ppOut = 0;
  if( rc!=SQLITE_OK || !r->bTimed ) return rc;
  x = sqlite3_malloc64(sizeof(*x));
  if( x==0 ) return SQLITE_NOMEM;
  memset(x, 0, sizeof(*x));
  x->pR = pR;
  x->aSeqItem = sqlite3_malloc64(sizeof(int)*(pR->nRating+1));
  x->aDecay = sqlite3_malloc64(sizeof(float)*(r->opt.window+1));
  if( !x->aSeqItem || !x->aDecay ){
    mlrecSequenceFree(x);
    return SQLITE_NOMEM;
  }
  x->aDecay[0] = 0.0;
  for(d=1; d<=r->opt.window; d++){
    x->aDecay[d] = (float)exp(-(d-1)/r->opt.windowDecay);
  }
  rc = changedWhileRead(readSequences(p->db, pCfg, x, pzErr), pzErr);
  if( rc!=SQLITE_OK ){
    mlrecSequenceFree(x);
    return rc;
  }
  *ppOut = x;
  return SQLITE_OK;
}

/*
** Build the sequence links of r from the sequences x on up to nThread
** threads of the pool of p.
*/
int mlrecSequenceLink(MlrecState *p, MlrecSequences *x, MlrecRanker *r,
                      int nThread, char **pzErr){
  MlrecInterrupt intr;
  int rc = mlrecInterruptBegin(p->db, &intr);
  if( rc==SQLITE_OK ) rc = linkMovies(p, x, r, nThread, &intr);
  mlrecInterruptEnd(&intr);
  return changedWhileRead(rc, pzErr);
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
