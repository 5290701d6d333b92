/*
** mf.c: biased matrix factorisation trained by stochastic gradient descent.
**
** The model predicts the rating of user u for movie i as
**
**     r(u,i) = mu + b(u) + b(i) + p(u) . q(i)
**
** with mu the mean rating, b(u) and b(i) biases and p(u), q(i) vectors of
** `factors` latent factors.  Each epoch visits every rating once, in an
** order shuffled by a seeded generator, and moves the parameters against
** the gradient of the squared error plus L2 penalties:
**
**     e     = r - r(u,i)
**     b(u) += lr * (e - bias_regularization * b(u))        and so for b(i)
**     p(u) += lr * (e q(i) - regularization p(u))          and so for q(i)
**
** Factors start from N(0, init_std^2).  The same seed, options and data give
** the same model, bit for bit.  Every loop over the ratings steps a probe
** statement every 16384 iterations so that sqlite3_interrupt() stops it
** within milliseconds.
*/
#include "mlrec.h"
#include <math.h>
#include <string.h>

const MlrecOption mlrecMfOptionSpec[] = {
  { "factors",             'i', 1, 1024,    offsetof(MlrecMfOptions, nFactor) },
  { "epochs",              'i', 1, 10000,   offsetof(MlrecMfOptions, nEpoch) },
  { "learning_rate",       'r', 1e-6, 1,    offsetof(MlrecMfOptions,
                                                     learningRate) },
  { "regularization",      'r', 0, 100,     offsetof(MlrecMfOptions,
                                                     regularization) },
  { "bias_regularization", 'r', 0, 100,     offsetof(MlrecMfOptions,
                                                     biasRegularization) },
  { "init_std",            'r', 0, 10,      offsetof(MlrecMfOptions, initStd) },
  { "seed",                'i', -9223372036854775808.0, 9223372036854775807.0,
                                            offsetof(MlrecMfOptions, seed) },
};
const int mlrecMfOptionCount =
  (int)(sizeof(mlrecMfOptionSpec)/sizeof(mlrecMfOptionSpec[0]));

void mlrecMfDefaults(MlrecMfOptions *p){
  p->nFactor = 32;
  p->nEpoch = 25;
  p->learningRate = 0.02;
  p->regularization = 0.1;
  p->biasRegularization = 0.02;
  p->initStd = 0.1;
  p->seed = 42;
}

/* The options as a JSON object, e.g. for train_mf()'s summary. */
char *mlrecMfOptionsJson(const MlrecMfOptions *p){
  return sqlite3_mprintf("{\"factors\":%lld,\"epochs\":%lld,"
    "\"learning_rate\":%!.15g,\"regularization\":%!.15g,"
    "\"bias_regularization\":%!.15g,\"init_std\":%!.15g,\"seed\":%lld}",
    p->nFactor, p->nEpoch, p->learningRate, p->regularization,
    p->biasRegularization, p->initStd, p->seed);
}

/* splitmix64: a small, fast generator with a 64-bit state. */
static u64 nextRandom(u64 *pState){
  u64 z = (*pState += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z>>30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z>>27)) * 0x94d049bb133111ebULL;
  return z ^ (z>>31);
}

/* Uniform in (0, 1). */
static double nextUniform(u64 *pState){
  return ((double)(nextRandom(pState)>>11) + 0.5) * (1.0/9007199254740992.0);
}

/* Standard normal, by the Box-Muller transform. */
static double nextNormal(u64 *pState){
  double u1 = nextUniform(pState), u2 = nextUniform(pState);
  return sqrt(-2.0*log(u1)) * cos(6.283185307179586*u2);
}

/* Uniform integer in [0, n) for n >= 1 (bias below 2^-32 for n < 2^32). */
static i64 nextBelow(u64 *pState, i64 n){
  return (i64)(nextRandom(pState) % (u64)n);
}

void mlrecModelUnref(MlrecModel *p){
  if( p==0 || --p->nRef>0 ) return;
  sqlite3_free(p->aUserId);
  sqlite3_free(p->aItemId);
  sqlite3_free(p->aUserBias);
  sqlite3_free(p->aItemBias);
  sqlite3_free(p->aUserFactor);
  sqlite3_free(p->aItemFactor);
  sqlite3_free(p->zOptions);
  sqlite3_free(p);
}

/* A model sized for pR, with ids copied and biases zero. */
static MlrecModel *newModel(const MlrecRatings *pR, const MlrecMfOptions *pOpt){
  MlrecModel *p = sqlite3_malloc64(sizeof(*p));
  i64 nF = pOpt->nFactor;
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  p->nRef = 1;
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
  p->nRating = pR->nRating;
  p->dataHash = pR->hash;
  return p;
}

/* Draw the initial factors of m from N(0, init_std^2), users first. */
static int initFactors(MlrecModel *m, MlrecInterrupt *pIntr){
  i64 nUser = (i64)m->nUser*m->nFactor;
  i64 n = nUser + (i64)m->nItem*m->nFactor;
  u64 rng = (u64)m->opt.seed;
  i64 k;
  int rc = SQLITE_OK;
  for(k=0; rc==SQLITE_OK && k<n; k++){
    float *pF = k<nUser ? &m->aUserFactor[k] : &m->aItemFactor[k-nUser];
    *pF = (float)(m->opt.initStd*nextNormal(&rng));
    rc = mlrecInterruptedEvery(pIntr, k);
  }
  return rc;
}

/* The training examples: one (user, movie, rating) per rating. */
typedef struct Example Example;
struct Example {
  int u, i;
  float r;
};

static int collectExamples(const MlrecRatings *pR, MlrecInterrupt *pIntr,
                           Example **paOut){
  Example *a = sqlite3_malloc64(sizeof(Example)*(pR->nRating+1));
  i64 k;
  int u, rc = SQLITE_OK;
  *paOut = a;
  if( a==0 ) return SQLITE_NOMEM;
  for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
    for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
      a[k].u = u;
      a[k].i = pR->aUserItem[k];
      a[k].r = pR->aUserValue[k];
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  return rc;
}

static int shuffleExamples(Example *a, i64 n, u64 *pRng,
                           MlrecInterrupt *pIntr){
  i64 k;
  int rc = SQLITE_OK;
  for(k=n-1; rc==SQLITE_OK && k>0; k--){
    i64 j = nextBelow(pRng, k+1);
    Example t = a[k];
    a[k] = a[j];
    a[j] = t;
    rc = mlrecInterruptedEvery(pIntr, k);
  }
  return rc;
}

static float dotProduct(const float *a, const float *b, int n){
  float s = 0.0f;
  int d;
  for(d=0; d<n; d++) s += a[d]*b[d];
  return s;
}

/* One SGD step on example pEx. */
static void sgdUpdate(MlrecModel *m, const Example *pEx, float lr, float reg,
                      float regBias){
  int nF = m->nFactor;
  float *pu = m->aUserFactor + (i64)pEx->u*nF;
  float *qi = m->aItemFactor + (i64)pEx->i*nF;
  float *bu = &m->aUserBias[pEx->u];
  float *bi = &m->aItemBias[pEx->i];
  float e = pEx->r - ((float)m->mu + *bu + *bi + dotProduct(pu, qi, nF));
  int d;
  *bu += lr*(e - regBias*(*bu));
  *bi += lr*(e - regBias*(*bi));
  for(d=0; d<nF; d++){
    float p = pu[d], q = qi[d];
    pu[d] += lr*(e*q - reg*p);
    qi[d] += lr*(e*p - reg*q);
  }
}

/* Root mean squared error of m on the ratings of pR, unclipped. */
static int trainingRmse(const MlrecModel *m, const MlrecRatings *pR,
                        MlrecInterrupt *pIntr, double *pRmse){
  double rSum = 0.0;
  i64 k;
  int u, rc = SQLITE_OK;
  for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
    for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
      double e = pR->aUserValue[k] - mlrecModelPredict(m, u, pR->aUserItem[k]);
      rSum += e*e;
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  *pRmse = pR->nRating ? sqrt(rSum/(double)pR->nRating) : 0.0;
  return rc;
}

/*
** True if training has blown up: an overflow reaches the biases through the
** error term within one epoch, so checking them is enough and cheap.
*/
static int diverged(const MlrecModel *m){
  double rSum = 0.0;
  int i;
  for(i=0; i<m->nUser; i++) rSum += m->aUserBias[i];
  for(i=0; i<m->nItem; i++) rSum += m->aItemBias[i];
  return !isfinite(rSum);
}

/*
** Run the epochs of SGD.  Stops with SQLITE_INTERRUPT if asked to, and with
** an error if the parameters overflow (learning rate too large).
*/
static int runEpochs(MlrecModel *m, Example *aEx, i64 nEx,
                     MlrecInterrupt *pIntr, char **pzErr){
  u64 rng = (u64)m->opt.seed ^ 0x5851f42d4c957f2dULL;
  float lr = (float)m->opt.learningRate;
  float reg = (float)m->opt.regularization;
  float regBias = (float)m->opt.biasRegularization;
  i64 iEpoch, k;
  int rc = SQLITE_OK;
  for(iEpoch=0; rc==SQLITE_OK && iEpoch<m->opt.nEpoch; iEpoch++){
    rc = shuffleExamples(aEx, nEx, &rng, pIntr);
    for(k=0; rc==SQLITE_OK && k<nEx; k++){
      sgdUpdate(m, &aEx[k], lr, reg, regBias);
      rc = mlrecInterruptedEvery(pIntr, k+1);
    }
    if( rc==SQLITE_OK ) rc = mlrecInterrupted(pIntr);
    if( rc==SQLITE_OK && diverged(m) ){
      mlrecSetError(pzErr, "train_mf: training diverged in epoch %lld (the "
                    "parameters overflowed); use a smaller learning_rate "
                    "than %g", iEpoch+1, m->opt.learningRate);
      rc = SQLITE_ERROR;
    }
  }
  return rc;
}

/* Train a model on snapshot pR with options pOpt into *ppOut. */
int mlrecMfTrain(
  sqlite3 *db,
  const MlrecRatings *pR,
  const MlrecMfOptions *pOpt,
  MlrecModel **ppOut,
  char **pzErr
){
  double t0 = mlrecClock();
  MlrecInterrupt intr;
  MlrecModel *m = 0;
  Example *aEx = 0;
  int rc;
  *ppOut = 0;
  if( pR->nRating==0 ){
    mlrecSetError(pzErr, "train_mf: the ratings table is empty; there is "
                  "nothing to train on");
    return SQLITE_ERROR;
  }
  rc = mlrecInterruptBegin(db, &intr);
  if( rc==SQLITE_OK ){
    m = newModel(pR, pOpt);
    rc = m ? initFactors(m, &intr) : SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ) rc = collectExamples(pR, &intr, &aEx);
  if( rc==SQLITE_OK ) rc = runEpochs(m, aEx, pR->nRating, &intr, pzErr);
  sqlite3_free(aEx);
  if( rc==SQLITE_OK ) rc = trainingRmse(m, pR, &intr, &m->rmse);
  mlrecInterruptEnd(&intr);
  if( rc!=SQLITE_OK ){
    mlrecModelUnref(m);
    if( *pzErr==0 ) mlrecSetError(pzErr, "train_mf: %s", sqlite3_errstr(rc));
    return rc;
  }
  m->trainedAt = mlrecNow();
  m->seconds = mlrecClock() - t0;
  *ppOut = m;
  return SQLITE_OK;
}

/* The model's rating for dense indexes; -1 means "not seen in training". */
double mlrecModelPredict(const MlrecModel *m, int iUser, int iItem){
  double r = m->mu;
  if( iUser>=0 ) r += m->aUserBias[iUser];
  if( iItem>=0 ) r += m->aItemBias[iItem];
  if( iUser>=0 && iItem>=0 ){
    r += dotProduct(m->aUserFactor + (i64)iUser*m->nFactor,
                    m->aItemFactor + (i64)iItem*m->nFactor, m->nFactor);
  }
  return r;
}

/* Clip a prediction to the rating scale of the training data. */
double mlrecModelClip(const MlrecModel *m, double r){
  return r<m->rMin ? m->rMin : r>m->rMax ? m->rMax : r;
}
