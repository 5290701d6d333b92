/*
** eval.c: measuring the recommender in SQL, in the spirit of BigQuery ML's
** ML.EVALUATE.
**
**     -- a reproducible random 80/20 split
**     CREATE TABLE test AS SELECT * FROM ratings
**      WHERE mlrec_split_hash(userId, movieId, 42) < 0.2;
**     CREATE TABLE train AS SELECT * FROM ratings
**      WHERE mlrec_split_hash(userId, movieId, 42) >= 0.2;
**     SELECT mlrec_config('{"ratings_table": "train"}');
**     SELECT mlrec_evaluate('test');
**       -> {"model":"ranking","k":10,"threshold":4,"ratings":20168,
**           "rmse":0.84,"mae":0.65,"users":598,"precision":0.2,...}
**
** mlrec_split_hash(a, b [, seed]) is a hash of two integers and a seed
** (default 0) to a REAL uniform in [0, 1): the same arguments always give
** the same value, on every machine.  It is pure, so usable anywhere.
**
** mlrec_evaluate(test_table [, options]) scores the connection's models on
** a table with the columns of the ratings table (mlrec_config's names),
** and returns a JSON object:
**
**   ratings         rows of the test table
**   rmse, mae       errors of predict() (the train_mf() model) on them
**   users           users with at least one relevant test rating (rating
**                   >= threshold); the top-k metrics average over them
**   precision       relevant movies among the k recommended, / k
**   recall          relevant movies among the k recommended, / relevant
**   ndcg            discounted cumulative gain of the k, 1/log2(rank+1)
**                   per relevant movie, / the best possible (binary gain)
**   coverage        distinct movies recommended to them all, / movies the
**                   model can recommend
**
** The k movies are exactly what recommend(user, k, {"model": model})
** returns: the movies the user has not rated in the ratings table (the
** training data), so the test ratings must not be in it.  Options: k
** (default 10; 0 measures rmse and mae alone, the rest is null),
** threshold (4), model ("ranking", "rating" or "popular"; by default the
** model that a plain recommend() serves).
** Models not trained yet are trained with default options first; a model
** trained on other ratings than the table holds now is an error.
*/
#include "recommend.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* mlrec_split_hash(a, b [, seed]) */
static void splitHashFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  i64 a[3] = { 0, 0, 0 };
  int i;
  for(i=0; i<argc; i++){
    char *zErr;
    if( sqlite3_value_type(argv[i])==SQLITE_NULL ) return;
    if( mlrecArgToId(argv[i], &a[i])==SQLITE_OK ) continue;
    zErr = mlrecBadIdMessage("mlrec_split_hash",
                             i==0 ? "the first argument" :
                             i==1 ? "the second argument" : "seed", argv[i]);
    mlrecResultError(ctx, zErr ? SQLITE_MISMATCH : SQLITE_NOMEM, zErr);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_double(ctx, mlrecSplitHash(a[0], a[1], a[2]));
}

/* Options of mlrec_evaluate(). */
typedef struct EvalOptions EvalOptions;
struct EvalOptions {
  i64 k;
  double threshold;
  i64 eModel;
  i64 eContent;
  i64 nColdBelow;
  i64 eCandidates;
};

/* Option "candidates": the movies ranked for each user. */
static const char *const azCandidates[] = { "all", "test", 0 };

#define EV(F) .offset=offsetof(EvalOptions, F)
static const MlrecOption aEvalOption[] = {
  { "k",         'i', 0, 10000,    EV(k), 10 },
  { "threshold", 'r', -1e30, 1e30, EV(threshold), 4 },
  { "model",     'e', 0, 0,        EV(eModel), MLREC_RANK_DEFAULT,
                                   .azChoice=mlrecRankModels },
  { "content",   'e', 0, 0,        EV(eContent), MLREC_COLD_AUTO,
                                   .azChoice=mlrecContentSources },
  { "cold_below", 'i', 1, 1000000000, EV(nColdBelow), 0 },
  { "candidates", 'e', 0, 0,       EV(eCandidates), 0,
                                   .azChoice=azCandidates },
};
#define N_EVAL_OPTION (int)(sizeof(aEvalOption)/sizeof(aEvalOption[0]))

/* One test rating. */
typedef struct TestRow TestRow;
struct TestRow {
  i64 iUser, iItem;
  double r;
};

static int cmpTestRow(const void *a, const void *b){
  const TestRow *x = (const TestRow*)a, *y = (const TestRow*)b;
  if( x->iUser!=y->iUser ) return x->iUser<y->iUser ? -1 : 1;
  return (x->iItem>y->iItem) - (x->iItem<y->iItem);
}

/* Read table zTest (columns named as the ratings') into *paRow. */
static int readTest(MlrecState *p, const char *zTest, TestRow **paRow,
                    i64 *pnRow, char **pzErr){
  const MlrecConfig *c = &p->cfg;
  sqlite3_stmt *pStmt = 0;
  i64 n = 0, nAlloc = 0;
  TestRow *a = 0;
  char *zFrom = mlrecFromSql(p->db, zTest);
  char *zSql = zFrom ? sqlite3_mprintf("SELECT \"%w\".\"%w\", "
      "\"%w\".\"%w\", \"%w\".\"%w\" FROM %s", zTest, c->zUser, zTest,
      c->zMovie, zTest, c->zRating, zFrom) : 0;
  int rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0)
                : SQLITE_NOMEM;
  sqlite3_free(zFrom);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "mlrec_evaluate: cannot read the test table: %s",
                  sqlite3_errmsg(p->db));
  }
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    sqlite3_value *pR = sqlite3_column_value(pStmt, 2);
    int eType = sqlite3_value_type(pR);
    rc = SQLITE_OK;
    if( n==nAlloc ){
      TestRow *aNew = sqlite3_realloc64(a, sizeof(TestRow)*(nAlloc*2+1024));
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      a = aNew;
      nAlloc = nAlloc*2+1024;
    }
    a[n].r = sqlite3_value_double(pR);
    if( mlrecArgToId(sqlite3_column_value(pStmt, 0), &a[n].iUser)
     || mlrecArgToId(sqlite3_column_value(pStmt, 1), &a[n].iItem)
     || (eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT) || !isfinite(a[n].r) ){
      mlrecSetError(pzErr, "mlrec_evaluate: row %lld of %s needs integer ids "
                    "and a finite rating", n+1, zTest);
      rc = SQLITE_ERROR;
      break;
    }
    n++;
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "mlrec_evaluate: reading %s: %s", zTest,
                  sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    sqlite3_free(a);
    return rc;
  }
  if( n>1 ) qsort(a, n, sizeof(TestRow), cmpTestRow);
  *paRow = a;
  *pnRow = n;
  return SQLITE_OK;
}

/* Sums of the metrics. */
typedef struct EvalSums EvalSums;
struct EvalSums {
  double rSq, rAbs;          /* rating errors */
  i64 nUser;                 /* users ranked */
  double rPrecision, rRecall, rNdcg;
  double rNdcgRandom;        /* of the same candidates in random order */
  unsigned char *aShown;     /* per movie of the catalogue: recommended */
};

/*
** An error unless a model trained on data of hash h and n ratings was
** trained on the ratings of pR: evaluating a model trained on other data
** (e.g. before mlrec_config() pointed at the training part, so on the test
** ratings too) would give meaningless numbers.
*/
static int checkFresh(const MlrecRatings *pR, u64 h, i64 n,
                      const char *zTrain, char **pzErr){
  if( pR->hash==h && pR->nRating==n ) return SQLITE_OK;
  mlrecSetError(pzErr, "mlrec_evaluate: the model of %s() was trained on "
                "other ratings than the ratings table holds now; run SELECT "
                "%s() first", zTrain, zTrain);
  return SQLITE_ERROR;
}

/* True if snapshot pR holds a rating of user iUser for movie iItem. */
static int isRated(const MlrecRatings *pR, i64 iUser, i64 iItem){
  int u = mlrecFindId(pR->aUserId, pR->nUser, iUser);
  int i = mlrecFindId(pR->aItemId, pR->nItem, iItem);
  i64 lo, hi;
  if( u<0 || i<0 ) return 0;
  lo = pR->aUserStart[u];
  hi = pR->aUserStart[u+1]-1;
  while( lo<=hi ){             /* a user's movies are sorted by index */
    i64 mid = lo + (hi-lo)/2;
    if( pR->aUserItem[mid]==i ) return 1;
    if( pR->aUserItem[mid]<i ) lo = mid+1; else hi = mid-1;
  }
  return 0;
}

/*
** An error if some of the n test ratings are also in the ratings the models
** train on: a rated movie is never recommended, and a rating trained on is
** predicted too well, so the measures would say nothing (all zeros, say,
** when the test table is the ratings table itself).
*/
static int checkHeldOut(const MlrecRatings *pR, const TestRow *a, i64 n,
                        const char *zTest, char **pzErr){
  i64 k, nBoth = 0;
  for(k=0; k<n; k++) nBoth += isRated(pR, a[k].iUser, a[k].iItem);
  if( nBoth==0 ) return SQLITE_OK;
  mlrecSetError(pzErr, "mlrec_evaluate: %lld of the %lld ratings of %.40Q "
                "are also in the ratings table the models train on; hold "
                "them out of it, e.g. test on the ratings WHERE "
                "mlrec_split_hash(userId, movieId, 42) < 0.2 and train on "
                "the rest (mlrec_config's ratings_table)", nBoth, n, zTest);
  return SQLITE_ERROR;
}

/* RMSE and MAE sums of predict() over the n test rows. */
static int ratingErrors(MlrecState *p, const MlrecRatings *pR,
                        const TestRow *a, i64 n, EvalSums *pSum,
                        char **pzErr){
  MlrecModel *m = 0;
  i64 k;
  int rc = mlrecCurrentModel(p, &m, pzErr);
  if( rc==SQLITE_OK ){
    rc = checkFresh(pR, m->dataHash, m->nRating, "train_mf", pzErr);
  }
  if( rc!=SQLITE_OK ){
    mlrecModelUnref(m);
    return rc;
  }
  for(k=0; rc==SQLITE_OK && k<n; k++){
    const MlrecFold *pFold = 0;
    double r = 0.0;
    rc = mlrecFoldFor(p, m, pR, a[k].iUser, &pFold, pzErr);
    if( rc==SQLITE_OK ){
      rc = mlrecPredictRating(p, m, pFold, a[k].iUser, a[k].iItem, &r,
                              "mlrec_evaluate", pzErr);
    }
    pSum->rSq += (a[k].r-r)*(a[k].r-r);
    pSum->rAbs += fabs(a[k].r-r);
  }
  mlrecModelUnref(m);
  return rc;
}

/* True if movie iId is a candidate of the last ranking of pRec: in its
** catalogue, allowed by the filter and not rated. */
static int isCandidate(const MlrecRecommender *pRec, i64 iId){
  int i = mlrecFindId(pRec->aItemId, pRec->nItem, iId);
  if( i<0 ){
    i = mlrecFindId(pRec->aItemId+pRec->nItem, pRec->nAll-pRec->nItem, iId);
    if( i>=0 ) i += pRec->nItem;
  }
  return i>=0 && pRec->aAllow[i] && !pRec->aSeen[i];
}

/*
** The expected DCG of the first k of nCand candidates in random order,
** nRel of them relevant: each rank holds a relevant one with probability
** nRel/nCand.
*/
static double randomDcg(i64 k, i64 nCand, i64 nRel){
  double r = 0.0;
  i64 i;
  for(i=0; i<k && i<nCand; i++) r += 1.0/log2(i+2.0);
  return nCand ? r*(double)nRel/(double)nCand : 0.0;
}

/*
** Rank for the user of the nRow test rows a (sorted by movie) and add the
** top-k metrics to pSum, if the user has a relevant test rating.
*/
static int rankOneUser(MlrecRecommender *pRec, const TestRow *a, i64 nRow,
                       const EvalOptions *pOpt, MlrecTopK *pTop,
                       EvalSums *pSum, char **pzErr){
  i64 nRel = 0, nRelCand = 0, nCand = 0, t;
  double rDcg = 0.0, rIdcg = 0.0;
  int i, nHit = 0, rc;
  for(t=0; t<nRow; t++) nRel += a[t].r>=pOpt->threshold;
  if( nRel==0 ) return SQLITE_OK;
  pTop->n = 0;
  rc = mlrecRecommenderTop(pRec, a[0].iUser, 0, pTop, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  for(i=0; i<pTop->n; i++){
    i64 iId = pRec->aItemId[pTop->a[i].idx];
    pSum->aShown[pTop->a[i].idx] = 1;
    for(t=0; t<nRow && a[t].iItem<iId; t++){}
    if( t<nRow && a[t].iItem==iId && a[t].r>=pOpt->threshold ){
      nHit++;
      rDcg += 1.0/log2(i+2.0);
    }
  }
  for(i=0; i<pRec->nAll; i++) nCand += pRec->aAllow[i] && !pRec->aSeen[i];
  for(t=0; t<nRow; t++){
    nRelCand += a[t].r>=pOpt->threshold && isCandidate(pRec, a[t].iItem);
  }
  for(i=0; i<pOpt->k && i<nRel; i++) rIdcg += 1.0/log2(i+2.0);
  pSum->nUser++;
  pSum->rPrecision += (double)nHit/(double)pOpt->k;
  pSum->rRecall += (double)nHit/(double)nRel;
  pSum->rNdcg += rDcg/rIdcg;
  pSum->rNdcgRandom += randomDcg(pOpt->k, nCand, nRelCand)/rIdcg;
  return SQLITE_OK;
}

/* The distinct movies of the n test rows, as the filter of option
** "candidates": "test". */
static int testMovies(const TestRow *a, i64 n, MlrecFilter *pFilter){
  i64 k;
  pFilter->aAllow = sqlite3_malloc64(sizeof(i64)*(n+1));
  if( pFilter->aAllow==0 ) return SQLITE_NOMEM;
  for(k=0; k<n; k++) pFilter->aAllow[k] = a[k].iItem;
  pFilter->nAllow = mlrecSortDistinctIds(pFilter->aAllow, (int)n);
  pFilter->bRestricted = 1;
  return SQLITE_OK;
}

/* The top-k metrics over every user of the test rows a. */
static int rankingMetrics(MlrecState *p, MlrecRatings *pR, const TestRow *a,
                          i64 n, const EvalOptions *pOpt, EvalSums *pSum,
                          int *pnItem, char **pzErr){
  MlrecRecommender rec;
  MlrecRankSpec spec;
  MlrecFilter filter;
  MlrecTopK top;
  MlrecInterrupt intr;
  i64 k, kEnd;
  int rc = SQLITE_OK;
  memset(&rec, 0, sizeof(rec));
  memset(&filter, 0, sizeof(filter));
  memset(&top, 0, sizeof(top));
  memset(&intr, 0, sizeof(intr));
  spec.zFunc = "mlrec_evaluate";
  spec.eModel = pOpt->eModel;
  spec.eContent = pOpt->eContent;
  spec.nColdBelow = pOpt->nColdBelow;
  spec.pFilter = &filter;
  if( pOpt->eCandidates==1 ) rc = testMovies(a, n, &filter);
  if( rc==SQLITE_OK ) rc = mlrecRankSpecCheck(p, &spec, pzErr);
  if( rc==SQLITE_OK ) rc = mlrecRecommenderOpen(p, pR, &spec, 0, &rec, pzErr);
  if( rc==SQLITE_OK && rec.pRanker ){
    rc = checkFresh(pR, rec.pRanker->dataHash, rec.pRanker->nRating,
                    "train_ranker", pzErr);
  }
  if( rc==SQLITE_OK ){
    *pnItem = rec.nAll;
    pSum->aShown = sqlite3_malloc64((i64)rec.nAll+1);
    if( pSum->aShown==0 ) rc = SQLITE_NOMEM;
    else memset(pSum->aShown, 0, (size_t)rec.nAll);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecTopKInit(&top, pOpt->k<rec.nAll ? (int)pOpt->k : rec.nAll);
  }
  if( rc==SQLITE_OK ) rc = mlrecInterruptBegin(p->db, &intr);
  for(k=0; rc==SQLITE_OK && k<n; k=kEnd){
    for(kEnd=k+1; kEnd<n && a[kEnd].iUser==a[k].iUser; kEnd++){}
    rc = rankOneUser(&rec, a+k, kEnd-k, pOpt, &top, pSum, pzErr);
    if( rc==SQLITE_OK ) rc = mlrecInterrupted(&intr);
  }
  mlrecInterruptEnd(&intr);
  mlrecTopKFree(&top);
  mlrecRecommenderClose(&rec);
  sqlite3_free(filter.aAllow);
  return rc;
}

/* The JSON result of mlrec_evaluate(). */
static char *evalJson(const EvalOptions *pOpt, const char *zModel, i64 n,
                      const EvalSums *s, int nItem){
  i64 nShown = 0;
  double u = s->nUser ? (double)s->nUser : 1.0;
  char *zRanking;
  char *zOut;
  int i;
  for(i=0; i<nItem; i++) nShown += s->aShown[i];
  zRanking = pOpt->k==0
    ? sqlite3_mprintf("\"precision\":null,\"recall\":null,\"ndcg\":null,"
                      "\"ndcg_random\":null,\"coverage\":null")
    : sqlite3_mprintf("\"precision\":%!.15g,\"recall\":%!.15g,"
                      "\"ndcg\":%!.15g,\"ndcg_random\":%!.15g,"
                      "\"coverage\":%!.15g",
                      s->rPrecision/u, s->rRecall/u, s->rNdcg/u,
                      s->rNdcgRandom/u, nItem ? (double)nShown/nItem : 0.0);
  if( zRanking==0 ) return 0;
  zOut = sqlite3_mprintf("{\"model\":\"%s\",\"k\":%lld,\"threshold\":%!.15g,"
      "\"ratings\":%lld,\"rmse\":%!.15g,\"mae\":%!.15g,\"users\":%lld,%s}",
      zModel, pOpt->k, pOpt->threshold, n,
      n ? sqrt(s->rSq/(double)n) : 0.0, n ? s->rAbs/(double)n : 0.0,
      s->nUser, zRanking);
  sqlite3_free(zRanking);
  return zOut;
}

/* mlrec_evaluate(test_table [, options]) */
static void evaluateFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = mlrecStateOf(ctx);
  const char *zTest = (const char*)sqlite3_value_text(argv[0]);
  EvalOptions opt;
  EvalSums sum;
  MlrecRatings *pR = 0;
  TestRow *a = 0;
  i64 n = 0;
  char *zErr = 0, *zOut = 0;
  int nItem = 0, rc;
  memset(&sum, 0, sizeof(sum));
  mlrecOptionsDefault(aEvalOption, N_EVAL_OPTION, &opt);
  if( sqlite3_value_type(argv[0])!=SQLITE_TEXT || zTest==0 || zTest[0]==0 ){
    sqlite3_result_error(ctx, "mlrec_evaluate: the first argument must be "
                         "the name of the test table", -1);
    return;
  }
  if( (size_t)sqlite3_value_bytes(argv[0])!=strlen(zTest) ){
    sqlite3_result_error(ctx, "mlrec_evaluate: the name of the test table "
                         "must not hold a NUL character", -1);
    return;
  }
  rc = mlrecParseOptions(p->db, "mlrec_evaluate", argc>1 ? argv[1] : 0,
                         aEvalOption, N_EVAL_OPTION, &opt, &zErr);
  if( rc==SQLITE_OK ) rc = mlrecDefaultRankModel(p, &opt.eModel, &zErr);
  if( rc==SQLITE_OK ){
    const char *zPrev = mlrecReading(p, "the test table");
    rc = readTest(p, zTest, &a, &n, &zErr);
    mlrecReading(p, zPrev);
  }
  if( rc==SQLITE_OK ) rc = mlrecRatingsCurrent(p, &pR, &zErr);
  if( rc==SQLITE_OK ) rc = checkHeldOut(pR, a, n, zTest, &zErr);
  if( rc==SQLITE_OK ) rc = ratingErrors(p, pR, a, n, &sum, &zErr);
  if( rc==SQLITE_OK && opt.k>0 ){
    rc = rankingMetrics(p, pR, a, n, &opt, &sum, &nItem, &zErr);
  }
  if( rc==SQLITE_OK ){
    zOut = evalJson(&opt, mlrecRankModels[opt.eModel], n, &sum, nItem);
    if( zOut==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ){
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  }else{
    /* (SQLITE_ERROR without a message: building the message failed) */
    if( zErr==0 && rc!=SQLITE_NOMEM && rc!=SQLITE_ERROR ){
      zErr = sqlite3_mprintf("mlrec_evaluate: %s", sqlite3_errstr(rc));
    }
    mlrecResultError(ctx, rc, zErr);
  }
  sqlite3_free(zErr);
  mlrecRatingsUnref(pR);
  sqlite3_free(a);
  sqlite3_free(sum.aShown);
}

int mlrecRegisterEval(sqlite3 *db, MlrecState *p){
  /* The hash is pure, without state: welcome anywhere, even in a view that
  ** mlrec reads.  The evaluation reads tables and trains models. */
  int rc = sqlite3_create_function(db, "mlrec_split_hash", 2,
                                   SQLITE_UTF8|SQLITE_DETERMINISTIC
                                   |SQLITE_INNOCUOUS, 0, splitHashFunc, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "mlrec_split_hash", 3,
                                 SQLITE_UTF8|SQLITE_DETERMINISTIC
                                 |SQLITE_INNOCUOUS, 0, splitHashFunc, 0, 0);
  }
  if( rc==SQLITE_OK ){
    rc = mlrecCreateFunctions(db, "mlrec_evaluate", 1, 2, SQLITE_DIRECTONLY,
                              p, evaluateFunc);
  }
  return rc;
}
