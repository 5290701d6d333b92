/*
** ials.c: implicit-feedback alternating least squares (Hu, Koren and
** Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", 2008),
** the factor part of the ranking model behind recommend().
**
** Every (user, movie) pair is a preference: 1 if the user rated the movie,
** 0 if not.  A rating is a positive whatever its value, but the confidence
** in it grows with the value:
**
**     c(u,i) = 1 + alpha * x^2,    x = (rating - min) / (max - min)
**
** (x = 1 on a scale of one value, e.g. a table of "likes").  Unrated pairs
** have confidence 1.  User factors X and movie factors Y minimise
**
**     sum over all pairs  c(u,i) (p(u,i) - x(u) . y(i))^2
**       + regularization (|X|^2 + |Y|^2)
**
** by alternating least squares: with Y fixed, each user's factors are the
** solution of
**
**     (Y'Y + sum over rated i of (c-1) y(i) y(i)' + lambda I) x = sum c y(i)
**
** and the same for movies with X fixed.  The Y'Y trick makes a solve cost
** O(ratings x factors^2), not O(movies x factors^2); training approximates
** each solve by a few steps of conjugate gradient (below).  Only the movie
** factors are kept: a user is "folded in" by an exact solve at query time,
** from the ratings the user has then, so a new user or a new rating counts
** at once, without retraining.
*/
#include "ranking.h"
#include <math.h>
#include <string.h>

/* Confidence minus one of a rating: alpha * x^2. */
double mlrecIalsConfidence(const MlrecRanker *r, double rating){
  double x = r->rMax>r->rMin ? (rating - r->rMin)/(r->rMax - r->rMin) : 1.0;
  return r->opt.alpha*x*x;
}

/*
** Solve exactly  (G + lambda I + sum aConf[t] y y') x = sum (1 + aConf[t]) y
** over the n rows aIdx[t] of the factors aY (-1 entries are skipped) into
** aX, leaving the Cholesky factor in aL: one row of an ALS iteration of
** model r (its factors and regularization).  G is the Gram matrix of aY.
*/
int mlrecIalsSolve(const MlrecRanker *r, const double *aG, const float *aY,
                   int n, const int *aIdx, const double *aConf, double *aL,
                   double *aX){
  int f = r->nFactor, t, d;
  memcpy(aL, aG, sizeof(double)*f*f);
  for(d=0; d<f; d++){
    aL[(i64)d*f+d] += r->opt.regularization;
    aX[d] = 0.0;
  }
  for(t=0; t<n; t++){
    const float *y;
    if( aIdx[t]<0 ) continue;
    y = aY + (i64)aIdx[t]*f;
    mlrecAddOuter(aL, f, aConf[t], y);
    for(d=0; d<f; d++) aX[d] += (1.0+aConf[t])*y[d];
  }
  if( mlrecCholesky(aL, f)!=SQLITE_OK ) return SQLITE_ERROR;
  mlrecCholeskySolve(aL, f, aX);
  return SQLITE_OK;
}

/*
** Training solves each row by a few steps of conjugate gradient in floats,
** started from the row's factors of the previous iteration (the method of
** Takacs, Pilaszy and Tikk, 2011, and of the implicit library), instead of
** a Cholesky factorisation: a step costs 2 x factors multiply-adds per
** rating and factors^2 per row, against factors^2 / 2 per rating and
** factors^3 / 6 per row for the exact solve.  The rows change little from
** one iteration to the next, so a few steps keep them close to the exact
** solution.  The Gram matrix G + lambda I is held in floats, full square.
*/
#define CG_STEPS 3
#define CG_AHEAD 8      /* rows fetched ahead of the one used, in a pass */

/* Ask for the row of the rating CG_AHEAD after t, of the n rows aIdx of
** aOther (f floats each): the rows are scattered, and each pass over them
** would otherwise wait for memory at every one. */
static void prefetchRow(const float *aOther, int f, int n, const int *aIdx,
                        int t){
  if( t+CG_AHEAD<n ){
    const char *z = (const char*)(aOther + (i64)aIdx[t+CG_AHEAD]*f);
    int b;
    for(b=0; b<f*(int)sizeof(float); b+=64) __builtin_prefetch(z+b);
  }
}

/* y += a x over n floats, four lanes at a time. */
static inline void axpy(float *y, float a, const float *x, int n){
  MlrecVec4 va = {a, a, a, a}, vx, vy;
  int d;
  for(d=0; d+MLREC_LANES<=n; d+=MLREC_LANES){
    mlrecLoad4(&vx, x+d);
    mlrecLoad4(&vy, y+d);
    vy += va*vx;
    mlrecStore4(y+d, &vy);
  }
  for(; d<n; d++) y[d] += a*x[d];
}

/* y = x over n floats, four lanes at a time (a call of memcpy per row
** costs as much as the copy). */
static inline void copyRow(float *y, const float *x, int n){
  MlrecVec4 v;
  int d;
  for(d=0; d+MLREC_LANES<=n; d+=MLREC_LANES){
    mlrecLoad4(&v, x+d);
    mlrecStore4(y+d, &v);
  }
  for(; d<n; d++) y[d] = x[d];
}

/* What the solves of one half-iteration share: a task is SOLVE_ROWS rows. */
typedef struct SolveJob SolveJob;
struct SolveJob {
  int nFactor;
  float rConfFlat;           /* confidence minus one = rConfFlat */
  float rConfScale;          /* + rConfScale x (rating - rMin)^2 */
  float rMin;
  int nRow;                  /* the rows of a CSR, solved ... */
  const i64 *aStart;
  const int *aIdx;
  const float *aVal;         /* the ratings, or NULL: ... */
  const signed char *aHalf;  /* ... 2 x the ratings */
  const float *aOther;       /* ... against these fixed factors */
  const float *aG;           /* their Gram matrix plus lambda I, full */
  float *aOut;               /* nRow x factors, the previous iteration's */
  int nGather;               /* rated rows a solve gathers, at most */
  float *aWork;              /* per worker: 3 x factors, then nGather
                             ** confidences and nGather x factors */
};
#define SOLVE_ROWS 64
#define CG_GATHER_BYTES (4<<20)   /* most work space of a worker's gather */

/* Floats of a worker's work space, for f factors and nGather rows. */
static i64 workFloats(int f, int nGather){
  return 3*(i64)f + (i64)nGather*(f+1);
}

/* Rows a solve gathers: the longest row of either side, within
** CG_GATHER_BYTES. */
static int gatherRows(const MlrecRatings *pR, int f){
  i64 nMost = CG_GATHER_BYTES/(sizeof(float)*(f+1)), nLong = 1;
  int u;
  for(u=0; u<pR->nUser; u++){
    i64 n = pR->aUserStart[u+1] - pR->aUserStart[u];
    if( n>nLong ) nLong = n;
  }
  for(u=0; u<pR->nItem; u++){
    i64 n = pR->aItemStart[u+1] - pR->aItemStart[u];
    if( n>nLong ) nLong = n;
  }
  return (int)(nLong<nMost ? nLong : nMost);
}

/* aOut = aG x, aG the f x f matrix of the job. */
static void gramTimes(const SolveJob *j, const float *x, float *aOut){
  int f = j->nFactor, d;
  for(d=0; d<f; d++) aOut[d] = mlrecDot(j->aG + (i64)d*f, x, f);
}

/*
** The rated rows of one solve, and their confidences minus one: the first
** nGather gathered into work space by the first pass over them, so that the
** passes of the CG steps read them in a row, not scattered over the other
** side's factors.
*/
typedef struct RatedRows RatedRows;
struct RatedRows {
  int n;
  const int *aIdx;           /* rows of the job's aOther */
  const float *aVal;         /* ratings, or NULL: ... */
  const signed char *aHalf;  /* ... 2 x the ratings */
  int nGather;               /* rows gathered in aRow, and aConf */
  float *aRow;               /* nGather x factors */
  float *aConf;
};

/* Row t of p and its confidence minus one into *pc, in a later pass. */
static const float *ratedRow(const SolveJob *j, const RatedRows *p, int t,
                             float *pc){
  int f = j->nFactor;
  if( t<p->nGather ){
    *pc = p->aConf[t];
    return p->aRow + (i64)t*f;
  }else{
    float v = mlrecRatingAt(p->aVal, p->aHalf, t) - j->rMin;
    *pc = j->rConfFlat + j->rConfScale*v*v;
    prefetchRow(j->aOther, f, p->n, p->aIdx, t);
    return j->aOther + (i64)p->aIdx[t]*f;
  }
}

/* aAp += sum over the rated rows y of c y (y . p): the rated part of A p. */
static void ratedTimes(const SolveJob *j, const RatedRows *pRated,
                       const float *p, float *aAp){
  int f = j->nFactor, t;
  if( pRated->nGather<pRated->n ){
    prefetchRow(j->aOther, f, pRated->n, pRated->aIdx,
                pRated->nGather - CG_AHEAD);
  }
  for(t=0; t<pRated->n; t++){
    float c;
    const float *y = ratedRow(j, pRated, t, &c);
    axpy(aAp, c*mlrecDot(y, p, f), y, f);
  }
}

/*
** r = b - A x for a row whose rated rows are pRated: the first pass over
** them, which gathers the first pRated->nGather.
*/
static void residual(const SolveJob *j, RatedRows *pRated, const float *x,
                     float *r){
  int f = j->nFactor, t, d;
  gramTimes(j, x, r);
  for(d=0; d<f; d++) r[d] = -r[d];
  for(t=0; t<pRated->n; t++){
    const float *y = j->aOther + (i64)pRated->aIdx[t]*f;
    float v = mlrecRatingAt(pRated->aVal, pRated->aHalf, t) - j->rMin;
    float c = j->rConfFlat + j->rConfScale*v*v;
    prefetchRow(j->aOther, f, pRated->n, pRated->aIdx, t);
    if( t<pRated->nGather ){
      float *g = pRated->aRow + (i64)t*f;
      copyRow(g, y, f);
      pRated->aConf[t] = c;
      y = g;
    }
    axpy(r, 1.0f + c - c*mlrecDot(y, x, f), y, f);
  }
}

/*
** Improve x, the factors of a row that rated the n rows aIdx of aOther
** with ratings aVal (or 2 x ratings aHalf), by CG_STEPS steps of conjugate
** gradient towards the solution of (G + lambda I + sum c y y') x =
** sum (1 + c) y.  aWork is the worker's work space (SolveJob).  Returns
** SQLITE_ERROR if x is not finite.
*/
static int solveRow(const SolveJob *j, int n, const int *aIdx,
                    const float *aVal, const signed char *aHalf, float *x,
                    float *aWork){
  int f = j->nFactor, d, s;
  float *r = aWork, *p = r + f, *ap = p + f;
  float rsOld, rsNew;
  RatedRows rated;
  rated.n = n;
  rated.aIdx = aIdx;
  rated.aVal = aVal;
  rated.aHalf = aHalf;
  rated.nGather = n<j->nGather ? n : j->nGather;
  rated.aConf = ap + f;
  rated.aRow = rated.aConf + j->nGather;
  residual(j, &rated, x, r);
  memcpy(p, r, sizeof(float)*f);
  rsOld = mlrecDot(r, r, f);
  for(s=0; s<CG_STEPS && rsOld>1e-20f; s++){
    float pAp, a;
    gramTimes(j, p, ap);
    ratedTimes(j, &rated, p, ap);
    pAp = mlrecDot(p, ap, f);
    if( !(pAp>0.0f) ) break;
    a = rsOld/pAp;
    axpy(x, a, p, f);
    axpy(r, -a, ap, f);
    rsNew = mlrecDot(r, r, f);
    for(d=0; d<f; d++) p[d] = r[d] + (rsNew/rsOld)*p[d];
    rsOld = rsNew;
  }
  for(d=0; d<f; d++){
    if( !isfinite(x[d]) ) return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static int solveTask(void *pCtx, MlrecWorker *pWorker, i64 iTask){
  const SolveJob *j = (const SolveJob*)pCtx;
  int f = j->nFactor;
  float *aWork = j->aWork + (i64)pWorker->iWorker*workFloats(f, j->nGather);
  i64 u, uEnd = (iTask+1)*SOLVE_ROWS < j->nRow ? (iTask+1)*SOLVE_ROWS : j->nRow;
  for(u=iTask*SOLVE_ROWS; u<uEnd; u++){
    i64 k0 = j->aStart[u];
    int n = (int)(j->aStart[u+1]-k0);
    /* units of about a thousand multiply-adds: per step, two passes over
    ** the ratings and a product with the Gram matrix */
    if( mlrecWorkerStop(pWorker,
                        1 + (CG_STEPS+1)*((i64)n*2*f + (i64)f*f)/1000) ){
      return SQLITE_INTERRUPT;
    }
    if( solveRow(j, n, j->aIdx+k0, j->aVal ? j->aVal+k0 : 0,
                 j->aHalf ? j->aHalf+k0 : 0, j->aOut + u*f, aWork) ){
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

/*
** A training run is one job in stages (core/pool.c): stage 0 is the Gram
** matrix of the movies' starting factors, then each iteration is four
** stages: the users' rows solved, their Gram matrix, the movies' rows
** solved, their Gram matrix.  A Gram matrix is one task, summed in one
** order, and a solve SOLVE_ROWS rows a task: the same bits on any number of
** threads.
*/
#define STAGES_PER_ITERATION 4

/* What the stages of a training run share. */
typedef struct IalsRun IalsRun;
struct IalsRun {
  const MlrecRanker *r;
  SolveJob users;            /* the users' rows against the movies' factors */
  SolveJob items;            /* and the other way round */
  double *aGram;             /* the last Gram matrix, lower triangle */
  float *aG;                 /* the same plus lambda I, full, in floats */
};

/* The solve of stage iStage, or NULL for a Gram matrix. */
static const SolveJob *stageSolve(const IalsRun *pRun, int iStage){
  switch( iStage % STAGES_PER_ITERATION ){
    case 1:  return &pRun->users;
    case 3:  return &pRun->items;
    default: return 0;
  }
}

static i64 stageTasks(void *pCtx, int iStage){
  const SolveJob *j = stageSolve((const IalsRun*)pCtx, iStage);
  return j ? (j->nRow + SOLVE_ROWS - 1)/SOLVE_ROWS : 1;
}

/*
** pRun->aGram = Y'Y (lower triangle) of the n rows of factors aY, and
** pRun->aG the same plus lambda I, full, in floats: what the next solve
** needs.
*/
static int gramTask(IalsRun *pRun, MlrecWorker *pWorker, const float *aY,
                    int n){
  const MlrecRanker *r = pRun->r;
  int f = r->nFactor, i, d, e;
  double *aGram = pRun->aGram;
  memset(aGram, 0, sizeof(double)*f*f);
  for(i=0; i<n; i++){
    if( (i & 63)==0 && mlrecWorkerStop(pWorker, 1 + 64*(i64)f*f/2000) ){
      return SQLITE_INTERRUPT;
    }
    mlrecAddOuter(aGram, f, 1.0, aY + (i64)i*f);
  }
  for(d=0; d<f; d++){
    for(e=0; e<=d; e++){
      pRun->aG[(i64)d*f+e] = pRun->aG[(i64)e*f+d]
        = (float)(aGram[(i64)d*f+e] + (d==e ? r->opt.regularization : 0));
    }
  }
  return SQLITE_OK;
}

static int stageTask(void *pCtx, MlrecWorker *pWorker, int iStage,
                     i64 iTask){
  IalsRun *pRun = (IalsRun*)pCtx;
  const SolveJob *j = stageSolve(pRun, iStage);
  if( j ) return solveTask((void*)j, pWorker, iTask);
  /* the Gram matrix of what the stage before solved: the users' rows
  ** before the movies', the movies' (at first their starting factors)
  ** before the users' */
  j = iStage % STAGES_PER_ITERATION==2 ? &pRun->users : &pRun->items;
  return gramTask(pRun, pWorker, j->aOut, j->nRow);
}

/* The solve of the nRow rows of a CSR (aStart, aIdx, and aVal or aHalf)
** against the fixed factors aOther into aOut. */
static void initSolve(SolveJob *j, const IalsRun *pRun, int nRow,
                      const i64 *aStart, const int *aIdx, const float *aVal,
                      const signed char *aHalf, const float *aOther,
                      float *aOut){
  const MlrecRanker *r = pRun->r;
  double rRange = r->rMax - r->rMin;
  j->nFactor = r->nFactor;
  /* mlrecIalsConfidence() in floats: alpha on a scale of one value */
  j->rConfFlat = (float)(rRange>0.0 ? 0.0 : r->opt.alpha);
  j->rConfScale = (float)(rRange>0.0 ? r->opt.alpha/(rRange*rRange) : 0.0);
  j->rMin = (float)r->rMin;
  j->nRow = nRow;
  j->aStart = aStart;
  j->aIdx = aIdx;
  j->aVal = aVal;
  j->aHalf = aHalf;
  j->aOther = aOther;
  j->aG = pRun->aG;
  j->aOut = aOut;
}

/*
** Train the movie factors of r on snapshot pR, on up to nThread threads of
** the pool of p: r->aItemFactor and its Gram matrix r->aGram.  The same for
** a given seed whatever the threads.  xFirst(pFirstCtx), if not NULL, runs
** on the calling thread first, while the helpers start training.
*/
int mlrecIalsTrain(MlrecState *p, const MlrecRatings *pR, MlrecRanker *r,
                   int nThread, int (*xFirst)(void*), void *pFirstCtx,
                   char **pzErr){
  int f = r->nFactor;
  int nWorker = mlrecPoolReserve(p, nThread);
  int nGather = gatherRows(pR, f);
  float *aUser = sqlite3_malloc64(sizeof(float)*((i64)pR->nUser*f+1));
  float *aWork = sqlite3_malloc64(sizeof(float)*nWorker
                                  *workFloats(f, nGather));
  MlrecInterrupt intr;
  MlrecStages stages;
  IalsRun run;
  i64 k;
  int rc = SQLITE_OK;
  memset(&run, 0, sizeof(run));
  run.r = r;
  run.aGram = sqlite3_malloc64(sizeof(double)*(i64)f*f);
  run.aG = sqlite3_malloc64(sizeof(float)*(i64)f*f);
  r->aItemFactor = sqlite3_malloc64(sizeof(float)*((i64)pR->nItem*f+1));
  r->aGram = sqlite3_malloc64(sizeof(double)*(i64)f*f);
  if( !aUser || !aWork || !run.aGram || !run.aG || !r->aItemFactor
   || !r->aGram ){
    rc = SQLITE_NOMEM;
    goto ials_out;
  }
  /* Small uniform factors with standard deviation 0.01 for the movies;
  ** the users' start from zero. */
  for(k=0; k<(i64)pR->nItem*f; k++){
    r->aItemFactor[k] = (float)(0.0346*(mlrecSplitHash(k, 0, r->opt.seed)-0.5));
  }
  memset(aUser, 0, sizeof(float)*(i64)pR->nUser*f);
  initSolve(&run.users, &run, pR->nUser, pR->aUserStart, pR->aUserItem,
            pR->aUserValue, pR->aUserHalf, r->aItemFactor, aUser);
  initSolve(&run.items, &run, pR->nItem, pR->aItemStart, pR->aItemUser,
            pR->aItemValue, pR->aItemHalf, aUser, r->aItemFactor);
  run.users.nGather = run.items.nGather = nGather;
  run.users.aWork = run.items.aWork = aWork;
  stages.nStage = 1 + STAGES_PER_ITERATION*(int)r->opt.nIter;
  stages.xCount = stageTasks;
  stages.xTask = stageTask;
  stages.pCtx = &run;
  stages.xFirst = xFirst;
  stages.pFirstCtx = pFirstCtx;
  rc = mlrecInterruptBegin(p->db, &intr);
  if( rc==SQLITE_OK ) rc = mlrecStagedRun(p, &intr, nWorker, &stages);
  mlrecInterruptEnd(&intr);
  /* the last stage is the Gram matrix of the movies' factors */
  if( rc==SQLITE_OK ) memcpy(r->aGram, run.aGram, sizeof(double)*f*f);
  if( rc==SQLITE_ERROR && *pzErr==0 ){
    mlrecSetError(pzErr, "train_ranker: the least-squares solution is not "
                  "finite (the factors overflowed); use a larger "
                  "regularization");
  }
ials_out:
  sqlite3_free(aUser);
  sqlite3_free(aWork);
  sqlite3_free(run.aGram);
  sqlite3_free(run.aG);
  return rc;
}

/*
** Fold a user in: the factors aX of a user who rated the n movies aItem
** (indexes of r, -1 for movies r does not know) with confidences minus
** one aConf.  aL receives the Cholesky factor, for mlrecIalsExplain().
*/
int mlrecIalsFoldIn(const MlrecRanker *r, int n, const int *aItem,
                    const double *aConf, double *aL, double *aX){
  return mlrecIalsSolve(r, r->aGram, r->aItemFactor, n, aItem, aConf, aL,
                        aX);
}

/*
** Split the folded-in score of movie iItem over the rated movies: the score
** x . y(i) is sum over t of (1 + aConf[t]) y(i)' A^-1 y(aItem[t]).  aV is
** work space of nFactor doubles; aContrib[t] receives each term.
*/
void mlrecIalsExplain(const MlrecRanker *r, const double *aL, int iItem,
                      int n, const int *aItem, const double *aConf,
                      double *aV, double *aContrib){
  int f = r->nFactor, t, d;
  const float *y = r->aItemFactor + (i64)iItem*f;
  for(d=0; d<f; d++) aV[d] = y[d];
  mlrecCholeskySolve(aL, f, aV);
  for(t=0; t<n; t++){
    const float *yt;
    double s = 0.0;
    aContrib[t] = 0.0;
    if( aItem[t]<0 ) continue;
    yt = r->aItemFactor + (i64)aItem[t]*f;
    for(d=0; d<f; d++) s += aV[d]*yt[d];
    aContrib[t] = (1.0+aConf[t])*s;
  }
}
