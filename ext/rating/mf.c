/*
** mf.c: biased matrix factorisation trained by stochastic gradient descent.
**
** The model predicts the rating of user u for movie i as
**
**     r(u,i) = mu + b(u) + b(i) + p(u) . q(i)
**
** with mu the mean rating, b(u) and b(i) biases and p(u), q(i) vectors of
** `factors` latent factors.  Each epoch visits every rating once and moves
** the parameters against the gradient of the squared error plus L2
** penalties:
**
**     e     = r - r(u,i)
**     b(u) += lr * (e - bias_regularization * b(u))        and so for b(i)
**     p(u) += lr * (e q(i) - regularization p(u))          and so for q(i)
**
** Factors start from N(0, init_std^2).  The order of the updates, and the
** threads that run them, are the business of sgd.c: blocks of the rating
** matrix in an order drawn from the seed.  The same seed, options and data
** give the same model, bit for bit, whatever the number of threads.
** Training steps a probe statement every few milliseconds, in every loop
** over the ratings or the parameters, so that sqlite3_interrupt() stops it.
** Around the epochs, monitor.c holds out the validation fraction, keeps the
** training log and stops early.
*/
#include "rating.h"
#include <math.h>
#include <string.h>

#define INIT_CHUNK 65536       /* initial factors drawn between probes */

#define MF(F) .offset=offsetof(MlrecMfOptions, F)
const MlrecOption mlrecMfOptionSpec[] = {
  { "factors",             'i', 1, MLREC_MAX_FACTORS, MF(nFactor), 32 },
  { "epochs",              'i', 1, 10000, MF(nEpoch), 25 },
  { "learning_rate",       'r', 1e-6, 1,  MF(learningRate), 0.02 },
  { "regularization",      'r', 0, 100,   MF(regularization), 0.1 },
  { "bias_regularization", 'r', 0, 100,   MF(biasRegularization), 0.02 },
  { "init_std",            'r', 0, 10,    MF(initStd), 0.1 },
  { "seed",                'i', -9223372036854775808.0, 9223372036854775807.0,
                                          MF(seed), 42 },
  { "threads",             'i', 1, MLREC_MAX_THREADS, MF(nThread),
                                          .mFlags=MLREC_OPT_CORES },
  { "validation",          'r', 0, 0.9,   MF(validation), 0 },
  { "patience",            'i', 0, 10000, MF(patience), 0 },
  /* changes what is printed, not the model: not in the summary */
  { "progress",            'b', 0, 1,     MF(bProgress), 0,
                                          .mFlags=MLREC_OPT_HIDDEN },
  { "knn_weight",          'r', 0, 1,     MF(knnWeight), 0.5 },
  { "neighbors",           'i', 1, 10000, MF(nNeighbour), 40 },
  { "shrinkage",           'r', 0, 1e9,   MF(shrinkage), 100 },
};
const int mlrecMfOptionCount =
  (int)(sizeof(mlrecMfOptionSpec)/sizeof(mlrecMfOptionSpec[0]));

void mlrecMfDefaults(MlrecMfOptions *p){
  mlrecOptionsDefault(mlrecMfOptionSpec, mlrecMfOptionCount, p);
}

/* The options as a JSON object, e.g. for train_mf()'s summary. */
char *mlrecMfOptionsJson(const MlrecMfOptions *p){
  return mlrecOptionsJson(mlrecMfOptionSpec, mlrecMfOptionCount, p);
}

/* Uniform in (0, 1). */
static double nextUniform(u64 *pState){
  return ((double)(mlrecRandom(pState)>>11) + 0.5) * (1.0/9007199254740992.0);
}

/*
** Fill a[n] from N(0, std^2), two values per Box-Muller transform (n even,
** but for the last call on an array).
*/
static void fillNormal(float *a, i64 n, double std, u64 *pState){
  i64 k;
  for(k=0; k<n; k+=2){
    double u1 = nextUniform(pState), u2 = nextUniform(pState);
    double rad = std*sqrt(-2.0*log(u1)), angle = 6.283185307179586*u2;
    a[k] = (float)(rad*cos(angle));
    if( k+1<n ) a[k+1] = (float)(rad*sin(angle));
  }
}

/*
** The scale SGD divides the ratings of pR by: their largest magnitude over
** that of MovieLens' (5), for the defaults were chosen there; 1 for ratings
** of at most 5 (or all 0), so that such data trains exactly as it always
** has (sgd.c, THE SCALE).
*/
static double ratingScale(const MlrecRatings *pR){
  double r = fabs(pR->rMin)>fabs(pR->rMax) ? fabs(pR->rMin) : fabs(pR->rMax);
  return r>5.0 || (r>0.0 && r<1.0) ? r/5.0 : 1.0;
}

/* A model sized for pR, with ids copied and biases zero. */
static MlrecModel *newModel(const MlrecRatings *pR, const MlrecMfOptions *pOpt){
  MlrecModel *p = sqlite3_malloc64(sizeof(*p));
  i64 nF = pOpt->nFactor;
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  mlrecSharedInit(&p->shared);
  p->opt = *pOpt;
  p->nUser = pR->nUser;
  p->nItem = pR->nItem;
  p->nFactor = (int)nF;
  p->aUserId = sqlite3_malloc64(sizeof(i64)*((i64)pR->nUser+1));
  p->aItemId = sqlite3_malloc64(sizeof(i64)*((i64)pR->nItem+1));
  p->aUserBias = sqlite3_malloc64(sizeof(float)*((i64)pR->nUser+1));
  p->aItemBias = sqlite3_malloc64(sizeof(float)*((i64)pR->nItem+1));
  p->aUserFactor = sqlite3_malloc64(sizeof(float)*((i64)pR->nUser*nF+1));
  p->aItemFactor = sqlite3_malloc64(sizeof(float)*((i64)pR->nItem*nF+1));
  if( !p->aUserId || !p->aItemId || !p->aUserBias || !p->aItemBias
   || !p->aUserFactor || !p->aItemFactor ){
    mlrecModelUnref(p);
    return 0;
  }
  memcpy(p->aUserId, pR->aUserId, sizeof(i64)*pR->nUser);
  memcpy(p->aItemId, pR->aItemId, sizeof(i64)*pR->nItem);
  memset(p->aUserBias, 0, sizeof(float)*pR->nUser);
  memset(p->aItemBias, 0, sizeof(float)*pR->nItem);
  p->mu = pR->rMean;
  p->rMin = pR->rMin;
  p->rMax = pR->rMax;
  p->scale = ratingScale(pR);
  p->nRating = pR->nRating;
  p->dataHash = pR->hash;
  return p;
}

/*
** Draw the initial factors of m, users then movies, from N(0, init_std^2)
** in SGD's units (times the square root of the scale in the model's) and
** the seed, stepping the probe every INIT_CHUNK values.
*/
static int initFactors(MlrecModel *m, MlrecInterrupt *pIntr){
  float *aFactor[2];
  i64 aN[2], k;
  u64 rng = (u64)m->opt.seed;
  int j, rc = SQLITE_OK;
  aFactor[0] = m->aUserFactor;
  aFactor[1] = m->aItemFactor;
  aN[0] = (i64)m->nUser*m->nFactor;
  aN[1] = (i64)m->nItem*m->nFactor;
  for(j=0; j<2; j++){
    for(k=0; rc==SQLITE_OK && k<aN[j]; k+=INIT_CHUNK){
      fillNormal(aFactor[j]+k, aN[j]-k<INIT_CHUNK ? aN[j]-k : INIT_CHUNK,
                 m->opt.initStd*sqrt(m->scale), &rng);
      rc = mlrecInterrupted(pIntr);
    }
  }
  return rc;
}

/*
** Run the epochs of SGD on model m.  Stops with SQLITE_INTERRUPT if asked
** to, and with an error if the parameters overflow (learning rate too
** large).  SGD trains a copy of the parameters: m gets them after every
** epoch when pMon measures it on held-out ratings (and may stop training
** early), else once at the end.
*/
static int runEpochs(MlrecState *p, MlrecInterrupt *pIntr,
                     MlrecMonitor *pMon, MlrecModel *m, char **pzErr){
  MlrecSgd *pSgd = 0;
  i64 iEpoch;
  int bStop = 0;
  int rc = mlrecSgdBegin(p, pMon->pTrain, m, (int)m->opt.nThread, pIntr,
                         &pSgd);
  if( rc==SQLITE_OK ) m->opt.nThread = mlrecSgdThreads(pSgd);
  for(iEpoch=0; rc==SQLITE_OK && !bStop && iEpoch<m->opt.nEpoch; iEpoch++){
    rc = mlrecSgdEpoch(pSgd, pIntr);
    if( rc==SQLITE_OK ) rc = mlrecInterrupted(pIntr);
    if( rc==SQLITE_OK && mlrecSgdDiverged(pSgd) ){
      mlrecSetError(pzErr, "train_mf: training diverged in epoch %lld (the "
                    "parameters overflowed); use a smaller learning_rate "
                    "than %g", iEpoch+1, m->opt.learningRate);
      rc = SQLITE_ERROR;
    }
    if( rc==SQLITE_OK && pMon->nHeld>0 ) rc = mlrecSgdSync(pSgd, pIntr);
    if( rc==SQLITE_OK ){
      rc = mlrecMonitorEpoch(pMon, m, mlrecSgdLoss(pSgd), &bStop);
    }
  }
  if( rc==SQLITE_OK && pMon->nHeld==0 ) rc = mlrecSgdSync(pSgd, pIntr);
  mlrecSgdEnd(pSgd);
  return rc;
}

/* Train a model on snapshot pR of the ratings of p with options pOpt into
** *ppOut. */
int mlrecMfTrain(
  MlrecState *p,
  const MlrecRatings *pR,
  const MlrecMfOptions *pOpt,
  MlrecModel **ppOut,
  char **pzErr
){
  double t0 = mlrecClock();
  MlrecInterrupt intr;
  MlrecMonitor mon;
  MlrecModel *m = 0;
  int rc;
  *ppOut = 0;
  if( pR->nRating==0 ){
    mlrecSetError(pzErr, "train_mf: the ratings table is empty; there is "
                  "nothing to train on");
    return SQLITE_ERROR;
  }
  memset(&mon, 0, sizeof(mon));
  rc = mlrecInterruptBegin(p->db, &intr);
  if( rc==SQLITE_OK ) rc = mlrecMonitorBegin(&mon, pR, pOpt, &intr, pzErr);
  if( rc==SQLITE_OK ){
    m = newModel(mon.pTrain, pOpt);
    rc = m ? initFactors(m, &intr) : SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ) rc = runEpochs(p, &intr, &mon, m, pzErr);
  if( rc==SQLITE_OK ) rc = mlrecMonitorEnd(&mon, m);
  mlrecMonitorFree(&mon);
  mlrecInterruptEnd(&intr);
  if( rc!=SQLITE_OK ){
    mlrecModelUnref(m);
    if( *pzErr==0 ) mlrecSetError(pzErr, "train_mf: %s", sqlite3_errstr(rc));
    return rc;
  }
  m->nRating = pR->nRating;  /* the snapshot's, held-out ratings included */
  m->trainedAt = mlrecNow();
  m->seconds = mlrecClock() - t0;
  *ppOut = m;
  return SQLITE_OK;
}

