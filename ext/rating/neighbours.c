/*
** neighbours.c: the baseline-corrected item neighbourhood model that
** predict() blends with the matrix factorisation of train_mf() (Koren,
** "Factor in the Neighbors", 2010, the model of Surprise's KNNBaseline).
**
**     SELECT train_mf('{"knn_weight": 0.5, "neighbors": 40}');
**     SELECT predict(1, 260);    -- (1-w) MF + w kNN, clipped
**
** Baselines b(u,i) = mu + b(u) + b(i) are fitted by ten rounds of
** alternating ridge regression (penalties 15 on users, 10 on movies).  The
** similarity of movies i and j is the Pearson correlation of the rating
** residuals z = r - b over the users who rated both, shrunk towards 0 when
** few did:
**
**     s(i,j) = sum z(v,i) z(v,j) / sqrt(sum z(v,i)^2  sum z(v,j)^2)
**              * (n - 1) / (n - 1 + shrinkage)
**
** and the prediction for user u is the baseline corrected by the residuals
** of the `neighbors` movies u rated that are most similar to i (s > 0):
**
**     knn(u,i) = b(u,i) + sum s(i,j) z(u,j) / sum s(i,j)
**
** Nothing is precomputed beyond the baselines: s(i,j) is computed when
** needed by intersecting the two movies' (sorted) user lists, so a
** prediction costs tens of microseconds.
**
** A user the model was not fitted on is folded in (foldin.c): b(u) from the
** user's ratings now, against the fixed movie baselines, their residuals
** as z(u,j), and the correction divided by sum s(i,j) + FOLD_DAMPING.
**
** HOW IT IS SERVED
**
** A prediction reads rows: the movies the user rated (with residuals) and,
** for each of them and for the movie predicted, its raters (with
** residuals).  A model trained here finds them in the training snapshot it
** keeps, and computes each residual from its rating as it reads it (a copy
** of the residuals would cost 8 bytes a rating).  A model loaded from
** tables (persist.c) keeps its baselines in memory and reads the rows a
** prediction needs that no connection has read yet, in one go (xFetch:
** index lookups by one statement), so a process that serves a few users
** never reads the rest; every row read is published with an atomic
** compare-and-swap, and the model is otherwise immutable, so the
** connections of a process share one loaded copy.  The scratch of a prediction (one movie's residuals
** scattered by user) is the caller's: one per connection.
*/
#include "rating.h"
#include <math.h>
#include <string.h>

#define BASELINE_ROUNDS    10
#define BASELINE_REG_USER  15.0
#define BASELINE_REG_ITEM  10.0

/* A folded-in user's correction is divided by the sum of the similarities
** plus this: a neighbour of similarity 1 and residual 0 added, which keeps
** the few neighbours of a user with few ratings from over-correcting. */
#define FOLD_DAMPING        1.0

void mlrecNeighboursFree(MlrecNeighbours *p){
  int i;
  if( p==0 ) return;
  if( p->pR ){
    mlrecRatingsUnref(p->pR);
  }else{
    sqlite3_free((void*)p->aUserId);
    sqlite3_free((void*)p->aItemId);
  }
  sqlite3_free(p->aUserBias);
  sqlite3_free(p->aItemBias);
  for(i=0; p->apUserRow && i<p->nUser; i++) sqlite3_free(p->apUserRow[i]);
  for(i=0; p->apItemRow && i<p->nItem; i++) sqlite3_free(p->apItemRow[i]);
  sqlite3_free(p->apUserRow);
  sqlite3_free(p->apItemRow);
  sqlite3_free(p->aUserDigest);
  sqlite3_free(p->aItemDigest);
  sqlite3_free(p);
}

void mlrecNeighbourScratchFree(MlrecNeighbourScratch *s){
  if( s==0 ) return;
  sqlite3_free(s->aZi);
  sqlite3_free(s);
}

/* Make *pp scratch for a model of nUser users, all of aHas 0. */
static int scratchFor(int nUser, MlrecNeighbourScratch **pp){
  MlrecNeighbourScratch *s = *pp;
  if( s && s->nUser==nUser ) return SQLITE_OK;
  mlrecNeighbourScratchFree(s);
  *pp = s = sqlite3_malloc64(sizeof(*s));
  if( s==0 ) return SQLITE_NOMEM;
  s->nUser = nUser;
  s->aZi = sqlite3_malloc64((sizeof(double)+1)*((i64)nUser+1));
  if( s->aZi==0 ){
    mlrecNeighbourScratchFree(s);
    *pp = 0;
    return SQLITE_NOMEM;
  }
  s->aHas = (unsigned char*)(s->aZi + nUser + 1);
  memset(s->aHas, 0, (size_t)nUser);
  return SQLITE_OK;
}

/*
** Row iRow of the users (bUser) or of the movies into *pRow: the movies
** one user rated, or the users who rated one movie, with the residual of
** each rating.  A model trained here has them in its snapshot; a loaded
** one must have read it (mlrecNeighboursRead()).
*/
void mlrecNeighboursRow(const MlrecNeighbours *p, int bUser, int iRow,
                        MlrecKnnRow *pRow){
  if( p->pR ){
    const MlrecRatings *pR = p->pR;
    const float *aValue = bUser ? pR->aUserValue : pR->aItemValue;
    const signed char *aHalf = bUser ? pR->aUserHalf : pR->aItemHalf;
    i64 k0 = bUser ? pR->aUserStart[iRow] : pR->aItemStart[iRow];
    i64 k1 = bUser ? pR->aUserStart[iRow+1] : pR->aItemStart[iRow+1];
    pRow->n = (int)(k1 - k0);
    pRow->aIdx = (bUser ? pR->aUserItem : pR->aItemUser) + k0;
    pRow->aResid = 0;
    pRow->aValue = aValue ? aValue + k0 : 0;
    pRow->aHalf = aHalf ? aHalf + k0 : 0;
    pRow->mu = p->mu;
    pRow->rBias = bUser ? p->aUserBias[iRow] : p->aItemBias[iRow];
    pRow->aBias = bUser ? p->aItemBias : p->aUserBias;
  }else{
    MlrecKnnRow **ap = bUser ? p->apUserRow : p->apItemRow;
    *pRow = *__atomic_load_n(&ap[iRow], __ATOMIC_ACQUIRE);
  }
}

/*
** Make sure that rows aiRow[0..n) (all rows if aiRow is NULL) of the users
** (bUser) or movies of p are in memory: a loaded model reads those that no
** connection has read yet, at once (xFetch, on connection db), and
** publishes each for every connection with a compare-and-swap (another
** connection may have read it meanwhile: the first copy stays).
*/
int mlrecNeighboursRead(const MlrecNeighbours *p, sqlite3 *db, int bUser,
                        int n, const int *aiRow, char **pzErr){
  MlrecKnnRow **ap = bUser ? p->apUserRow : p->apItemRow;
  MlrecKnnRow **apGot;
  int *aiMissing;
  int k, nMissing = 0, rc;
  if( p->pR ) return SQLITE_OK;
  if( aiRow==0 ) n = bUser ? p->nUser : p->nItem;
  apGot = sqlite3_malloc64((sizeof(MlrecKnnRow*)+sizeof(int))*((i64)n+1));
  if( apGot==0 ) return SQLITE_NOMEM;
  aiMissing = (int*)&apGot[n+1];
  for(k=0; k<n; k++){
    int i = aiRow ? aiRow[k] : k;
    if( __atomic_load_n(&ap[i], __ATOMIC_ACQUIRE)==0 ){
      aiMissing[nMissing++] = i;
    }
  }
  rc = nMissing ? p->xFetch(db, p, bUser, nMissing, aiMissing, apGot, pzErr)
                : SQLITE_OK;
  for(k=0; rc==SQLITE_OK && k<nMissing; k++){
    MlrecKnnRow *pNone = 0;
    if( !__atomic_compare_exchange_n(&ap[aiMissing[k]], &pNone, apGot[k], 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ){
      sqlite3_free(apGot[k]);
    }
  }
  sqlite3_free(apGot);
  return rc;
}

/* Fit the baselines by alternating ridge regressions. */
static int fitBaselines(MlrecNeighbours *p, MlrecInterrupt *pIntr){
  const MlrecRatings *pR = p->pR;
  int iRound, u, i, rc = SQLITE_OK;
  i64 k;
  for(iRound=0; rc==SQLITE_OK && iRound<BASELINE_ROUNDS; iRound++){
    for(i=0; rc==SQLITE_OK && i<pR->nItem; i++){
      double s = 0.0;
      for(k=pR->aItemStart[i]; rc==SQLITE_OK && k<pR->aItemStart[i+1]; k++){
        s += mlrecItemRating(pR, k) - p->mu - p->aUserBias[pR->aItemUser[k]];
        rc = mlrecInterruptedEvery(pIntr, k);
      }
      p->aItemBias[i] = s/(BASELINE_REG_ITEM + (double)(pR->aItemStart[i+1]
                                                        - pR->aItemStart[i]));
    }
    for(u=0; rc==SQLITE_OK && u<pR->nUser; u++){
      double s = 0.0;
      for(k=pR->aUserStart[u]; rc==SQLITE_OK && k<pR->aUserStart[u+1]; k++){
        s += mlrecUserRating(pR, k) - p->mu - p->aItemBias[pR->aUserItem[k]];
        rc = mlrecInterruptedEvery(pIntr, k);
      }
      p->aUserBias[u] = s/(BASELINE_REG_USER + (double)(pR->aUserStart[u+1]
                                                        - pR->aUserStart[u]));
    }
  }
  return rc;
}

/*
** Fit the neighbourhood model on snapshot pR into *ppOut, stepping a probe
** on db so that sqlite3_interrupt() stops it.
*/
int mlrecNeighboursTrain(sqlite3 *db, MlrecRatings *pR, i64 nNeighbour,
                         double shrinkage, MlrecNeighbours **ppOut){
  MlrecNeighbours *p = sqlite3_malloc64(sizeof(*p));
  MlrecInterrupt intr;
  int rc;
  *ppOut = 0;
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pR = pR;
  pR->nRef++;
  p->nNeighbour = nNeighbour;
  p->shrinkage = shrinkage;
  p->mu = pR->rMean;
  p->nUser = pR->nUser;
  p->nItem = pR->nItem;
  p->aUserId = pR->aUserId;
  p->aItemId = pR->aItemId;
  p->aUserBias = sqlite3_malloc64(sizeof(double)*((i64)pR->nUser+1));
  p->aItemBias = sqlite3_malloc64(sizeof(double)*((i64)pR->nItem+1));
  if( !p->aUserBias || !p->aItemBias ){
    mlrecNeighboursFree(p);
    return SQLITE_NOMEM;
  }
  memset(p->aUserBias, 0, sizeof(double)*pR->nUser);
  rc = mlrecInterruptBegin(db, &intr);
  if( rc==SQLITE_OK ){
    rc = fitBaselines(p, &intr);
    mlrecInterruptEnd(&intr);
  }
  if( rc!=SQLITE_OK ){
    mlrecNeighboursFree(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/*
** The shrunk Pearson-baseline similarity of the movie whose raters are
** pJ with the movie whose residuals are scattered by user in aZi (aHas
** marks its raters).
*/
static double similarity(const MlrecNeighbours *p, const double *aZi,
                         const unsigned char *aHas, const MlrecKnnRow *pJ){
  double rDot = 0.0, rSqI = 0.0, rSqJ = 0.0;
  int n = 0, k;
  for(k=0; k<pJ->n; k++){
    int v = pJ->aIdx[k];
    if( aHas[v] ){
      double zi = aZi[v], zj = mlrecKnnResid(pJ, k);
      rDot += zi*zj;
      rSqI += zi*zi;
      rSqJ += zj*zj;
      n++;
    }
  }
  if( n<2 || !(rSqI*rSqJ>0.0) ) return 0.0;
  return rDot/sqrt(rSqI*rSqJ) * (n-1)/(n-1+p->shrinkage);
}

/* True if the neighbourhood model was fitted on ratings of user iUser. */
int mlrecNeighboursKnows(const MlrecNeighbours *p, i64 iUser){
  return mlrecFindId(p->aUserId, p->nUser, iUser)>=0;
}

/*
** Fold a user who rated the n movies aId (ids) aRating into the
** neighbourhood model: the user's baseline bias, fitted like the others'
** (last round of fitBaselines(), against the fixed movie baselines), and
** the residual of each rating of a movie the model knows, into pFold.
*/
int mlrecNeighboursFold(const MlrecNeighbours *p, int n, const i64 *aId,
                        const float *aRating, MlrecFold *pFold){
  double s = 0.0;
  int t, k = 0;
  pFold->aKnnItem = sqlite3_malloc64(sizeof(int)*((i64)n+1));
  pFold->aKnnResid = sqlite3_malloc64(sizeof(float)*((i64)n+1));
  if( pFold->aKnnItem==0 || pFold->aKnnResid==0 ) return SQLITE_NOMEM;
  for(t=0; t<n; t++){
    int j = mlrecFindId(p->aItemId, p->nItem, aId[t]);
    if( j<0 ) continue;
    pFold->aKnnItem[k] = j;
    pFold->aKnnResid[k] = aRating[t];
    s += aRating[t] - p->mu - p->aItemBias[j];
    k++;
  }
  pFold->nKnn = k;
  pFold->rKnnBias = s/(BASELINE_REG_USER + (double)k);
  for(t=0; t<k; t++){
    pFold->aKnnResid[t] = (float)(pFold->aKnnResid[t] - p->mu
                          - pFold->rKnnBias - p->aItemBias[pFold->aKnnItem[t]]);
  }
  return SQLITE_OK;
}

/* A user's ratings as the neighbourhood sees them: the movies, by index,
** and the residual of each. */
typedef struct KnnUser KnnUser;
struct KnnUser {
  double rBias;          /* the user's baseline bias */
  MlrecKnnRow rated;
  double rDamp;          /* added to the sum of the similarities */
};

/*
** The baseline of movie index i (-1: unknown) for user pU, corrected by
** the residuals of the movies pU rated that are most similar to i, into
** *prOut (unclipped).  The residuals of movie i are scattered by user into
** the scratch arrays of s, so that each similarity costs one pass over the
** other movie's raters.
*/
static int neighbourhood(const MlrecNeighbours *p, sqlite3 *db,
                         MlrecNeighbourScratch *s, const KnnUser *pU, int i,
                         double *prOut, char **pzErr){
  double r = p->mu + pU->rBias, rNum = 0.0, rDen = 0.0;
  MlrecKnnRow rowI, rowJ;
  MlrecTopK top;
  int t, k, rc;
  if( i>=0 ) r += p->aItemBias[i];
  *prOut = r;
  if( i<0 || pU->rated.n==0 ) return SQLITE_OK;
  rc = mlrecNeighboursRead(p, db, 0, 1, &i, pzErr);
  if( rc==SQLITE_OK ){
    rc = mlrecNeighboursRead(p, db, 0, pU->rated.n, pU->rated.aIdx, pzErr);
  }
  if( rc==SQLITE_OK ) rc = mlrecTopKInit(&top, (int)p->nNeighbour);
  if( rc!=SQLITE_OK ) return rc;
  mlrecNeighboursRow(p, 0, i, &rowI);
  for(k=0; k<rowI.n; k++){
    s->aZi[rowI.aIdx[k]] = mlrecKnnResid(&rowI, k);
    s->aHas[rowI.aIdx[k]] = 1;
  }
  for(t=0; t<pU->rated.n; t++){
    int j = pU->rated.aIdx[t];
    double rSim;
    if( j==i ) continue;
    mlrecNeighboursRow(p, 0, j, &rowJ);
    rSim = similarity(p, s->aZi, s->aHas, &rowJ);
    if( rSim>0.0 ){
      mlrecTopKPush(&top, rSim, mlrecKnnResid(&pU->rated, t), j);
    }
  }
  for(k=0; k<rowI.n; k++) s->aHas[rowI.aIdx[k]] = 0;
  for(t=0; t<top.n; t++){
    rNum += top.a[t].key*top.a[t].score;
    rDen += top.a[t].key;
  }
  mlrecTopKFree(&top);
  if( rDen>0.0 ) *prOut = r + rNum/(rDen + pU->rDamp);
  return SQLITE_OK;
}

/*
** The neighbourhood prediction of user iUser for movie iItem (ids) into
** *prOut (unclipped): from the user's ratings the model was fitted on, or
** else from pFold (if not NULL), or else the baseline.  *ppScratch is the
** caller's scratch, (re)allocated here; db reads the rows of a loaded
** model.
*/
int mlrecNeighboursPredict(const MlrecNeighbours *p, sqlite3 *db,
                           MlrecNeighbourScratch **ppScratch,
                           const MlrecFold *pFold, i64 iUser, i64 iItem,
                           double *prOut, char **pzErr){
  int u = mlrecFindId(p->aUserId, p->nUser, iUser);
  int i = mlrecFindId(p->aItemId, p->nItem, iItem);
  KnnUser user;
  int rc = scratchFor(p->nUser, ppScratch);
  if( rc!=SQLITE_OK ) return rc;
  memset(&user, 0, sizeof(user));
  if( u>=0 ){
    user.rBias = p->aUserBias[u];
    rc = mlrecNeighboursRead(p, db, 1, 1, &u, pzErr);
    if( rc==SQLITE_OK ) mlrecNeighboursRow(p, 1, u, &user.rated);
  }else if( pFold && pFold->nKnn>0 ){
    user.rBias = pFold->rKnnBias;
    user.rated.n = pFold->nKnn;
    user.rated.aIdx = pFold->aKnnItem;
    user.rated.aResid = pFold->aKnnResid;
    user.rDamp = FOLD_DAMPING;
  }
  if( rc!=SQLITE_OK ) return rc;
  return neighbourhood(p, db, *ppScratch, &user, i, prOut, pzErr);
}
