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
** by alternating exact least-squares solves: with Y fixed, each user's
** factors are the solution of
**
**     (Y'Y + sum over rated i of (c-1) y(i) y(i)' + lambda I) x = sum c y(i)
**
** and the same for movies with X fixed.  The Y'Y trick makes a solve cost
** O(ratings x factors^2), not O(movies x factors^2).  Only the movie
** factors are kept: a user is "folded in" by the same solve at query time,
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

/* Y'Y (lower triangle) of the n rows of f factors in aY. */
static int gramOf(MlrecInterrupt *pIntr, const float *aY, int n, int f,
                  double *aG){
  int i, rc = SQLITE_OK;
  memset(aG, 0, sizeof(double)*f*f);
  for(i=0; rc==SQLITE_OK && i<n; i++){
    mlrecAddOuter(aG, f, 1.0, aY + (i64)i*f);
    rc = mlrecInterruptedEvery(pIntr, i+1);
  }
  return rc;
}

/*
** Solve  (G + lambda I + sum aConf[t] y y') x = sum (1 + aConf[t]) y  over
** the n movies aItem[t] (-1 entries are skipped) into aX, leaving the
** Cholesky factor in aL.  G is the Gram matrix of the factors aY.
*/
static int solveOne(const double *aG, const float *aY, int f, double lambda,
                    int n, const int *aItem, const float *aRating,
                    const double *aConf, const MlrecRanker *r,
                    double *aL, double *aX){
  int t, d;
  memcpy(aL, aG, sizeof(double)*f*f);
  for(d=0; d<f; d++){
    aL[(i64)d*f+d] += lambda;
    aX[d] = 0.0;
  }
  for(t=0; t<n; t++){
    const float *y;
    double c;
    if( aItem[t]<0 ) continue;
    y = aY + (i64)aItem[t]*f;
    c = aConf ? aConf[t] : mlrecIalsConfidence(r, aRating[t]);
    mlrecAddOuter(aL, f, c, y);
    for(d=0; d<f; d++) aX[d] += (1.0+c)*y[d];
  }
  if( mlrecCholesky(aL, f)!=SQLITE_OK ) return SQLITE_ERROR;
  mlrecCholeskySolve(aL, f, aX);
  return SQLITE_OK;
}

/* What the solves of one half-iteration share: a task is SOLVE_ROWS rows. */
typedef struct SolveJob SolveJob;
struct SolveJob {
  const MlrecRanker *r;
  int nRow;                  /* the rows of a CSR, solved ... */
  const i64 *aStart;
  const int *aIdx;
  const float *aVal;
  const float *aOther;       /* ... against these fixed factors */
  const double *aG;          /* their Gram matrix */
  float *aOut;               /* nRow x factors */
  double *aWork;             /* per worker: a Cholesky factor and a solution */
};
#define SOLVE_ROWS 64

static int solveTask(void *pCtx, MlrecWorker *pWorker, i64 iTask){
  const SolveJob *j = (const SolveJob*)pCtx;
  int f = j->r->nFactor, d;
  double *aL = j->aWork + (i64)pWorker->iWorker*(f*f+f), *aX = aL + f*f;
  i64 u, uEnd = (iTask+1)*SOLVE_ROWS < j->nRow ? (iTask+1)*SOLVE_ROWS : j->nRow;
  for(u=iTask*SOLVE_ROWS; u<uEnd; u++){
    i64 k0 = j->aStart[u];
    int n = (int)(j->aStart[u+1]-k0);
    /* units of about a thousand multiply-adds: the outer products and the
    ** Cholesky factorisation */
    if( mlrecWorkerStop(pWorker, 1 + ((i64)n*f*f/2 + (i64)f*f*f/6)/1000) ){
      return SQLITE_INTERRUPT;
    }
    if( solveOne(j->aG, j->aOther, f, j->r->opt.regularization, n,
                 j->aIdx+k0, j->aVal+k0, 0, j->r, aL, aX) ){
      return SQLITE_ERROR;
    }
    for(d=0; d<f; d++) j->aOut[u*f+d] = (float)aX[d];
  }
  return SQLITE_OK;
}

/* What the half-iterations of a training run share. */
typedef struct IalsRun IalsRun;
struct IalsRun {
  MlrecState *p;             /* the connection, whose pool runs the solves */
  MlrecInterrupt intr;
  int nWorker;               /* workers of the pool's jobs */
  const MlrecRanker *r;
  double *aWork;             /* a Gram matrix, then nWorker solves */
};

/*
** One half-iteration: the nRow rows of a CSR (aStart, aIdx, aVal) solved
** against the fixed factors aOther (nOther rows) into aOut, SOLVE_ROWS rows
** a task on the pool.
*/
static int solveSide(IalsRun *pRun, int nRow, const i64 *aStart,
                     const int *aIdx, const float *aVal, const float *aOther,
                     int nOther, float *aOut, char **pzErr){
  int f = pRun->r->nFactor;
  SolveJob job;
  int rc = gramOf(&pRun->intr, aOther, nOther, f, pRun->aWork);
  job.r = pRun->r;
  job.nRow = nRow;
  job.aStart = aStart;
  job.aIdx = aIdx;
  job.aVal = aVal;
  job.aOther = aOther;
  job.aG = pRun->aWork;
  job.aOut = aOut;
  job.aWork = pRun->aWork + (i64)f*f;
  if( rc==SQLITE_OK ){
    rc = mlrecParallelRun(pRun->p, &pRun->intr, pRun->nWorker,
                          (nRow+SOLVE_ROWS-1)/SOLVE_ROWS, solveTask, &job,
                          0);
  }
  if( rc==SQLITE_ERROR ){
    mlrecSetError(pzErr, "train_ranker: the least-squares system is "
                  "singular (the factors overflowed); use a larger "
                  "regularization");
  }
  return rc;
}

/*
** Train the movie factors of r on snapshot pR, on up to nThread threads of
** the pool of p: r->aItemFactor and its Gram matrix r->aGram.  The same for
** a given seed whatever the threads.
*/
int mlrecIalsTrain(MlrecState *p, const MlrecRatings *pR, MlrecRanker *r,
                   int nThread, char **pzErr){
  int f = r->nFactor;
  float *aUser = sqlite3_malloc64(sizeof(float)*((i64)pR->nUser*f+1));
  IalsRun run;
  i64 k, iIter;
  int rc;
  run.p = p;
  run.r = r;
  run.nWorker = mlrecPoolReserve(p, nThread);
  run.aWork = sqlite3_malloc64(sizeof(double)
                               *((i64)f*f + (i64)run.nWorker*(f*f+f)));
  r->aItemFactor = sqlite3_malloc64(sizeof(float)*((i64)pR->nItem*f+1));
  r->aGram = sqlite3_malloc64(sizeof(double)*(i64)f*f);
  if( !aUser || !run.aWork || !r->aItemFactor || !r->aGram ){
    sqlite3_free(aUser);
    sqlite3_free(run.aWork);
    return SQLITE_NOMEM;
  }
  /* Small uniform factors with standard deviation 0.01. */
  for(k=0; k<(i64)pR->nItem*f; k++){
    r->aItemFactor[k] = (float)(0.0346*(mlrecSplitHash(k, 0, r->opt.seed)-0.5));
  }
  rc = mlrecInterruptBegin(p->db, &run.intr);
  for(iIter=0; rc==SQLITE_OK && iIter<r->opt.nIter; iIter++){
    rc = solveSide(&run, pR->nUser, pR->aUserStart, pR->aUserItem,
                   pR->aUserValue, r->aItemFactor, pR->nItem, aUser, pzErr);
    if( rc==SQLITE_OK ){
      rc = solveSide(&run, pR->nItem, pR->aItemStart, pR->aItemUser,
                     pR->aItemValue, aUser, pR->nUser, r->aItemFactor,
                     pzErr);
    }
  }
  if( rc==SQLITE_OK ){
    rc = gramOf(&run.intr, r->aItemFactor, pR->nItem, f, r->aGram);
  }
  mlrecInterruptEnd(&run.intr);
  sqlite3_free(aUser);
  sqlite3_free(run.aWork);
  return rc;
}

/*
** Fold a user in: the factors aX of a user who rated the n movies aItem
** (indexes of r, -1 for movies r does not know) with confidences minus
** one aConf.  aL receives the Cholesky factor, for mlrecIalsExplain().
*/
int mlrecIalsFoldIn(const MlrecRanker *r, int n, const int *aItem,
                    const double *aConf, double *aL, double *aX){
  return solveOne(r->aGram, r->aItemFactor, r->nFactor,
                  r->opt.regularization, n, aItem, 0, aConf, r, aL, aX);
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
