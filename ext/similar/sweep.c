/*
** sweep.c: the all-movies sweep of similar_movies(), the item-item cosine
** neighbours of every movie asked for in order in one statement:
**
**     SELECT count(*) FROM (SELECT DISTINCT movieId FROM ratings) r,
**                          similar_movies(r.movieId, 10);
**
** knn.c answers one query at a time and hands a cursor's queries here while
** they come in order (mlrecSweepAnswer()); the answers are those of knn.c,
** bit for bit.
**
** HALF THE WORK.  When a cursor is asked for movies 0, 1, 2, ... in order
** with one k and every rating is positive, query j adds up only the movies
** after j: dot(j, i) for i < j was computed by query i, which offered j to
** the list of the k best hits kept for every later movie (MlrecSweep.all).
** Query i adds r(u,i) r(u,j) over the users who rated both in user order,
** as query j would: the same sum, and the same score, bit for bit.
** Positive ratings make the cosine of two movies that share a user
** positive, so the movies a query does not meet any more are exactly those
** of score 0 not in its list.
**
** CHUNKS.  The movies are computed ahead in chunks of 1, 1, 2, 4, 8, ...
** movies (each as many as all before it, so a sweep that LIMIT cuts short
** wastes at most about what it used; at most KNN_SWEEP_CHUNK).  Planning a
** chunk works out where, in the row of each user of each of its movies,
** the movies after it start (aOff, from aSeen: the movies of each user
** planned so far).  Query j starts its list (aFwd) from its list in the
** sweep and offers the movies after it to both.  A chunk with enough work
** (KNN_SWEEP_POOL) is a job on the connection's pool (core/pool.c): its
** workers take its movies in increasing order, each query on one worker
** with that worker's accumulators.  The calling thread (slot 0) offers to
** the sweep's lists; a helper to its own copy of them (SweepWorker.priv),
** whose thresholds start as the sweep's.  After the chunk the helpers'
** lists are merged into the sweep's, and into each chunk movie's list go
** the hits of the chunk's earlier movies.  A list keeps the k best under a
** total order (key, then movie index), so the merged list is the one the
** movies would have made one at a time, whatever the worker that computed
** each hit.
**
** TURNING AWAY.  Every list has a threshold (SweepLists.aThr): the score a
** movie must reach to enter it, less a margin.  A movie's list is offered
** the queries before it in increasing order, and a query loses ties to
** the movies already there, so a full list needs a key one above its
** worst.  Before the second movie, thresholds start from a lower bound of
** each movie's k-th best cosine (sweepFloors()), so most of the movies that
** early lists would take in and throw out again are turned away at once.
** Eight movies at a time are turned away with a float test against the
** query's threshold and each later movie's; then sweepOffer() tests the
** others exactly, before the division.
**
** INTERRUPTS.  Workers report their work to the pool after every few
** movies (the pool's one rule); an interrupted sweep is dropped and the
** cursor fails with SQLITE_INTERRUPT.
*/
#include "similar.h"
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define KNN_SWEEP_HITS 4000000     /* most hits kept for the sweep: 96 MB */
#define KNN_SWEEP_CHUNK 4096       /* most movies in a chunk */
#define KNN_SWEEP_OFFSETS 1000000  /* most ratings of a chunk's movies (but
                                   ** one movie may have more) */
#define KNN_SWEEP_WALK 8           /* a query reaching fewer pairs than 1/8 of
                                   ** the movies after it walks its rows */
#define KNN_SWEEP_TAKE 8           /* movies a worker takes at once: their
                                   ** lists (aFwd) share no cache line with
                                   ** another worker's */
#ifndef KNN_SWEEP_POOL              /* (tests/threads.c: 0, every chunk) */
# define KNN_SWEEP_POOL 1000000    /* a chunk with less work (sweepPlan())
                                   ** runs on the calling thread alone: a
                                   ** thread the system holds up costs more */
#endif

/* Lists of the k best hits, one per movie, and their thresholds. */
typedef struct SweepLists SweepLists;
struct SweepLists {
  MlrecTopK *aList;      /* nItem lists */
  MlrecHit *aHit;        /* their storage, nItem x k */
  double *aThr;          /* nItem: the score that may enter, less a margin
                         ** (enterScore(), sweepFloors()) */
  float *aLim;           /* nItem: aThr less 1e-5, as floats */
};

/* One worker slot of the sweep's jobs. */
typedef struct SweepWorker SweepWorker;
struct SweepWorker {
  MlrecSweep *pSw;
  const MlrecRatings *pR;
  MlrecKnnAcc acc;       /* its accumulators */
  SweepLists *pTo;       /* the lists it offers to: the sweep's, or priv */
  SweepLists priv;       /* a helper's copy of them */
};

struct MlrecSweep {
  const MlrecRatings *pR;
  int k;
  int bFloors;           /* sweepFloors() has run */
  SweepLists all;        /* each movie's best hits among the movies done */
  int *aSeen;            /* nUser: movies of each user whose chunk is planned */
  int *aOff;             /* the chunk: for each rating of its movies, where
                         ** in the user's row the movies after it start */
  i64 nOff;              /* room in aOff */
  i64 *aPairs;           /* pairs each movie of the chunk reaches */
  MlrecTopK *aFwd;       /* the chunk: each movie's list, its best hits
                         ** with the movies after it, then its whole list */
  MlrecHit *aFwdHit;
  int nChunk;            /* room in aFwd and aPairs: most movies in a chunk */
  int iFrom, iTo;        /* the chunk: movies [iFrom, iTo) */
  int nWorker;           /* worker slots; 1: the chunks have one movie */
  int bHelpers;          /* the helpers' copies of the lists are made */
  SweepWorker aWorker[MLREC_MAX_THREADS];   /* [0]: the calling thread */
  atomic_int iClaim;     /* the next movies of the chunk, from iFrom */
};

static void listsFree(SweepLists *p){
  sqlite3_free(p->aList);
  sqlite3_free(p->aHit);
  sqlite3_free(p->aThr);
  sqlite3_free(p->aLim);
  memset(p, 0, sizeof(*p));
}

/* Empty lists of k hits for nItem movies (thresholds set by the caller);
** SQLITE_NOMEM if there is no room. */
static int listsInit(SweepLists *p, int nItem, int k){
  int i;
  p->aList = sqlite3_malloc64(sizeof(MlrecTopK)*((i64)nItem+1));
  p->aHit = sqlite3_malloc64(sizeof(MlrecHit)*((i64)nItem*k+1));
  p->aThr = sqlite3_malloc64(sizeof(double)*((i64)nItem+1));
  p->aLim = sqlite3_malloc64(sizeof(float)*((i64)nItem+1));
  if( !p->aList || !p->aHit || !p->aThr || !p->aLim ){
    listsFree(p);
    return SQLITE_NOMEM;
  }
  for(i=0; i<nItem; i++){
    p->aList[i].a = p->aHit + (i64)i*k;
    p->aList[i].n = 0;
    p->aList[i].k = k;
  }
  return SQLITE_OK;
}

void mlrecSweepFree(MlrecSweep *p){
  int t;
  if( p==0 ) return;
  listsFree(&p->all);
  for(t=1; t<p->nWorker; t++) listsFree(&p->aWorker[t].priv);
  sqlite3_free(p->aSeen);
  sqlite3_free(p->aOff);
  sqlite3_free(p->aPairs);
  sqlite3_free(p->aFwd);
  sqlite3_free(p->aFwdHit);
  sqlite3_free(p);
}

/*
** The score a hit must reach to enter the full list h, less a margin of
** 1e-14: far above the rounding of a score (1e-16), far below the unit of
** the key (1e-12).  A hit after every hit of h in movie order (bAfter)
** loses ties, so it needs a key one above the worst.
*/
static double enterScore(const MlrecTopK *h, int bAfter){
  if( h->n<h->k ) return -HUGE_VAL;
  return (h->a[0].key + (bAfter ? 0.5 : -0.5))*1e-12 - 1e-14;
}

/* Raise the threshold of list i of p to thr if that is higher. */
static void raiseThr(SweepLists *p, int i, double thr){
  if( thr>p->aThr[i] ){
    p->aThr[i] = thr;
    p->aLim[i] = (float)(thr - 1e-5);
  }
}

/*
** The workers a sweep of pR for k hits per movie can use: nPart, or fewer so
** that the helpers' copies of the lists fit too (KNN_SWEEP_HITS); 0 if there
** can be no sweep: the ratings are not all positive, k is 0, or the lists
** do not fit.
*/
int mlrecSweepWorkers(const MlrecRatings *pR, int k, int nPart){
  i64 nHits = (i64)pR->nItem*k;
  if( pR->rMin<=0.0 || k<=0 || nHits>KNN_SWEEP_HITS ) return 0;
  while( nPart>1 && nHits*nPart + (i64)KNN_SWEEP_CHUNK*k>KNN_SWEEP_HITS ){
    nPart--;
  }
  return nPart;
}

/*
** The sweep for pR with k hits per movie, starting at movie 0, on up to
** nPart workers (at most mlrecSweepWorkers()) with the accumulators aAcc;
** NULL without memory.
*/
MlrecSweep *mlrecSweepNew(const MlrecRatings *pR, int k, int nPart,
                          const MlrecKnnAcc *aAcc){
  i64 nOff = KNN_SWEEP_OFFSETS;
  MlrecSweep *p;
  int i, nChunk;
  nChunk = nPart>1 ? (pR->nItem<KNN_SWEEP_CHUNK ? pR->nItem : KNN_SWEEP_CHUNK)
                   : 1;
  for(i=0; i<pR->nItem; i++){
    i64 n = pR->aItemStart[i+1] - pR->aItemStart[i];
    if( n>nOff ) nOff = n;
  }
  if( nOff>pR->nRating ) nOff = pR->nRating;
  p = sqlite3_malloc64(sizeof(*p));
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  p->pR = pR;
  p->k = k;
  p->nWorker = nPart;
  p->nOff = nOff;
  p->nChunk = nChunk;
  p->aSeen = sqlite3_malloc64(sizeof(int)*((i64)pR->nUser+1));
  p->aOff = sqlite3_malloc64(sizeof(int)*(nOff+1));
  p->aPairs = sqlite3_malloc64(sizeof(i64)*nChunk);
  p->aFwd = sqlite3_malloc64(sizeof(MlrecTopK)*nChunk);
  p->aFwdHit = sqlite3_malloc64(sizeof(MlrecHit)*(i64)nChunk*k);
  if( !p->aSeen || !p->aOff || !p->aPairs || !p->aFwd || !p->aFwdHit
   || listsInit(&p->all, pR->nItem, k)!=SQLITE_OK ){
    mlrecSweepFree(p);
    return 0;
  }
  memset(p->aSeen, 0, sizeof(int)*((i64)pR->nUser+1));
  for(i=0; i<pR->nItem; i++){
    p->all.aThr[i] = -HUGE_VAL;
    p->all.aLim[i] = -HUGE_VALF;
  }
  for(i=0; i<nChunk; i++){
    p->aFwd[i].a = p->aFwdHit + (i64)i*k;
    p->aFwd[i].n = 0;
    p->aFwd[i].k = k;
  }
  for(i=0; i<nPart; i++){
    p->aWorker[i].pSw = p;
    p->aWorker[i].pR = pR;
    p->aWorker[i].acc = aAcc[i];
    p->aWorker[i].pTo = i ? &p->aWorker[i].priv : &p->all;
  }
  return p;
}

/* Keep in the min-heap a[0..*pn), of at most m values, the m largest. */
static void keepLargest(double *a, int *pn, int m, double v){
  int i, c;
  if( *pn<m ){
    for(i=(*pn)++; i>0 && v<a[(i-1)/2]; i=(i-1)/2) a[i] = a[(i-1)/2];
    a[i] = v;
    return;
  }
  if( v<=a[0] ) return;
  for(i=0; (c = 2*i+1)<m; i=c){
    if( c+1<m && a[c+1]<a[c] ) c++;
    if( v<=a[c] ) break;
    a[i] = a[c];
  }
  a[i] = v;
}

/*
** Floors.  Ratings are positive, so a dot product over some of the users
** is at most the whole one.  For user u let W(u) be the (k+1)-th best
** r(u,j) / |j| of the movies u rated.  Any movie i that u rated has at
** least k other movies j with cos(i,j) >= r(u,i) r(u,j) / (|i| |j|) >=
** r(u,i) W(u) / |i|: so its k-th best cosine is at least the largest of
** these over its users.  A movie scoring more than 3e-12 below (three units
** of the key: far above the rounding of either side) cannot enter its list.
** Best effort: without memory, the thresholds stay as they are.
*/
static void sweepFloors(MlrecSweep *p, const MlrecRatings *pR){
  int m = p->k+1;
  double *aInv = sqlite3_malloc64(sizeof(double)*((i64)pR->nItem+1));
  double *aW = sqlite3_malloc64(sizeof(double)*((i64)pR->nUser+1));
  double *aHeap = sqlite3_malloc64(sizeof(double)*(i64)m);
  i64 r, kk;
  int u, i, n;
  p->bFloors = 1;
  if( aInv && aW && aHeap ){
    for(i=0; i<pR->nItem; i++) aInv[i] = 1.0/pR->aItemNorm[i];
    for(u=0; u<pR->nUser; u++){
      n = 0;
      if( pR->aUserStart[u+1]-pR->aUserStart[u]>p->k ){
        for(r=pR->aUserStart[u]; r<pR->aUserStart[u+1]; r++){
          keepLargest(aHeap, &n, m,
                      mlrecUserRating(pR, r)*aInv[pR->aUserItem[r]]);
        }
      }
      aW[u] = n==m ? aHeap[0] : 0.0;
    }
    for(i=0; i<pR->nItem; i++){
      double best = 0.0;
      for(kk=pR->aItemStart[i]; kk<pR->aItemStart[i+1]; kk++){
        double v = mlrecItemRating(pR, kk)*aW[pR->aItemUser[kk]];
        if( v>best ) best = v;
      }
      if( best>0.0 ) raiseThr(&p->all, i, best*aInv[i] - 3e-12);
    }
  }
  sqlite3_free(aInv);
  sqlite3_free(aW);
  sqlite3_free(aHeap);
}

/* One query of the sweep: movie j, whose best hits after it go to pFwd. */
typedef struct SweepQuery SweepQuery;
struct SweepQuery {
  int j;
  double rNorm;          /* |j| */
  double rThr;           /* the score a movie needs to enter pFwd, less
                         ** 1e-14 */
  float rLimit;          /* 4 |j| (rThr - 1e-5), for the float test */
  int bAfter;            /* movies are offered in increasing order */
  MlrecTopK *pFwd;
};

static void setQueryThr(SweepQuery *q, double thr){
  q->rThr = thr;
  q->rLimit = (float)(4.0*(thr - 1e-5)*q->rNorm);
}

/*
** Offer movie i, after the query, of dot product rDot: to the query's list
** and, the query, to the list of movie i.  sweepOffer() turns most movies
** away before the division.
*/
static void sweepEnter(SweepWorker *w, SweepQuery *q, int i, double rDot,
                       int bMine, int bTheirs){
  SweepLists *pTo = w->pTo;
  double rDen = q->rNorm*w->pR->aItemNorm[i];
  double score = rDen>0.0 ? rDot/rDen : 0.0;
  double key = mlrecKnnRankKey(score);
  if( bTheirs ){
    MlrecTopK *h = &pTo->aList[i];
    /* the query, after every movie of that list, loses the ties */
    if( h->n<h->k || key>h->a[0].key ){
      mlrecTopKPush(h, key, score, q->j);
      raiseThr(pTo, i, enterScore(h, 1));
    }
  }
  if( bMine ){
    double thr;
    mlrecTopKPush(q->pFwd, key, score, i);
    thr = enterScore(q->pFwd, q->bAfter);
    if( thr>q->rThr ) setQueryThr(q, thr);
  }
}

static inline void sweepOffer(SweepWorker *w, SweepQuery *q, int i,
                              double rDot){
  double rDen = q->rNorm*w->pR->aItemNorm[i];
  int bMine = rDot>=q->rThr*rDen;
  int bTheirs = rDot>=w->pTo->aThr[i]*rDen;
  if( bMine || bTheirs ) sweepEnter(w, q, i, rDot, bMine, bTheirs);
}

/*
** Offer the movies after the query from the accumulator array of the
** worker, as integers, eight at a time: the lanes that can enter neither
** list are turned away with the float test of knn.c's rankAll(), against
** the query's threshold and each movie's (lim: acc / |i| >= 4 |j| lim).
*/
static void sweepScanQuarters(SweepWorker *w, SweepQuery *q){
  const MlrecRatings *pR = w->pR;
  const float *aInv = pR->aItemInvNorm;
  const float *aLim = w->pTo->aLim;
  int *aAcc = w->acc.aAcc;
  int nItem = pR->nItem;
  MlrecKnnVecF vZero = {0, 0, 0, 0};
  MlrecKnnVecF vC = vZero + (float)(4.0*q->rNorm), vLimit = vZero + q->rLimit;
  int i, t;
  /* two vectors at a time, with no other test (a branch on whether the
  ** movies were reached is mispredicted too often); the movies of a block
  ** that passes go to sweepOffer()'s exact test */
  for(i=q->j+1; i+2*MLREC_KNN_LANES<=nItem; i+=2*MLREC_KNN_LANES){
    MlrecKnnVecI a0, a1;
    MlrecKnnVecF f0, f1, l0, l1;
    memcpy(&a0, aAcc+i, sizeof(a0));
    memcpy(&a1, aAcc+i+MLREC_KNN_LANES, sizeof(a1));
    memcpy(&f0, aInv+i, sizeof(f0));
    memcpy(&f1, aInv+i+MLREC_KNN_LANES, sizeof(f1));
    memcpy(&l0, aLim+i, sizeof(l0));
    memcpy(&l1, aLim+i+MLREC_KNN_LANES, sizeof(l1));
    f0 *= __builtin_convertvector(a0, MlrecKnnVecF);
    f1 *= __builtin_convertvector(a1, MlrecKnnVecF);
    if( mlrecKnnAnyLane((f0>=vLimit) | (f0>=vC*l0)
                        | (f1>=vLimit) | (f1>=vC*l1)) ){
      for(t=i; t<i+2*MLREC_KNN_LANES; t++){
        if( aAcc[t] ) sweepOffer(w, q, t, 0.25*(double)aAcc[t]);
      }
      vLimit = vZero + q->rLimit;
    }
    memset(aAcc+i, 0, 2*sizeof(a0));
  }
  for(; i<nItem; i++){
    int n = aAcc[i];
    aAcc[i] = 0;
    if( n ) sweepOffer(w, q, i, 0.25*(double)n);
  }
}

/* True if query j, of nPairs pairs, walks its rows again rather than read
** every movie after it. */
static int walksRows(const MlrecRatings *pR, int j, i64 nPairs){
  return nPairs*KNN_SWEEP_WALK < pR->nItem-j;
}

/*
** Query j of the chunk: add up its dot products with the movies after it
** in the worker's own accumulators and offer them, walking the rows again
** for a query that reaches few movies, reading all the movies after it
** otherwise.  A query runs on one worker: its sums are added in user
** order, whatever the ratings.
*/
static void sweepQuery(SweepWorker *w, int j){
  MlrecSweep *p = w->pSw;
  const MlrecRatings *pR = w->pR;
  MlrecKnnRows rows;
  SweepQuery q;
  i64 kStart = pR->aItemStart[j], kEnd = pR->aItemStart[j+1];
  int i;
  rows.aOff = p->aOff;
  rows.kBase = pR->aItemStart[p->iFrom];
  mlrecKnnAccumulate(pR, &rows, kStart, kEnd, &w->acc);
  q.j = j;
  q.rNorm = pR->aItemNorm[j];
  q.pFwd = &p->aFwd[j - p->iFrom];
  setQueryThr(&q, w->pTo->aThr[j]);
  if( walksRows(pR, j, p->aPairs[j - p->iFrom]) ){
    i64 k, m;
    /* a movie already offered has been cleared to 0 */
    q.bAfter = 0;
    for(k=kStart; k<kEnd; k++){
      i64 end = pR->aUserStart[pR->aItemUser[k]+1];
      for(m=mlrecKnnRowFrom(pR, &rows, k); m<end; m++){
        double rDot = mlrecKnnTake(&w->acc, pR->aUserItem[m]);
        if( rDot!=0.0 ) sweepOffer(w, &q, pR->aUserItem[m], rDot);
      }
    }
  }else if( w->acc.aAcc ){
    q.bAfter = 1;
    sweepScanQuarters(w, &q);
  }else{
    q.bAfter = 1;
    for(i=j+1; i<pR->nItem; i++){
      double rDot = mlrecKnnTake(&w->acc, i);
      if( rDot!=0.0 ) sweepOffer(w, &q, i, rDot);
    }
  }
}

/* The work of query j of the chunk: pairs added up, then walked again or
** movies read (see sweepQuery()). */
static i64 queryWork(const MlrecSweep *p, int j){
  i64 nPairs = p->aPairs[j - p->iFrom];
  return nPairs + (walksRows(p->pR, j, nPairs) ? nPairs : p->pR->nItem-j);
}

/*
** Plan the chunk from movie iFrom: its movies, where their users' rows
** continue after them (aOff, from aSeen) and the pairs each reaches.
** Returns the work of the chunk.
*/
static i64 sweepPlan(MlrecSweep *p, int iFrom){
  const MlrecRatings *pR = p->pR;
  i64 kBase = pR->aItemStart[iFrom], nAll = 0;
  int nMax = iFrom>1 ? iFrom : 1;
  int j;
  if( nMax>p->nChunk ) nMax = p->nChunk;
  p->iFrom = iFrom;
  for(j=iFrom; j<pR->nItem && j-iFrom<nMax; j++){
    i64 kEnd = pR->aItemStart[j+1], k, nPairs = 0;
    if( j>iFrom && kEnd-kBase>p->nOff ) break;
    for(k=pR->aItemStart[j]; k<kEnd; k++){
      int u = pR->aItemUser[k];
      nPairs += pR->aUserStart[u+1] - pR->aUserStart[u] - p->aSeen[u] - 1;
      p->aOff[k-kBase] = ++p->aSeen[u];
    }
    p->aPairs[j-iFrom] = nPairs;
    nAll += queryWork(p, j);
  }
  p->iTo = j;
  return nAll;
}

/*
** A worker of the chunk's job: takes KNN_SWEEP_TAKE movies at a time until
** none is left, reporting their work (a unit is a thousand pairs or movies)
** to the pool.
*/
static int sweepQueries(void *pCtx, MlrecWorker *pWorker){
  MlrecSweep *p = (MlrecSweep*)pCtx;
  SweepWorker *w = &p->aWorker[pWorker->iWorker];
  i64 nWork = 0;         /* of the movies taken last */
  while( !mlrecWorkerStop(pWorker, nWork/1000) ){
    int j = p->iFrom + KNN_SWEEP_TAKE
          * atomic_fetch_add_explicit(&p->iClaim, 1, memory_order_relaxed);
    int jEnd = j+KNN_SWEEP_TAKE<p->iTo ? j+KNN_SWEEP_TAKE : p->iTo;
    if( j>=p->iTo ) break;
    for(nWork=0; j<jEnd; j++){
      sweepQuery(w, j);
      nWork += queryWork(p, j);
    }
  }
  return SQLITE_OK;
}

/* Push the hits of h, of movies from iFrom on only, into pTo. */
static void pushHits(MlrecTopK *pTo, const MlrecTopK *h, int iFrom){
  int m;
  for(m=0; m<h->n; m++){
    if( h->a[m].idx>=iFrom ){
      mlrecTopKPush(pTo, h->a[m].key, h->a[m].score, h->a[m].idx);
    }
  }
}

/*
** Merge the lists of the helpers that joined the chunk (slots 1 to
** nJoined-1).  Those of a later movie go into the sweep's; a chunk movie's
** whole list is its list of hits with later movies (which started as its
** list in the sweep before the chunk) with the hits of the chunk's earlier
** movies: those the calling thread gave the sweep's list during the chunk,
** and the helpers'.  A list keeps the best k under a total order: the
** order of the pushes does not matter.
*/
static void sweepMerge(MlrecSweep *p, int nJoined){
  int i, t;
  for(i=p->iFrom; i<p->pR->nItem; i++){
    MlrecTopK *pTo = i<p->iTo ? &p->aFwd[i - p->iFrom] : &p->all.aList[i];
    if( i<p->iTo ) pushHits(pTo, &p->all.aList[i], p->iFrom);
    for(t=1; t<nJoined; t++){
      MlrecTopK *h = &p->aWorker[t].priv.aList[i];
      pushHits(pTo, h, 0);
      h->n = 0;
    }
    if( i>=p->iTo ) raiseThr(&p->all, i, enterScore(pTo, 1));
  }
}

/*
** The helpers of the chunks: as many workers as the pool of pState gives,
** at most nWorker, each helper with its copy of the lists.  Without them
** the sweep goes on one movie at a time on the calling thread.
*/
static void sweepHelpersStart(MlrecSweep *p, MlrecState *pState){
  int t, nWorker = mlrecPoolReserve(pState, p->nWorker);
  for(t=1; t<nWorker; t++){
    if( listsInit(&p->aWorker[t].priv, p->pR->nItem, p->k)!=SQLITE_OK ) break;
  }
  p->nWorker = t;
  p->bHelpers = 1;
  if( t==1 ) p->nChunk = 1;
}

/*
** Run the chunk as a job on the pool of pState, each helper offering to its
** copy of the lists (thresholds as the sweep's), then merge the copies.
*/
static int sweepRunPool(MlrecSweep *p, MlrecState *pState){
  MlrecInterrupt intr;
  i64 nCopy = (i64)(p->pR->nItem - p->iFrom);
  int t, nJoined = 1, rc = mlrecInterruptBegin(pState->db, &intr);
  if( rc!=SQLITE_OK ) return rc;
  for(t=1; t<p->nWorker; t++){
    SweepLists *pPriv = &p->aWorker[t].priv;
    memcpy(pPriv->aThr + p->iFrom, p->all.aThr + p->iFrom,
           sizeof(double)*nCopy);
    memcpy(pPriv->aLim + p->iFrom, p->all.aLim + p->iFrom,
           sizeof(float)*nCopy);
  }
  atomic_store(&p->iClaim, 0);
  rc = mlrecPoolRun(pState, &intr, p->nWorker, sweepQueries, p, &nJoined);
  mlrecInterruptEnd(&intr);
  if( rc==SQLITE_OK ) sweepMerge(p, nJoined);
  return rc;
}

/* Start the list of chunk movie j with its list in the sweep. */
static void startFwd(MlrecSweep *p, int j){
  MlrecTopK *pFwd = &p->aFwd[j - p->iFrom];
  const MlrecTopK *h = &p->all.aList[j];
  memcpy(pFwd->a, h->a, sizeof(MlrecHit)*h->n);
  pFwd->n = h->n;
}

/*
** Make sure movie j, the next of the sweep, has its whole list (in aFwd):
** compute the chunk from j if it is not done yet.  A chunk on the pool
** starts every movie's list before it runs; one on the calling thread
** alone starts each just before its query, when the movies before it in
** the chunk have all offered to it.
*/
static int sweepAdvance(MlrecSweep *p, MlrecState *pState, int j){
  int rc = SQLITE_OK;
  i64 nWork;
  if( j<p->iTo ) return SQLITE_OK;
  if( j>0 && !p->bFloors ) sweepFloors(p, p->pR);
  if( p->nWorker>1 && !p->bHelpers && j>1 ) sweepHelpersStart(p, pState);
  nWork = sweepPlan(p, j);
  if( p->iTo-p->iFrom>1 && nWork>=KNN_SWEEP_POOL ){
    for(; j<p->iTo; j++) startFwd(p, j);
    rc = sweepRunPool(p, pState);
  }else{
    for(; j<p->iTo; j++){
      startFwd(p, j);
      sweepQuery(&p->aWorker[0], j);
    }
  }
  return rc;
}

/* True if pTop holds movie i. */
static int holds(const MlrecTopK *pTop, int i){
  int t;
  for(t=0; t<pTop->n; t++){
    if( pTop->a[t].idx==i ) return 1;
  }
  return 0;
}

/* Fill pOut with movies of score 0, in index order, while one can enter. */
static void fillZeros(const MlrecRatings *pR, int iItem, MlrecTopK *pOut){
  int i;
  for(i=0; i<pR->nItem && !mlrecTopKWorse(pOut, 0.0, i); i++){
    if( i!=iItem && !holds(pOut, i) ) mlrecTopKPush(pOut, 0.0, 0.0, i);
  }
}

/*
** Query iItem, the next movie of the sweep, into pOut (initialised for k
** hits, unsorted): its list, then score 0.  Chunks run on the pool of
** pState, whose connection's interrupt they honour (SQLITE_INTERRUPT).
*/
int mlrecSweepAnswer(MlrecSweep *p, MlrecState *pState, int iItem,
                     MlrecTopK *pOut){
  int rc = sweepAdvance(p, pState, iItem);
  if( rc==SQLITE_OK ){
    const MlrecTopK *h = &p->aFwd[iItem - p->iFrom];
    memcpy(pOut->a, h->a, sizeof(MlrecHit)*h->n);
    pOut->n = h->n;
    fillZeros(p->pR, iItem, pOut);
  }
  return rc;
}
