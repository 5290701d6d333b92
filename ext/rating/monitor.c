/*
** monitor.c: what train_mf() does around the epochs of SGD: a held-out
** validation fraction, the training log, the progress report and early
** stopping.
**
**     SELECT train_mf('{"validation": 0.1, "patience": 3, "progress": true}');
**     SELECT * FROM mlrec_training_log;      -- models.c
**
** VALIDATION.  With "validation": f, floor(f * n) of the n ratings are held
** out, chosen by selection sampling (Knuth's algorithm S) over the ratings in
** (user, movie) order with a generator seeded by "seed": the same seed and
** data hold out the same ratings.  The model never trains on them (nor on
** their mean); users and movies whose ratings are all held out keep their
** initial parameters.
**
** THE LOG.  After every epoch: the training loss (the RMSE of the epoch's
** SGD steps, each rating's unclipped error just before its own step, as
** SGD libraries report it: free to measure, a little above the RMSE of the
** model at the end of the epoch), the RMSE of predict() (clipped) on the
** held-out ratings at the end of the epoch, and the time the epoch took.  The log
** is kept with the model; "progress": true also prints each entry as a line
** on stderr as it comes.
**
** EARLY STOPPING.  With "patience": p (and a validation fraction), training
** stops once p epochs in a row have not lowered the best held-out RMSE, and
** the model gets back the parameters of the best epoch.  Without patience
** every epoch runs and the model is the last epoch's.
*/
#include "rating.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A held-out rating, by dense user and movie index. */
struct MlrecHeldOut {
  int u, i;
  float r;
};

/* Free what the split allocated (the ids are the snapshot's). */
static void freeSplit(MlrecMonitor *p){
  sqlite3_free(p->split.aUserStart);
  sqlite3_free(p->split.aUserItem);
  sqlite3_free(p->split.aUserValue);
  sqlite3_free(p->split.aItemStart);
  memset(&p->split, 0, sizeof(p->split));
  sqlite3_free(p->aHeld);
  p->aHeld = 0;
}

/*
** Hold out nHeld ratings of pR: p->aHeld gets them, p->split the others (the
** by-user rows and per-movie counts that SGD reads, the mean of the
** training ratings, and the ids, scale and hash of the whole snapshot).
*/
static int splitRatings(MlrecMonitor *p, const MlrecRatings *pR, i64 nHeld){
  MlrecRatings *s = &p->split;
  i64 nTrain = pR->nRating - nHeld, nChosen = 0, nKept = 0, k;
  u64 rng = (u64)p->pOpt->seed ^ 0x2545f4914f6cdd1dULL;
  double rSum = 0.0;
  int u, i, rc = SQLITE_OK;
  *s = *pR;
  s->nRef = 1;
  s->nRating = nTrain;
  s->aItemUser = 0;
  s->aItemValue = 0;
  s->aItemHalf = 0;
  s->aItemNorm = 0;
  s->aUserHalf = 0;      /* the split's ratings are floats */
  s->aUserStart = sqlite3_malloc64(sizeof(i64)*((i64)pR->nUser+1));
  s->aUserItem = sqlite3_malloc64(sizeof(int)*(nTrain+1));
  s->aUserValue = sqlite3_malloc64(sizeof(float)*(nTrain+1));
  s->aItemStart = sqlite3_malloc64(sizeof(i64)*((i64)pR->nItem+1));
  p->aHeld = sqlite3_malloc64(sizeof(MlrecHeldOut)*(nHeld+1));
  if( !s->aUserStart || !s->aUserItem || !s->aUserValue || !s->aItemStart
   || !p->aHeld ){
    return SQLITE_NOMEM;
  }
  memset(s->aItemStart, 0, sizeof(i64)*((i64)pR->nItem+1));
  for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
    s->aUserStart[u] = nKept;
    for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
      /* algorithm S: take it with probability (still needed)/(still left) */
      if( mlrecRandomBelow(&rng, pR->nRating-k)<nHeld-nChosen ){
        MlrecHeldOut *h = &p->aHeld[nChosen++];
        h->u = u;
        h->i = pR->aUserItem[k];
        h->r = mlrecUserRating(pR, k);
      }else{
        s->aUserItem[nKept] = pR->aUserItem[k];
        s->aUserValue[nKept] = mlrecUserRating(pR, k);
        s->aItemStart[pR->aUserItem[k]+1]++;
        rSum += s->aUserValue[nKept];
        nKept++;
      }
      rc = mlrecInterruptedEvery(p->pIntr, k);
    }
  }
  s->aUserStart[pR->nUser] = nKept;
  for(i=0; i<pR->nItem; i++) s->aItemStart[i+1] += s->aItemStart[i];
  s->rMean = rSum/(double)nTrain;
  p->nHeld = nHeld;
  return rc;
}

/*
** Get ready to train on pR with options pOpt: split off the held-out
** ratings, make room for the log and for the best parameters.  On error the
** caller still calls mlrecMonitorFree().
*/
int mlrecMonitorBegin(MlrecMonitor *p, const MlrecRatings *pR,
                      const MlrecMfOptions *pOpt, MlrecInterrupt *pIntr,
                      char **pzErr){
  i64 nHeld = (i64)floor(pOpt->validation*(double)pR->nRating);
  i64 nParam = ((i64)pR->nUser + pR->nItem)*(pOpt->nFactor+1);
  int rc;
  memset(p, 0, sizeof(*p));
  p->pOpt = pOpt;
  p->pIntr = pIntr;
  p->pTrain = pR;
  p->iBest = -1;
  if( pOpt->patience>0 && pOpt->validation==0.0 ){
    mlrecSetError(pzErr, "train_mf: option \"patience\" needs held-out "
                  "ratings to watch: set \"validation\" too, e.g. "
                  "'{\"validation\": 0.1, \"patience\": %lld}'", pOpt->patience);
    return SQLITE_ERROR;
  }
  if( pOpt->validation>0.0 && nHeld==0 ){
    mlrecSetError(pzErr, "train_mf: a validation fraction of %g of %lld "
                  "ratings holds out none; use a larger fraction",
                  pOpt->validation, pR->nRating);
    return SQLITE_ERROR;
  }
  if( nHeld>0 ){
    rc = splitRatings(p, pR, nHeld);
    if( rc!=SQLITE_OK ) return rc;
    p->pTrain = &p->split;
  }
  p->aLog = sqlite3_malloc64(sizeof(MlrecEpoch)*pOpt->nEpoch);
  if( p->aLog==0 ) return SQLITE_NOMEM;
  if( pOpt->patience>0 ){
    p->aBest = sqlite3_malloc64(sizeof(float)*nParam);
    if( p->aBest==0 ) return SQLITE_NOMEM;
  }
  p->tEpoch = mlrecClock();
  return SQLITE_OK;
}

/* Root mean squared error of m on the by-user ratings of pR, unclipped. */
static int ratingsRmse(const MlrecModel *m, const MlrecRatings *pR,
                       MlrecInterrupt *pIntr, double *pRmse){
  double rSum = 0.0;
  i64 k;
  int u, rc = SQLITE_OK;
  for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
    for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
      double e = mlrecUserRating(pR, k)
                 - mlrecModelPredict(m, u, 0, pR->aUserItem[k]);
      rSum += e*e;
      rc = mlrecInterruptedEvery(pIntr, k);
    }
  }
  *pRmse = pR->nRating ? sqrt(rSum/(double)pR->nRating) : 0.0;
  return rc;
}

/* Root mean squared error of predict() (clipped) on the held-out ratings. */
static int heldOutRmse(const MlrecModel *m, const MlrecHeldOut *a, i64 n,
                       MlrecInterrupt *pIntr, double *pRmse){
  double rSum = 0.0;
  i64 k;
  int rc = SQLITE_OK;
  for(k=0; rc==SQLITE_OK && k<n; k++){
    double e = a[k].r - mlrecModelClip(m, mlrecModelPredict(m, a[k].u, 0, a[k].i));
    rSum += e*e;
    rc = mlrecInterruptedEvery(pIntr, k);
  }
  *pRmse = sqrt(rSum/(double)n);
  return rc;
}

/* Copy the parameters of m to aBest (bRestore==0) or back (bRestore==1). */
static void copyParameters(MlrecModel *m, float *aBest, int bRestore){
  struct { float *a; i64 n; } aPart[4];
  int j;
  aPart[0].a = m->aUserBias;   aPart[0].n = m->nUser;
  aPart[1].a = m->aItemBias;   aPart[1].n = m->nItem;
  aPart[2].a = m->aUserFactor; aPart[2].n = (i64)m->nUser*m->nFactor;
  aPart[3].a = m->aItemFactor; aPart[3].n = (i64)m->nItem*m->nFactor;
  for(j=0; j<4; j++){
    if( bRestore ){
      memcpy(aPart[j].a, aBest, sizeof(float)*aPart[j].n);
    }else{
      memcpy(aBest, aPart[j].a, sizeof(float)*aPart[j].n);
    }
    aBest += aPart[j].n;
  }
}

/* The progress line of epoch e (from 0) on stderr. */
static void printProgress(const MlrecMonitor *p, int e){
  const MlrecEpoch *x = &p->aLog[e];
  if( p->nHeld>0 ){
    fprintf(stderr, "train_mf: epoch %d/%lld  train RMSE %.4f  validation "
            "RMSE %.4f%s  %.3f s\n", e+1, p->pOpt->nEpoch, x->trainRmse,
            x->validRmse, p->iBest==e ? " (best)" : "", x->seconds);
  }else{
    fprintf(stderr, "train_mf: epoch %d/%lld  train RMSE %.4f  %.3f s\n",
            e+1, p->pOpt->nEpoch, x->trainRmse, x->seconds);
  }
  fflush(stderr);
}

/*
** Log the epoch that model m has just finished, with training loss
** rTrainLoss, print it if asked, and set *pbStop when early stopping says
** to stop.  Returns SQLITE_INTERRUPT if interrupted while measuring.
*/
int mlrecMonitorEpoch(MlrecMonitor *p, MlrecModel *m, double rTrainLoss,
                      int *pbStop){
  MlrecEpoch *x = &p->aLog[p->nLog];
  int e = p->nLog++;
  x->trainRmse = rTrainLoss;
  x->validRmse = -1.0;
  if( p->nHeld>0 ){
    int rc = heldOutRmse(m, p->aHeld, p->nHeld, p->pIntr, &x->validRmse);
    if( rc!=SQLITE_OK ) return rc;
    if( p->iBest<0 || x->validRmse<p->aLog[p->iBest].validRmse ){
      p->iBest = e;
      if( p->aBest ) copyParameters(m, p->aBest, 0);
    }
  }
  x->seconds = mlrecClock() - p->tEpoch;
  if( p->pOpt->bProgress ) printProgress(p, e);
  *pbStop = p->aBest!=0 && e - p->iBest >= p->pOpt->patience;
  p->tEpoch = mlrecClock();
  return SQLITE_OK;
}

/*
** Training is over: with early stopping, give m the parameters of the best
** epoch; measure its RMSE on the training ratings; hand the log over to m.
** Returns SQLITE_INTERRUPT if interrupted while measuring.
*/
int mlrecMonitorEnd(MlrecMonitor *p, MlrecModel *m){
  m->iKept = p->nLog-1;
  if( p->aBest && p->iBest!=m->iKept ){
    copyParameters(m, p->aBest, 1);
    m->iKept = p->iBest;
  }
  m->aLog = p->aLog;
  m->nLog = p->nLog;
  m->nHeldOut = p->nHeld;
  p->aLog = 0;
  return ratingsRmse(m, p->pTrain, p->pIntr, &m->rmse);
}

void mlrecMonitorFree(MlrecMonitor *p){
  freeSplit(p);
  sqlite3_free(p->aLog);
  sqlite3_free(p->aBest);
  memset(p, 0, sizeof(*p));
}
