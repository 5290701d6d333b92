/*
** ranker.c: the ranking model behind recommend(), and train_ranker().
**
**     SELECT train_ranker();
**     SELECT train_ranker('{"factors": 64, "sequence_weight": 0}');
**       -> {"users":610,"items":9724,"ratings":100836,"timed":1,
**           "factors":64,...,"seconds":1.2}
**
** A model trained only to predict ratings ranks obscure movies with two
** five-star ratings first.  This one is trained to rank, from two parts
** (ranking.h): implicit ALS (ials.c), whose user factors are folded in from
** the user's ratings at query time, and time sequences (sequence.c).  For a
** user, each part scores every movie; each score is standardised over the
** movies the user has not rated (mean 0, standard deviation 1) and the
** blend is
**
**     score = als_weight * z(als) + sequence_weight * z(sequence)
**
** Recent ratings count more: a rating's fold-in confidence is multiplied
** by 0.5^(age/recency), its sequence weight by 0.5^(age/sequence_recency),
** where age is the number of ratings the user made after it.  Without a
** time column (mlrec_config's time_column) the ALS part alone ranks, with
** all ratings alike.  A user with no rating of a movie the model knows gets
** the most rated movies.  The defaults were chosen by measurement on
** MovieLens (README, "Recommendation quality").
**
** Training is one job on the connection's pool for ALS, during which the
** calling thread (the only one that may call SQLite) first reads the users'
** sequences, one scan of the ratings table, while the helpers start on ALS;
** then the sequence links, on every thread.  On 2 cores at 25 million
** ratings the scan takes about 5 s of the training.
**
** On first use, recommend() loads the ranking model saved as 'default' if
** the database holds one (persist.c), else trains one with default options;
** the model is kept until train_ranker() or mlrec_load_model() replaces
** it.  Since users are folded in at query time, ratings added after
** training count at once.
*/
#include "ranking.h"
#include <math.h>
#include <string.h>

#define RK(F) .offset=offsetof(MlrecRankerOptions, F)
const MlrecOption mlrecRankerOptionSpec[] = {
  { "factors",        'i', 1, MLREC_MAX_FACTORS, RK(nFactor), 32 },
  { "iterations",     'i', 1, 1000,  RK(nIter), 3 },
  { "alpha",          'r', 0, 1e6,   RK(alpha), 8 },
  { "regularization", 'r', 1e-6, 1e9, RK(regularization), 20 },
  { "recency",        'r', 1e-3, 1e12, RK(recency), 10 },
  { "window",         'i', 1, 10000, RK(window), 12 },
  { "sequence_links", 'i', 1, 100000, RK(sequenceLinks), 200 },
  { "window_decay",   'r', 1e-3, 1e12, RK(windowDecay), 20 },
  { "sequence_recency", 'r', 1e-3, 1e12, RK(sequenceRecency), 2 },
  { "popularity_exponent", 'r', 0, 2, RK(popularityExponent), 0.3 },
  { "als_weight",     'r', 0, 1e6,   RK(alsWeight), 1 },
  { "sequence_weight", 'r', 0, 1e6,  RK(sequenceWeight), 1 },
  { "seed",           'i', -9223372036854775808.0, 9223372036854775807.0,
                                     RK(seed), 42 },
  { "threads",        'i', 1, MLREC_MAX_THREADS, RK(nThread),
                                     .mFlags=MLREC_OPT_CORES },
};
const int mlrecRankerOptionCount =
  (int)(sizeof(mlrecRankerOptionSpec)/sizeof(mlrecRankerOptionSpec[0]));

static void rankerDefaults(MlrecRankerOptions *p){
  mlrecOptionsDefault(mlrecRankerOptionSpec, mlrecRankerOptionCount, p);
}

/* The options of r as a JSON object, with "timed" (1 if sequences). */
char *mlrecRankerOptionsJson(const MlrecRanker *r){
  char *zOpt = mlrecOptionsJson(mlrecRankerOptionSpec, mlrecRankerOptionCount,
                                &r->opt);
  char *zOut = zOpt ? sqlite3_mprintf("%.*s,\"timed\":%d}",
                                      (int)strlen(zOpt)-1, zOpt, r->bTimed) : 0;
  sqlite3_free(zOpt);
  return zOut;
}

void mlrecRankerRef(MlrecRanker *r){
  mlrecSharedRef(&r->shared);
}

void mlrecRankerUnref(MlrecRanker *r){
  if( r==0 || !mlrecSharedUnref(&r->shared) ) return;
  sqlite3_free(r->aItemId);
  sqlite3_free(r->aItemCount);
  sqlite3_free(r->aItemFactor);
  sqlite3_free(r->aGram);
  sqlite3_free(r->aLinkStart);
  sqlite3_free(r->aLinkItem);
  sqlite3_free(r->aLinkWeight);
  sqlite3_free(r->aItemDamp);
  sqlite3_free(r);
}

/* A model sized for snapshot pR, with ids, counts and dampings. */
static MlrecRanker *newRanker(const MlrecRatings *pR,
                              const MlrecRankerOptions *pOpt){
  MlrecRanker *r = sqlite3_malloc64(sizeof(*r));
  int i;
  if( r==0 ) return 0;
  memset(r, 0, sizeof(*r));
  mlrecSharedInit(&r->shared);
  r->opt = *pOpt;
  r->nUser = pR->nUser;
  r->nItem = pR->nItem;
  r->nFactor = (int)pOpt->nFactor;
  r->aItemId = sqlite3_malloc64(sizeof(i64)*((i64)pR->nItem+1));
  r->aItemCount = sqlite3_malloc64(sizeof(int)*((i64)pR->nItem+1));
  r->aItemDamp = sqlite3_malloc64(sizeof(double)*((i64)pR->nItem+1));
  if( !r->aItemId || !r->aItemCount || !r->aItemDamp ){
    mlrecRankerUnref(r);
    return 0;
  }
  memcpy(r->aItemId, pR->aItemId, sizeof(i64)*pR->nItem);
  for(i=0; i<pR->nItem; i++){
    r->aItemCount[i] = (int)(pR->aItemStart[i+1] - pR->aItemStart[i]);
    r->aItemDamp[i] = pow((double)r->aItemCount[i], -pOpt->popularityExponent);
  }
  r->rMin = pR->rMin;
  r->rMax = pR->rMax;
  r->nRating = pR->nRating;
  r->dataHash = pR->hash;
  return r;
}

/*
** The users' sequences, read on the calling thread while the helpers start
** on ALS, from the read transaction the snapshot came from: the same
** ratings, whatever other connections commit meanwhile.  The transaction
** ends with the read, not with the training.
*/
typedef struct SequenceRead SequenceRead;
struct SequenceRead {
  MlrecState *p;
  const MlrecRatings *pR;
  MlrecRanker *r;
  MlrecSequences *pSeq;      /* what was read, or NULL */
  char **pzErr;
  int bPinned;               /* the read transaction is still open */
};

static void endRead(SequenceRead *pRead){
  if( pRead->bPinned ) mlrecReadUnpin(pRead->p);
  pRead->bPinned = 0;
}

static int readSequences(void *pCtx){
  SequenceRead *pRead = (SequenceRead*)pCtx;
  const char *zPrev = mlrecReading(pRead->p, "the ratings table");
  int rc = mlrecSequenceRead(pRead->p, pRead->pR, pRead->r, &pRead->pSeq,
                             pRead->pzErr);
  mlrecReading(pRead->p, zPrev);
  endRead(pRead);
  return rc;
}

/* Train a ranking model on the ratings table with options pOpt. */
static int trainRanker(MlrecState *p, const MlrecRankerOptions *pOpt,
                       MlrecRanker **ppOut, char **pzErr){
  double t0 = mlrecClock();
  MlrecRatings *pR = 0;
  MlrecRanker *r = 0;
  SequenceRead seq;
  int rc = mlrecReadPin(p, pzErr);
  *ppOut = 0;
  if( rc!=SQLITE_OK ) return rc;
  memset(&seq, 0, sizeof(seq));
  seq.p = p;
  seq.pzErr = pzErr;
  seq.bPinned = 1;
  rc = mlrecRatingsCurrent(p, &pR, pzErr);
  if( rc==SQLITE_OK && pR->nRating==0 ){
    mlrecSetError(pzErr, "train_ranker: the ratings table is empty; there is "
                  "nothing to train on");
    rc = SQLITE_ERROR;
  }
  if( rc==SQLITE_OK ){
    r = newRanker(pR, pOpt);
    if( r==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    seq.pR = pR;
    seq.r = r;
    rc = mlrecIalsTrain(p, pR, r, (int)pOpt->nThread, readSequences, &seq,
                        pzErr);
  }
  endRead(&seq);
  if( rc==SQLITE_OK && seq.pSeq ){
    rc = mlrecSequenceLink(p, seq.pSeq, r, (int)pOpt->nThread, pzErr);
  }
  mlrecSequenceFree(seq.pSeq);
  mlrecRatingsUnref(pR);
  if( rc!=SQLITE_OK ){
    mlrecRankerUnref(r);
    if( *pzErr==0 && rc!=SQLITE_NOMEM ){
      mlrecSetError(pzErr, "train_ranker: %s", sqlite3_errstr(rc));
    }
    return rc;
  }
  r->trainedAt = mlrecNow();
  r->seconds = mlrecClock() - t0;
  *ppOut = r;
  return SQLITE_OK;
}

/*
** Make r (a new reference, or NULL) the ranking model of the connection,
** trained here until the caller says otherwise (rankerOrigin).
*/
void mlrecSetRanker(MlrecState *p, MlrecRanker *r){
  mlrecRankerUnref(p->pRanker);
  p->pRanker = r;
  mlrecOriginClear(&p->rankerOrigin);
}

/*
** Set *ppOut to a new reference to the ranker: the connection's, else the
** saved model 'default' (xAutoLoad), else one trained with default options.
*/
int mlrecCurrentRanker(MlrecState *p, MlrecRanker **ppOut, char **pzErr){
  int rc;
  *ppOut = 0;
  if( p->pRanker==0 && p->xAutoLoad ){
    rc = p->xAutoLoad(p, pzErr);
    if( rc!=SQLITE_OK ) return rc;
  }
  if( p->pRanker==0 ){
    MlrecRankerOptions opt;
    MlrecRanker *r = 0;
    rankerDefaults(&opt);
    rc = trainRanker(p, &opt, &r, pzErr);
    if( rc!=SQLITE_OK ) return rc;
    mlrecSetRanker(p, r);
  }
  mlrecRankerRef(p->pRanker);
  *ppOut = p->pRanker;
  return SQLITE_OK;
}

/* train_ranker([options]) */
static void trainRankerFunc(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  MlrecRankerOptions opt;
  MlrecRanker *r = 0;
  char *zErr = 0, *zOpt = 0, *zOut = 0;
  int rc;
  rankerDefaults(&opt);
  rc = mlrecParseOptions(p->db, "train_ranker", argc ? argv[0] : 0,
                         mlrecRankerOptionSpec, mlrecRankerOptionCount, &opt,
                         &zErr);
  if( rc==SQLITE_OK ) rc = trainRanker(p, &opt, &r, &zErr);
  if( rc!=SQLITE_OK ){
    mlrecResultError(ctx, rc, zErr);
    sqlite3_free(zErr);
    return;
  }
  mlrecSetRanker(p, r);
  zOpt = mlrecRankerOptionsJson(r);
  if( zOpt ){
    zOut = sqlite3_mprintf("{\"users\":%d,\"items\":%d,\"ratings\":%lld,%.*s,"
                           "\"seconds\":%!.6g}", r->nUser, r->nItem,
                           r->nRating, (int)strlen(zOpt)-2, zOpt+1,
                           r->seconds);
    sqlite3_free(zOpt);
  }
  if( zOut==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
}

int mlrecRegisterRanker(sqlite3 *db, MlrecState *p){
  /* Reads tables and changes the connection's model. */
  return mlrecCreateFunctions(db, "train_ranker", 0, 1, SQLITE_DIRECTONLY, p,
                              trainRankerFunc);
}

/* Work space of one user's scoring, and what explaining it needs. */
struct MlrecRankWork {
  int nItem, nFactor, nHist;  /* sizes the arrays were allocated for */
  double *aAls, *aSeq;        /* nItem scores of each part */
  double *aL, *aX, *aV;       /* fold-in: Cholesky factor, user, work */
  int *aItem;                 /* per rating: movie index, or -1 */
  double *aConf;              /* per rating: fold-in confidence minus one */
  double *aBase;              /* per rating: the same before recency */
  double *aWeight;            /* per rating: sequence weight */
  double *aContrib;           /* per rating: share of an explained score */
  double rAls, rSeq;          /* weight/stddev of each part, 0 if unused */
  int bPersonal;              /* the last user had ratings the model knows */
};

void mlrecRankWorkFree(MlrecRankWork *w){
  if( w==0 ) return;
  sqlite3_free(w->aAls);
  sqlite3_free(w->aSeq);
  sqlite3_free(w->aL);
  sqlite3_free(w->aItem);
  sqlite3_free(w->aConf);
  sqlite3_free(w);
}

/* Make *ppWork big enough for model r and a history of nHist ratings. */
static int workFor(const MlrecRanker *r, int nHist, MlrecRankWork **ppWork){
  MlrecRankWork *w = *ppWork;
  int f = r->nFactor;
  if( w && (w->nItem!=r->nItem || w->nFactor!=f) ){
    mlrecRankWorkFree(w);
    *ppWork = w = 0;
  }
  if( w==0 ){
    *ppWork = w = sqlite3_malloc64(sizeof(*w));
    if( w==0 ) return SQLITE_NOMEM;
    memset(w, 0, sizeof(*w));
    w->nItem = r->nItem;
    w->nFactor = f;
    w->aAls = sqlite3_malloc64(sizeof(double)*((i64)r->nItem+1));
    w->aSeq = sqlite3_malloc64(sizeof(double)*((i64)r->nItem+1));
    w->aL = sqlite3_malloc64(sizeof(double)*((i64)f*f+2*f));
    if( !w->aAls || !w->aSeq || !w->aL ) return SQLITE_NOMEM;
    w->aX = w->aL + (i64)f*f;
    w->aV = w->aX + f;
  }
  /* allocated even for an empty history: no arithmetic on NULL below */
  if( nHist>w->nHist || w->aConf==0 ){
    int *aItem = sqlite3_realloc64(w->aItem, sizeof(int)*((i64)nHist+1));
    double *aConf = sqlite3_realloc64(w->aConf,
                                      sizeof(double)*4*((i64)nHist+1));
    if( aItem ) w->aItem = aItem;
    if( aConf ) w->aConf = aConf;
    if( !aItem || !aConf ) return SQLITE_NOMEM;
    w->nHist = nHist;
  }
  w->aWeight = w->aConf + w->nHist;
  w->aContrib = w->aWeight + w->nHist;
  w->aBase = w->aContrib + w->nHist;
  return SQLITE_OK;
}

/* Rating scaled to [0, 1] on the model's scale. */
static double scaledRating(const MlrecRanker *r, double rating){
  return r->rMax>r->rMin ? (rating - r->rMin)/(r->rMax - r->rMin) : 1.0;
}

/* Weights of the ratings of pHist in each part, by rating and age. */
static void weighHistory(const MlrecRanker *r, const MlrecHistory *pHist,
                         MlrecRankWork *w){
  int t;
  for(t=0; t<pHist->n; t++){
    double age = pHist->n-1-t;
    double rSeqDecay = pow(0.5, age/r->opt.sequenceRecency);
    w->aBase[t] = mlrecIalsConfidence(r, pHist->aRating[t]);
    w->aConf[t] = w->aBase[t];
    if( r->bTimed ) w->aConf[t] *= pow(0.5, age/r->opt.recency);
    /* sequence weights below 1/1000 of the newest are not worth a walk */
    w->aWeight[t] = rSeqDecay<1e-3 ? 0.0
                  : rSeqDecay*scaledRating(r, pHist->aRating[t]);
  }
}

/*
** Standardise aPart over the movies not in aSeen and add it to aScore with
** weight rWeight.  Returns rWeight / standard deviation (0 if constant).
*/
static double addStandardised(const double *aPart, const unsigned char *aSeen,
                              int n, double rWeight, double *aScore){
  double rSum = 0.0, rSq = 0.0, rMean, rStd;
  int j, nFree = 0;
  for(j=0; j<n; j++){
    if( aSeen[j] ) continue;
    rSum += aPart[j];
    nFree++;
  }
  if( nFree==0 ) return 0.0;
  rMean = rSum/nFree;
  for(j=0; j<n; j++){
    if( !aSeen[j] ) rSq += (aPart[j]-rMean)*(aPart[j]-rMean);
  }
  rStd = sqrt(rSq/nFree);
  if( !(rStd>0.0) ) return 0.0;
  for(j=0; j<n; j++) aScore[j] += rWeight*(aPart[j]-rMean)/rStd;
  return rWeight/rStd;
}

/*
** Score every movie of r for the user whose ratings are pHist: aScore and
** aSeen have r->nItem entries; aSeen must be zero and gets 1 for the movies
** rated.  *pbPersonal is 0 if no rating was of a movie r knows: the scores
** are then the movies' numbers of ratings.
*/
int mlrecRankerScore(const MlrecRanker *r, const MlrecHistory *pHist,
                     MlrecRankWork **ppWork, double *aScore,
                     unsigned char *aSeen, int *pbPersonal){
  MlrecRankWork *w;
  int t, j, nKnown = 0;
  int rc = workFor(r, pHist->n, ppWork);
  if( rc!=SQLITE_OK ) return rc;
  w = *ppWork;
  for(t=0; t<pHist->n; t++){
    w->aItem[t] = mlrecFindId(r->aItemId, r->nItem, pHist->aId[t]);
    if( w->aItem[t]>=0 ){
      aSeen[w->aItem[t]] = 1;
      nKnown++;
    }
  }
  w->bPersonal = *pbPersonal = nKnown>0;
  w->rAls = w->rSeq = 0.0;
  if( nKnown==0 ){
    for(j=0; j<r->nItem; j++) aScore[j] = r->aItemCount[j];
    return SQLITE_OK;
  }
  weighHistory(r, pHist, w);
  memset(aScore, 0, sizeof(double)*r->nItem);
  if( r->opt.alsWeight>0.0 ){
    const int f = r->nFactor;
    if( mlrecIalsFoldIn(r, pHist->n, w->aItem, w->aConf, w->aL, w->aX) ){
      return SQLITE_ERROR;
    }
    for(j=0; j<r->nItem; j++){
      const float *y = r->aItemFactor + (i64)j*f;
      double s = 0.0;
      int d;
      for(d=0; d<f; d++) s += w->aX[d]*y[d];
      w->aAls[j] = s;
    }
    w->rAls = addStandardised(w->aAls, aSeen, r->nItem, r->opt.alsWeight,
                              aScore);
  }
  if( r->bTimed && r->opt.sequenceWeight>0.0 ){
    memset(w->aSeq, 0, sizeof(double)*r->nItem);
    mlrecSequenceScore(r, pHist->n, w->aItem, w->aWeight, w->aSeq);
    w->rSeq = addStandardised(w->aSeq, aSeen, r->nItem,
                              r->opt.sequenceWeight, aScore);
  }
  return SQLITE_OK;
}

/* The folded-in factors of the last user scored with w, or NULL if the
** ALS part did not score that user. */
const double *mlrecRankerUserFactors(const MlrecRankWork *w){
  return w && w->bPersonal && w->rAls>0.0 ? w->aX : 0;
}

/*
** Store in *piOut the rated movie (an id of pHist) that contributed most to
** the score of movie index iItem in the last mlrecRankerScore() call with
** w, and return 1; return 0 if that score was not personal.  The reason
** is a likeness: the share of each rating in the ALS part (movies liked by
** the same people), weighed by its rating but not by its age, since the
** recency weights and the sequences (what people rated next, which are
** about time, not likeness) made the last movie rated the reason for
** almost everything.  Only without the ALS part do sequences explain.
*/
int mlrecRankerBecause(const MlrecRanker *r, const MlrecHistory *pHist,
                       MlrecRankWork *w, int iItem, i64 *piOut){
  int t, iBest = -1;
  if( !w->bPersonal ) return 0;
  memset(w->aContrib, 0, sizeof(double)*pHist->n);
  if( w->rAls>0.0 ){
    mlrecIalsExplain(r, w->aL, iItem, pHist->n, w->aItem, w->aBase, w->aV,
                     w->aContrib);
    for(t=0; t<pHist->n; t++) w->aContrib[t] *= w->rAls;
  }
  for(t=0; t<pHist->n; t++){
    if( w->aItem[t]<0 ) continue;
    if( w->rAls==0.0 && w->rSeq>0.0 && w->aWeight[t]>0.0 ){
      w->aContrib[t] += w->rSeq*scaledRating(r, pHist->aRating[t])
                        *mlrecSequencePair(r, w->aItem[t], iItem);
    }
    /* ties go to the more recent rating */
    if( iBest<0 || w->aContrib[t]>=w->aContrib[iBest] ) iBest = t;
  }
  if( iBest<0 ) return 0;
  *piOut = pHist->aId[iBest];
  return 1;
}
