/*
** audience.c: the table-valued function audience(), the users most likely
** to want a movie they have not rated (item-to-users recommendations, as
** BigQuery ML's and Spark ALS's recommendForItemSubset offer).
**
**     SELECT * FROM audience(260);                 -- the 10 likeliest users
**     SELECT * FROM audience(260, 50);
**     SELECT * FROM audience(260, 50, '{"min_ratings": 20}');
**     SELECT m.movieId, a.userId
**       FROM movies m, audience(m.movieId, 5) a WHERE m.genres LIKE '%Noir%';
**
** audience(movie_id [, k [, options]]) returns rows userId, score, rank
** (1..k, k from 1 to AUDIENCE_MAX_K, default 10), best first, among the
** users who have ratings now and have NOT rated the movie.  The score is
**
**     score(u) = max(0, x(u) . y(i)) * sqrt(n(u))
**
** where y(i) is the movie's factor vector in the implicit ALS part of the
** ranking model (train_ranker(), ranking.h), x(u) the user's, folded in
** from all the user's ratings as recommend() folds a user in (the user side
** of an ALS iteration, ials.c; for a model trained with times, a rating's
** confidence halves for every "recency" ratings the user made after it),
** and n(u) the user's number of ratings: the model's preference of the user
** for the movie, weighted by how much the user rates.  Ties (zero scores,
** most often) go to the smaller userId.  It was chosen by measurement on a
** temporal hold-out (sql/eval.sql, docs/audience.md): it finds 1.2 times
** the movie's next raters the most active users do, more than the dot
** product alone, than n(u) to other powers, or than all ratings alike.
** Options, one JSON object:
**
**   min_ratings   only users with at least this many ratings (default 1)
**
** A movie the model was not trained on but which has ratings now (added
** after training) is folded in from its raters: the movie side of an ALS
** iteration, against the users' factors.  A movie neither in the model
** nor in the ratings table is an error.
**
** HOW IT WORKS.  The matrix of every user's factors (users x factors
** floats) and its Gram matrix depend only on the ranking model and the
** ratings snapshot (and, for a timed model, the times, read in one scan in
** (user, time, movie) order under the same read transaction as the
** snapshot): they are computed once, on the connection's threads (pool.c),
** and kept in the connection's state (MlrecState.pAudience), holding a
** reference to both, until either changes (or, for a timed model, the data
** version: a snapshot is kept when only times change).  A query then costs
** one dot product per user.  Nothing is stale: the snapshot is the current
** one (its data version is checked at each statement, ratings.c), so a
** rating inserted since makes the next statement fold the users in again,
** and raters are excluded from the snapshot the statement reads.  One
** statement (a lateral join over movies) keeps the model, snapshot and
** matrix it started with.
*/
#include "surface.h"
#include <math.h>
#include <string.h>

#define AUDIENCE_MAX_K 1000000   /* the largest k */

/* audience()'s user factors for one ranking model and one snapshot. */
struct MlrecAudience {
  int nRef;
  MlrecRanker *pRanker;    /* a reference: keeps the pointer unique */
  MlrecRatings *pRatings;  /* a reference, likewise */
  MlrecStamp stamp;        /* the data version read, for a timed model:
                           ** times are not part of the snapshot */
  int nUser, nFactor;      /* those of pRatings and pRanker */
  float *aX;               /* nUser x nFactor user factors */
  double *aGram;           /* X'X, nFactor^2 (lower triangle) */
};

static void audienceUnref(MlrecAudience *a){
  if( a==0 || --a->nRef>0 ) return;
  mlrecRankerUnref(a->pRanker);
  mlrecRatingsUnref(a->pRatings);
  sqlite3_free(a->aX);
  sqlite3_free(a->aGram);
  sqlite3_free(a);
}

/* The state's destructor of its audience cache (mlrec.c). */
void mlrecAudienceFree(MlrecAudience *a){
  audienceUnref(a);
}

/*
** True if a holds the user factors of model r on snapshot pR now.  The
** snapshot is kept when only the times change (its content is users,
** movies and ratings), so for a model that weighs ratings by their age the
** data version must also be the one a was built at.
*/
static int audienceHolds(const MlrecAudience *a, const MlrecState *p,
                         const MlrecRanker *r, const MlrecRatings *pR){
  if( a==0 || a->pRanker!=r || a->pRatings!=pR ) return 0;
  return !r->bTimed || (a->stamp.bValid && p->ratingsStamp.bValid
                        && a->stamp.version==p->ratingsStamp.version);
}

/* The options of audience(). */
typedef struct AudienceOptions AudienceOptions;
struct AudienceOptions {
  i64 nMinRatings;
};

#define AUD(F) .offset=offsetof(AudienceOptions, F)
static const MlrecOption aAudienceOption[] = {
  { "min_ratings", 'i', 1, 1e9, AUD(nMinRatings), 1 },
};
#define N_AUDIENCE_OPTION \
  (int)(sizeof(aAudienceOption)/sizeof(aAudienceOption[0]))

/* The user fold-ins of one build: a task is FOLD_ROWS users. */
typedef struct FoldJob FoldJob;
struct FoldJob {
  const MlrecRanker *r;
  const MlrecRatings *pR;
  const int *aItemOf;     /* snapshot movie index -> model index, or -1 */
  const int *aAge;        /* by user as in the snapshot: ratings the user
                          ** made after each one, or NULL (untimed) */
  float *aX;              /* the output, nUser x nFactor */
  double *aWork;          /* per worker: Cholesky factor and solution */
  int *aItem;             /* per worker: nMaxHist movie indexes ... */
  double *aConf;          /* ... and confidences minus one */
  int nMaxHist;           /* ratings of the most active user */
};
#define FOLD_ROWS 64

static int foldTask(void *pCtx, MlrecWorker *pWorker, i64 iTask){
  const FoldJob *j = (const FoldJob*)pCtx;
  const MlrecRatings *pR = j->pR;
  int f = j->r->nFactor, d;
  double *aL = j->aWork + (i64)pWorker->iWorker*((i64)f*f+f);
  double *aSol = aL + (i64)f*f;
  int *aItem = j->aItem + (i64)pWorker->iWorker*j->nMaxHist;
  double *aConf = j->aConf + (i64)pWorker->iWorker*j->nMaxHist;
  i64 u, uEnd = (iTask+1)*FOLD_ROWS < pR->nUser ? (iTask+1)*FOLD_ROWS
                                                 : pR->nUser;
  for(u=iTask*FOLD_ROWS; u<uEnd; u++){
    i64 k0 = pR->aUserStart[u];
    int n = (int)(pR->aUserStart[u+1]-k0), t;
    if( mlrecWorkerStop(pWorker, 1 + ((i64)n*f*f/2 + (i64)f*f*f/6)/1000) ){
      return SQLITE_INTERRUPT;
    }
    for(t=0; t<n; t++){
      aItem[t] = j->aItemOf[pR->aUserItem[k0+t]];
      aConf[t] = mlrecIalsConfidence(j->r, mlrecUserRating(pR, k0+t));
      if( j->aAge ) aConf[t] *= pow(0.5, j->aAge[k0+t]/j->r->opt.recency);
    }
    if( mlrecIalsFoldIn(j->r, n, aItem, aConf, aL, aSol) ) return SQLITE_ERROR;
    for(d=0; d<f; d++) j->aX[u*f+d] = (float)aSol[d];
  }
  return SQLITE_OK;
}

/*
** Fill aAge (by user, as the snapshot pR lays ratings out) with the number
** of ratings each user made after each rating: the table read in the order
** of (user, time, movie), as recommend() reads one user (history.c).
** SQLITE_ABORT if the rows are not those of the snapshot.
*/
static int readAges(MlrecState *p, const MlrecRatings *pR, int *aAge,
                    char **pzErr){
  const MlrecConfig *c = &p->cfg;
  sqlite3_stmt *pStmt = 0;
  char *zFrom = mlrecFromSql(p->db, c->zRatings);
  char *zSql = zFrom==0 ? 0 : sqlite3_mprintf("SELECT \"%w\".\"%w\", "
      "\"%w\".\"%w\" FROM %s ORDER BY 1, \"%w\".\"%w\", 2", c->zRatings,
      c->zUser, c->zRatings, c->zMovie, zFrom, c->zRatings, c->zTime);
  const char *zPrev;
  i64 nRow = 0, k;
  int rc = zSql ? SQLITE_OK : SQLITE_NOMEM;
  int uPrev = -1, iPos = 0;
  sqlite3_free(zFrom);
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  for(k=0; k<pR->nRating; k++) aAge[k] = -1;
  zPrev = mlrecReading(p, "the ratings table");
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    int u = mlrecFindId(pR->aUserId, pR->nUser,
                        sqlite3_column_int64(pStmt, 0));
    int i = mlrecFindId(pR->aItemId, pR->nItem,
                        sqlite3_column_int64(pStmt, 1));
    i64 lo, hi;
    rc = SQLITE_OK;
    if( u<0 || i<0 ){
      rc = SQLITE_ABORT;
      break;
    }
    if( u!=uPrev ){
      uPrev = u;
      iPos = 0;
    }
    /* the user's ratings are sorted by movie: a binary search */
    lo = pR->aUserStart[u];
    hi = pR->aUserStart[u+1];
    while( lo<hi ){
      i64 mid = (lo+hi)/2;
      if( pR->aUserItem[mid]<i ) lo = mid+1; else hi = mid;
    }
    if( lo>=pR->aUserStart[u+1] || pR->aUserItem[lo]!=i || aAge[lo]>=0 ){
      rc = SQLITE_ABORT;
      break;
    }
    aAge[lo] = (int)(pR->aUserStart[u+1] - pR->aUserStart[u]) - 1 - iPos++;
    nRow++;
  }
  mlrecReading(p, zPrev);
  if( rc==SQLITE_DONE ) rc = nRow==pR->nRating ? SQLITE_OK : SQLITE_ABORT;
  if( rc==SQLITE_ABORT ){
    mlrecSetError(pzErr, "audience: the ratings table changed while it was "
                  "read; try again");
  }else if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && rc!=SQLITE_INTERRUPT ){
    mlrecSetError(pzErr, "audience: reading the ratings in time order: %s",
                  sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Build into *ppOut the user factors of every user of snapshot pR under
** ranking model r: each user folded in from all the user's ratings, on the
** connection's threads, with recent ratings weighing more as in
** recommend() if r was trained with times.
*/
static int audienceBuild(MlrecState *p, MlrecRanker *r, MlrecRatings *pR,
                         MlrecAudience **ppOut, char **pzErr){
  int f = r->nFactor, nWorker, i, rc = SQLITE_OK;
  i64 u, nMax = 1;
  MlrecAudience *a = sqlite3_malloc64(sizeof(*a));
  MlrecInterrupt intr;
  FoldJob job;
  *ppOut = 0;
  if( a==0 ) return SQLITE_NOMEM;
  memset(a, 0, sizeof(*a));
  memset(&job, 0, sizeof(job));
  a->nRef = 1;
  mlrecRankerRef(a->pRanker = r);
  a->pRatings = pR;
  pR->nRef++;
  a->stamp = p->ratingsStamp;
  a->nUser = pR->nUser;
  a->nFactor = f;
  for(u=0; u<pR->nUser; u++){
    i64 n = pR->aUserStart[u+1] - pR->aUserStart[u];
    if( n>nMax ) nMax = n;
  }
  nWorker = mlrecPoolReserve(p, mlrecOnlineCores());
  a->aX = sqlite3_malloc64(sizeof(float)*((i64)pR->nUser*f+1));
  a->aGram = sqlite3_malloc64(sizeof(double)*(i64)f*f);
  job.aItemOf = sqlite3_malloc64(sizeof(int)*((i64)pR->nItem+1));
  job.aWork = sqlite3_malloc64(sizeof(double)*(i64)nWorker*((i64)f*f+f));
  job.aItem = sqlite3_malloc64(sizeof(int)*(i64)nWorker*nMax);
  job.aConf = sqlite3_malloc64(sizeof(double)*(i64)nWorker*nMax);
  if( r->bTimed ){
    job.aAge = sqlite3_malloc64(sizeof(int)*(pR->nRating+1));
    if( job.aAge==0 ) rc = SQLITE_NOMEM;
  }
  if( !a->aX || !a->aGram || !job.aItemOf || !job.aWork || !job.aItem
   || !job.aConf ){
    rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK && job.aAge ){
    rc = readAges(p, pR, (int*)job.aAge, pzErr);
  }
  if( rc==SQLITE_OK ){
    for(i=0; i<pR->nItem; i++){
      ((int*)job.aItemOf)[i] = mlrecFindId(r->aItemId, r->nItem,
                                           pR->aItemId[i]);
    }
    job.r = r;
    job.pR = pR;
    job.aX = a->aX;
    job.nMaxHist = (int)nMax;
    rc = mlrecInterruptBegin(p->db, &intr);
    if( rc==SQLITE_OK ){
      rc = mlrecParallelRun(p, &intr, nWorker,
                            (pR->nUser+FOLD_ROWS-1)/FOLD_ROWS, foldTask,
                            &job, 0);
      mlrecInterruptEnd(&intr);
    }
    if( rc==SQLITE_ERROR ){
      mlrecSetError(pzErr, "audience: cannot fold the users in (the "
                    "ranking model's factors overflow); train it again");
    }
  }
  if( rc==SQLITE_OK ){
    memset(a->aGram, 0, sizeof(double)*(i64)f*f);
    for(u=0; u<pR->nUser; u++) mlrecAddOuter(a->aGram, f, 1.0, a->aX+u*f);
  }
  sqlite3_free((int*)job.aItemOf);
  sqlite3_free(job.aWork);
  sqlite3_free(job.aItem);
  sqlite3_free(job.aConf);
  sqlite3_free((int*)job.aAge);
  if( rc!=SQLITE_OK ){
    audienceUnref(a);
    return rc;
  }
  *ppOut = a;
  return SQLITE_OK;
}

/*
** Fold a movie the model was not trained on in from its raters (snapshot
** movie index iItem) against the user factors of a, into aY (nFactor):
** the movie side of an ALS iteration.  aL is work space of nFactor^2,
** aConf of one double per rater.
*/
static int foldMovie(const MlrecAudience *a, int iItem, double *aL,
                     double *aConf, double *aY){
  const MlrecRatings *pR = a->pRatings;
  i64 k0 = pR->aItemStart[iItem], k;
  for(k=k0; k<pR->aItemStart[iItem+1]; k++){
    aConf[k-k0] = mlrecIalsConfidence(a->pRanker, mlrecItemRating(pR, k));
  }
  return mlrecIalsSolve(a->pRanker, a->aGram, a->aX, (int)(k-k0),
                        pR->aItemUser + k0, aConf, aL, aY);
}

/* What one audience() statement keeps between its calls. */
typedef struct AudienceWork AudienceWork;
struct AudienceWork {
  MlrecAudience *pAud;     /* the model, snapshot and user factors */
  double *aL, *aY;         /* a movie's fold-in and factors, nFactor^2+f */
  double *aConf;           /* nUser: its raters' confidences minus one */
  float *aYf;              /* its factors as floats */
  unsigned char *aRater;   /* nUser: rated the movie */
};

static void audienceFreeWork(void *pWork){
  AudienceWork *w = (AudienceWork*)pWork;
  audienceUnref(w->pAud);
  sqlite3_free(w->aL);
  sqlite3_free(w->aYf);
  sqlite3_free(w->aRater);
  sqlite3_free(w);
}

/*
** Take the statement's user factors into w, at its first row: those kept
** in the state if they are of the current ranking model and snapshot, else
** new ones, which the state keeps in their place.
*/
static int audienceOpen(MlrecTvfCursor *pCur, AudienceWork *w, char **pzErr){
  MlrecState *p = pCur->pState;
  MlrecRanker *r = 0;
  MlrecRatings *pR = 0;
  MlrecAudience *a;
  int f, bPin = 0, rc = mlrecCurrentRanker(p, &r, pzErr);
  /* the snapshot and the times of the ratings from one read transaction */
  if( rc==SQLITE_OK ){
    rc = mlrecReadPin(p, pzErr);
    bPin = rc==SQLITE_OK;
  }
  if( rc==SQLITE_OK ) rc = mlrecTvfRatings(pCur, &pR, pzErr);
  if( rc!=SQLITE_OK ){
    if( bPin ) mlrecReadUnpin(p);
    mlrecRankerUnref(r);
    return rc;
  }
  /* the state's cache is read only now, after every call that ran SQL */
  a = p->pAudience;
  if( audienceHolds(a, p, r, pR) ){
    a->nRef++;
  }else{
    rc = audienceBuild(p, r, pR, &a, pzErr);
    if( rc==SQLITE_OK ){
      audienceUnref(p->pAudience);
      p->pAudience = a;
      a->nRef++;
    }
  }
  mlrecReadUnpin(p);
  mlrecRankerUnref(r);
  if( rc!=SQLITE_OK ) return rc;
  /* w takes a only with its work space: a failure leaves w as it was */
  f = a->nFactor;
  w->aL = sqlite3_malloc64(sizeof(double)*((i64)f*f+f+a->nUser));
  w->aYf = sqlite3_malloc64(sizeof(float)*(i64)f);
  w->aRater = sqlite3_malloc64((i64)a->nUser+1);
  if( !w->aL || !w->aYf || !w->aRater ){
    sqlite3_free(w->aL);
    sqlite3_free(w->aYf);
    sqlite3_free(w->aRater);
    w->aL = 0;
    w->aYf = 0;
    w->aRater = 0;
    audienceUnref(a);
    return SQLITE_NOMEM;
  }
  w->aY = w->aL + (i64)f*f;
  w->aConf = w->aY + f;
  w->pAud = a;
  return SQLITE_OK;
}

static int audienceCompute(MlrecTvfCursor *pCur, char **pzErr){
  AudienceWork *w = (AudienceWork*)pCur->pWork;
  AudienceOptions opt;
  const MlrecAudience *a;
  const MlrecRatings *pR;
  const float *y;
  MlrecTopK top;
  int iModel, iItem, u, f, rc;
  i64 k;
  rc = mlrecOptionsDefault(aAudienceOption, N_AUDIENCE_OPTION, &opt);
  if( rc==SQLITE_OK ){
    rc = mlrecParseOptions(pCur->pState->db, "audience", pCur->pOptions,
                           aAudienceOption, N_AUDIENCE_OPTION, &opt, pzErr);
  }
  if( rc!=SQLITE_OK ) return rc;
  if( w==0 ){
    pCur->pWork = w = sqlite3_malloc64(sizeof(*w));
    if( w==0 ) return SQLITE_NOMEM;
    memset(w, 0, sizeof(*w));
  }
  if( w->pAud==0 ){
    rc = audienceOpen(pCur, w, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
  a = w->pAud;
  pR = a->pRatings;
  f = a->nFactor;
  iModel = mlrecFindId(a->pRanker->aItemId, a->pRanker->nItem, pCur->iArg);
  iItem = mlrecFindId(pR->aItemId, pR->nItem, pCur->iArg);
  if( iModel<0 && iItem<0 ){
    mlrecSetError(pzErr, "audience: movie %lld has no ratings and the "
                  "ranking model does not know it", pCur->iArg);
    return SQLITE_ERROR;
  }
  if( iModel>=0 ){
    y = a->pRanker->aItemFactor + (i64)iModel*f;
  }else{
    int d;
    if( foldMovie(a, iItem, w->aL, w->aConf, w->aY) ){
      mlrecSetError(pzErr, "audience: cannot fold movie %lld in (the "
                    "ranking model's factors overflow); train it again",
                    pCur->iArg);
      return SQLITE_ERROR;
    }
    for(d=0; d<f; d++) w->aYf[d] = (float)w->aY[d];
    y = w->aYf;
  }
  memset(w->aRater, 0, (size_t)a->nUser);
  if( iItem>=0 ){
    i64 j;
    for(j=pR->aItemStart[iItem]; j<pR->aItemStart[iItem+1]; j++){
      w->aRater[pR->aItemUser[j]] = 1;
    }
  }
  k = pCur->k < a->nUser ? pCur->k : a->nUser;
  rc = mlrecTopKInit(&top, (int)k);
  for(u=0; rc==SQLITE_OK && u<a->nUser; u++){
    i64 n = pR->aUserStart[u+1] - pR->aUserStart[u];
    double s;
    if( w->aRater[u] || n<opt.nMinRatings ) continue;
    s = mlrecDot(a->aX + (i64)u*f, y, f);
    s = s>0.0 ? s*sqrt((double)n) : 0.0;
    if( !isfinite(s) ){
      mlrecSetError(pzErr, "audience: the score of user %lld is not a "
                    "finite number (the ranking model's factors overflow); "
                    "train it again", pR->aUserId[u]);
      rc = SQLITE_ERROR;
      break;
    }
    if( top.n==top.k && (top.k==0 || s<top.a[0].key) ) continue;
    mlrecTopKPush(&top, s, s, u);
  }
  if( rc==SQLITE_OK ){
    mlrecTopKSort(&top);
    rc = mlrecTvfSetRows(pCur, &top, pR->aUserId);
  }
  mlrecTopKFree(&top);
  return rc;
}

static const MlrecTvf audienceTvf = {
  "audience", "movie_id", "userId", { 0 }, "260, 10",
  audienceCompute, audienceFreeWork
};

int mlrecRegisterAudience(sqlite3 *db, MlrecState *p){
  return mlrecRegisterTvfK(db, p, &audienceTvf, AUDIENCE_MAX_K);
}
