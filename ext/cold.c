/*
** cold.c: movies the ranking model was not trained on (new movies, with no
** ratings yet, or with fewer than "cold_below"), placed into recommend()'s
** lists from what they are about: the content vectors of content.c.
**
**     SELECT * FROM recommend(1, 10);          -- new movies can appear
**     SELECT * FROM recommend(1, 10, '{"content": "embedding"}');
**     SELECT * FROM recommend(1, 10, '{"content": "none"}');
**     SELECT * FROM recommend(1, 10, '{"cold_below": 3}');
**
** A movie's features are its "plain" content: with TF-IDF its decade and
** genre tokens, scaled to length 1 again without the tags (a new movie has
** none yet); with embeddings its vector.  A map, ridge regression from
** the features (and a constant) to the ALS item factors, is fitted on at
** most 4096 of the model's movies and predicts factors y'(c) for any
** movie.  For a user with folded-in factors x and ratings r(m), a cold
** movie c gets the taste
**
**     t(c) = z(x . y'(c)) + 0.5 z(p . f(c)),   p = sum of r(m) f(m)
**
** with z standardising over the cold movies and a reference sample of at
** most 1024 model movies the user has not rated (their t computed the
** same way, from their content).  A cold movie whose t ranks at quantile
** q among the references gets a key just below the model score at
** quantile 2q of the user's unrated model movies: cold movies are ranked
** among themselves by t, and one enters the top of a list only when its
** content beats nearly all the references (for a user the model cannot
** place, whose list is the most rated movies, cold movies come after
** them, in order of t).  Its "because" is the rated
** movie m that maximises r(m) x the cosine of f(m) and f(c).
**
** Maps are cached per connection, one per content source, and hold
** references to the ranker and the vectors they were fitted on: a
** retrained model or changed content gives a new map.  A map keeps only
** what is small: TF-IDF features and predicted factors are computed when
** a query needs them (a few dozen operations a movie), but for the sample
** of references, so that connections serving one shared model do not hold
** a copy each of something as large as the model's factors.
*/
#include "recommend.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COLD_FIT_MOVIES   4096   /* most model movies the map is fitted on */
#define COLD_REFERENCES   1024   /* most reference movies per user */
#define COLD_RIDGE        0.3    /* ridge penalty of the map */
#define COLD_PROFILE      0.5    /* weight of the profile term of t */
#define COLD_SCALE        2.0    /* quantile of warm scores per quantile of t */

struct MlrecColdMap {
  int nRef;
  MlrecRanker *pRanker;  /* the model fitted on (a reference) */
  MlrecVectors *pVec;    /* the content (a reference) */
  int nDim;              /* features per movie, the constant left out */
  int bTfidf;            /* features from the TF-IDF tokens, else the
                         ** vectors themselves (embeddings) */
  double *aW;            /* the map: nFactor rows of nDim+1 weights, the
                         ** constant's last */
  float *aSamplePred;    /* nSample x nFactor predicted factors */
  int *aVecOfItem;       /* per model movie: its vector, or -1 */
  int nNew;              /* movies with a vector that the model lacks */
  i64 *aNewId;           /* their ids, ascending */
  int *aNewVec;          /* their vectors */
  int nSample;           /* reference candidates: model movies with a */
  int *aSample;          /* vector, evenly spaced */
};

struct MlrecColdCache {
  MlrecColdMap *apMap[2];  /* MLREC_CONTENT_TFIDF, MLREC_CONTENT_EMBEDDING */
};

/* A cold movie (an index of the recommender) and its t. */
typedef struct ColdKey ColdKey;
struct ColdKey {
  double t;
  int i;
};

/* Per-user work space of mlrecColdScore(). */
struct MlrecColdWork {
  int nAlloc;            /* movies it has room for */
  ColdKey *aKey;         /* the cold movies */
  int *aRef;             /* the references (places in the sample), then
                         ** the ranks of the cold movies' places */
  ColdKey *aRefKey;      /* their t, and index */
  double *aWarm;         /* scores of the unrated model movies */
  double *aTaste, *aProf;  /* raw terms: cold movies, then references;
                         ** then aTaste holds the scores of their places */
  double *aProfile;      /* the user's profile p, nDim */
  float *aPlainX;        /* features of one movie, nDim */
  float *aPlainY;        /* and of another, nDim */
  float *aPred;          /* predicted factors of one movie */
};

/*
** The TF-IDF features of vector iVec into aOut: its decade and genre tokens
** that another movie has too, scaled to length 1 (all zero for a movie
** with none).
*/
static void tfidfInto(const MlrecColdMap *m, int iVec, float *aOut){
  const MlrecVectors *v = m->pVec;
  double rSq = 0.0;
  i64 k;
  int d;
  memset(aOut, 0, sizeof(float)*m->nDim);
  for(k=v->aItemStart[iVec]; k<v->aItemStart[iVec+1]; k++){
    int iTok = v->aItemToken[k];
    /* a token of one movie alone tells nothing, and would drown the rest */
    if( iTok>=m->nDim || v->aTokenStart[iTok+1]-v->aTokenStart[iTok]<2 ){
      continue;
    }
    aOut[iTok] = v->aItemWeight[k];
    rSq += (double)v->aItemWeight[k]*v->aItemWeight[k];
  }
  if( rSq>0.0 ){
    for(d=0; d<m->nDim; d++) aOut[d] = (float)(aOut[d]/sqrt(rSq));
  }
}

/* The features of vector iVec: computed into aBuf (nDim floats) for
** TF-IDF, the embedding itself otherwise. */
static const float *plainOf(const MlrecColdMap *m, int iVec, float *aBuf){
  if( !m->bTfidf ) return m->pVec->aVec + (i64)iVec*m->nDim;
  tfidfInto(m, iVec, aBuf);
  return aBuf;
}

static double dotFD(const float *a, const double *b, int n){
  double s = 0.0;
  int i;
  for(i=0; i<n; i++) s += a[i]*b[i];
  return s;
}

void mlrecColdMapUnref(MlrecColdMap *m){
  if( m==0 || --m->nRef>0 ) return;
  mlrecRankerUnref(m->pRanker);
  mlrecVectorsUnref(m->pVec);
  sqlite3_free(m->aW);
  sqlite3_free(m->aSamplePred);
  sqlite3_free(m->aVecOfItem);
  sqlite3_free(m->aNewId);
  sqlite3_free(m->aNewVec);
  sqlite3_free(m->aSample);
  sqlite3_free(m);
}

void mlrecColdCacheFree(MlrecColdCache *p){
  if( p==0 ) return;
  mlrecColdMapUnref(p->apMap[0]);
  mlrecColdMapUnref(p->apMap[1]);
  sqlite3_free(p);
}

/* Which vector each model movie has, the new movies, the sample. */
static int matchMovies(MlrecColdMap *m){
  const MlrecRanker *r = m->pRanker;
  const MlrecVectors *v = m->pVec;
  int i, nWith = 0, nStep;
  m->aVecOfItem = sqlite3_malloc64(sizeof(int)*((i64)r->nItem+1));
  m->aNewId = sqlite3_malloc64(sizeof(i64)*((i64)v->nItem+1));
  m->aNewVec = sqlite3_malloc64(sizeof(int)*((i64)v->nItem+1));
  m->aSample = sqlite3_malloc64(sizeof(int)*(COLD_FIT_MOVIES+1));
  if( !m->aVecOfItem || !m->aNewId || !m->aNewVec || !m->aSample ){
    return SQLITE_NOMEM;
  }
  for(i=0; i<r->nItem; i++){
    m->aVecOfItem[i] = mlrecFindId(v->aItemId, v->nItem, r->aItemId[i]);
    nWith += m->aVecOfItem[i]>=0;
  }
  for(i=0; i<v->nItem; i++){
    if( mlrecFindId(r->aItemId, r->nItem, v->aItemId[i])>=0 ) continue;
    m->aNewId[m->nNew] = v->aItemId[i];
    m->aNewVec[m->nNew++] = i;
  }
  nStep = (nWith + COLD_FIT_MOVIES - 1)/COLD_FIT_MOVIES;
  for(i=0, nWith=0; i<r->nItem; i++){
    if( m->aVecOfItem[i]<0 ) continue;
    if( nWith++ % nStep==0 ) m->aSample[m->nSample++] = i;
  }
  return SQLITE_OK;
}

/*
** Add the sums of the ridge regression's normal equations over the sample
** into aA (d x d, lower triangle) and aW (f x d): about d^2/2 operations a
** movie (0.3 s for 768-dimensional embeddings), so it honours
** sqlite3_interrupt().
*/
static int sumSample(const MlrecColdMap *m, sqlite3 *db, double *aA,
                     double *aW, double *aX, float *aBuf){
  const MlrecRanker *r = m->pRanker;
  const int d = m->nDim+1, f = r->nFactor;
  MlrecInterrupt intr;
  int s, i, j, c;
  int rc = mlrecInterruptBegin(db, &intr);
  for(s=0; rc==SQLITE_OK && s<m->nSample; s++){
    const float *y = r->aItemFactor + (i64)m->aSample[s]*f;
    const float *x = plainOf(m, m->aVecOfItem[m->aSample[s]], aBuf);
    if( (s & 15)==0 && (rc = mlrecInterrupted(&intr))!=SQLITE_OK ) break;
    for(i=0; i<d; i++) aX[i] = i<m->nDim ? x[i] : 1.0;
    for(i=0; i<d; i++){
      for(j=0; j<=i; j++) aA[(i64)i*d+j] += aX[i]*aX[j];
      for(c=0; c<f; c++) aW[(i64)c*d+i] += aX[i]*y[c];
    }
  }
  mlrecInterruptEnd(&intr);
  return rc;
}

/* The factors that the map predicts for a movie of features x, into aOut. */
static void predictInto(const MlrecColdMap *m, const float *x, float *aOut){
  const int d = m->nDim+1, f = m->pRanker->nFactor;
  int c;
  for(c=0; c<f; c++){
    const double *w = m->aW + (i64)c*d;
    aOut[c] = (float)(dotFD(x, w, m->nDim) + w[m->nDim]);
  }
}

/*
** Fit the ridge regression from features (and a constant) to item factors
** on the sample into m->aW, and predict the factors of the sample.
*/
static int fitMap(MlrecColdMap *m, sqlite3 *db){
  const int d = m->nDim+1, f = m->pRanker->nFactor;
  double *aA = sqlite3_malloc64(sizeof(double)*((i64)d*d + d)
                                + sizeof(float)*(i64)d);
  double *aX;
  float *aBuf;
  int s, c, rc;
  m->aW = sqlite3_malloc64(sizeof(double)*(i64)d*f);
  m->aSamplePred = sqlite3_malloc64(sizeof(float)*((i64)m->nSample*f+1));
  if( aA==0 || m->aW==0 || m->aSamplePred==0 ){
    sqlite3_free(aA);
    return SQLITE_NOMEM;
  }
  aX = aA + (i64)d*d;
  aBuf = (float*)(aX + d);
  memset(aA, 0, sizeof(double)*(i64)d*d);
  memset(m->aW, 0, sizeof(double)*(i64)d*f);
  rc = sumSample(m, db, aA, m->aW, aX, aBuf);
  for(s=0; s<d; s++) aA[(i64)s*d+s] += COLD_RIDGE;
  if( rc==SQLITE_OK && mlrecCholesky(aA, d)!=SQLITE_OK ) rc = SQLITE_ERROR;
  for(c=0; rc==SQLITE_OK && c<f; c++){
    mlrecCholeskySolve(aA, d, m->aW + (i64)c*d);
  }
  for(s=0; rc==SQLITE_OK && s<m->nSample; s++){
    predictInto(m, plainOf(m, m->aVecOfItem[m->aSample[s]], aBuf),
                m->aSamplePred + (i64)s*f);
  }
  sqlite3_free(aA);
  return rc;
}

static int newMap(sqlite3 *db, MlrecRanker *pRanker, MlrecVectors *pVec,
                  int eSource, MlrecColdMap **ppOut){
  MlrecColdMap *m = sqlite3_malloc64(sizeof(*m));
  int rc;
  *ppOut = 0;
  if( m==0 ) return SQLITE_NOMEM;
  memset(m, 0, sizeof(*m));
  m->nRef = 1;
  mlrecRankerRef(m->pRanker = pRanker);
  m->pVec = pVec;
  pVec->nRef++;
  m->bTfidf = eSource==MLREC_CONTENT_TFIDF;
  m->nDim = m->bTfidf ? pVec->nPlainToken : pVec->nDim;
  rc = matchMovies(m);
  if( rc==SQLITE_OK ) rc = fitMap(m, db);
  if( rc!=SQLITE_OK ){
    mlrecColdMapUnref(m);
    return rc;
  }
  *ppOut = m;
  return SQLITE_OK;
}

/*
** Set *ppOut to a new reference to the map from the content vectors pVec
** (of source eSource) to the factors of pRanker, fitting it unless the
** connection's cache holds it.  Runs no SQL of the user's (only the probe
** of sqlite3_interrupt()).
*/
int mlrecColdMapFor(MlrecState *p, MlrecRanker *pRanker, MlrecVectors *pVec,
                    int eSource, MlrecColdMap **ppOut, char **pzErr){
  MlrecColdMap *m;
  int rc;
  *ppOut = 0;
  if( p->pCold==0 ){
    p->pCold = sqlite3_malloc64(sizeof(MlrecColdCache));
    if( p->pCold==0 ) return SQLITE_NOMEM;
    memset(p->pCold, 0, sizeof(MlrecColdCache));
  }
  m = p->pCold->apMap[eSource];
  if( m==0 || m->pRanker!=pRanker || m->pVec!=pVec ){
    rc = newMap(p->db, pRanker, pVec, eSource, &m);
    if( rc==SQLITE_ERROR ){
      mlrecSetError(pzErr, "mlrec: cannot fit the content of the movies to "
                    "the ranking model's factors (they are not finite "
                    "numbers)");
    }
    if( rc!=SQLITE_OK ) return rc;
    mlrecColdMapUnref(p->pCold->apMap[eSource]);
    p->pCold->apMap[eSource] = m;
  }
  m->nRef++;
  *ppOut = m;
  return SQLITE_OK;
}

int mlrecColdNewCount(const MlrecColdMap *m){ return m->nNew; }
const i64 *mlrecColdNewIds(const MlrecColdMap *m){ return m->aNewId; }

void mlrecColdWorkFree(MlrecColdWork *w){
  if( w==0 ) return;
  sqlite3_free(w->aKey);
  sqlite3_free(w->aRef);
  sqlite3_free(w->aRefKey);
  sqlite3_free(w->aWarm);
  sqlite3_free(w->aPlainX);
  sqlite3_free(w);
}

/* Make *ppW big enough for map m and nAll movies. */
static int coldWorkFor(const MlrecColdMap *m, int nAll, MlrecColdWork **ppW){
  MlrecColdWork *w = *ppW;
  i64 n = (i64)nAll + COLD_REFERENCES + 1;
  if( w && w->nAlloc>=nAll ) return SQLITE_OK;
  mlrecColdWorkFree(w);
  *ppW = w = sqlite3_malloc64(sizeof(*w));
  if( w==0 ) return SQLITE_NOMEM;
  memset(w, 0, sizeof(*w));
  w->aKey = sqlite3_malloc64(sizeof(ColdKey)*n);
  w->aRef = sqlite3_malloc64(sizeof(int)*n);
  w->aRefKey = sqlite3_malloc64(sizeof(ColdKey)*n);
  w->aWarm = sqlite3_malloc64(sizeof(double)*(3*n + m->nDim + 1));
  w->aPlainX = sqlite3_malloc64(sizeof(float)*(2*(i64)m->nDim
                                               + m->pRanker->nFactor + 1));
  if( !w->aKey || !w->aRef || !w->aRefKey || !w->aWarm || !w->aPlainX ){
    return SQLITE_NOMEM;
  }
  w->aPlainY = w->aPlainX + m->nDim;
  w->aPred = w->aPlainY + m->nDim;
  w->aTaste = w->aWarm + n;
  w->aProf = w->aTaste + n;
  w->aProfile = w->aProf + n;
  w->nAlloc = nAll;
  return SQLITE_OK;
}

/* The vector of recommender index i (model movies first, then new ones). */
static int vecOf(const MlrecColdMap *m, int i){
  int nItem = m->pRanker->nItem;
  return i<nItem ? m->aVecOfItem[i] : m->aNewVec[i-nItem];
}

/* True if recommender index i is a cold movie: a new one, or a model movie
** with content and fewer than nColdBelow ratings. */
int mlrecColdIs(const MlrecColdMap *m, int nColdBelow, int i){
  const MlrecRanker *r = m->pRanker;
  return i>=r->nItem
      || (r->aItemCount[i]<nColdBelow && m->aVecOfItem[i]>=0);
}

/* Mean and 1/standard deviation of a[0..n) (0 if constant). */
static void meanScale(const double *a, int n, double *pMean, double *pScale){
  double s = 0.0, q = 0.0;
  int i;
  for(i=0; i<n; i++) s += a[i];
  *pMean = n ? s/n : 0.0;
  for(i=0; i<n; i++) q += (a[i]-*pMean)*(a[i]-*pMean);
  *pScale = n && q>0.0 ? 1.0/sqrt(q/n) : 0.0;
}

/* By t descending, then index ascending. */
static int cmpKeyDesc(const void *a, const void *b){
  const ColdKey *x = (const ColdKey*)a, *y = (const ColdKey*)b;
  if( x->t!=y->t ) return x->t<y->t ? 1 : -1;
  return (x->i>y->i) - (x->i<y->i);
}

/* Where t falls among the n references a (by t descending): the middle
** of the run of those equal to it. */
static int positionOf(const ColdKey *a, int n, double t){
  int lo = 0, hi = n, nAbove;
  while( lo<hi ){
    int mid = (lo+hi)/2;
    if( a[mid].t>t ) lo = mid+1; else hi = mid;
  }
  nAbove = lo;
  hi = n;
  while( lo<hi ){
    int mid = (lo+hi)/2;
    if( a[mid].t>=t ) lo = mid+1; else hi = mid;
  }
  return (nAbove + lo)/2;
}

/*
** The rank among the n unrated model movies (0: the best) that a cold
** movie at position iAt of the nRef references (by t descending) takes:
** the one at twice its quantile.  Content foretells taste less surely
** than ratings do, so a cold movie must beat twice as many references to
** reach the same place.
*/
static int placedRank(int n, int iAt, int nRef){
  double q = COLD_SCALE*(iAt + 0.5)/(nRef + 1.0);
  int i = (int)(q*n);
  return i<n ? i : n-1;
}

static void swapDoubles(double *a, int i, int j){
  double t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/*
** Set aOut[k] to the value of rank aRank[k] (0: the largest) of a[lo..hi),
** for the nRank ascending ranks aRank, all in [lo, hi), reordering a: a
** quickselect that splits on every rank asked for, so the few ranks that
** cold movies need cost O(n log nRank), not a sort of every score.
*/
static void selectRanks(double *a, int lo, int hi, const int *aRank,
                        int nRank, double *aOut){
  while( nRank>0 ){
    double x = a[lo], y = a[(lo+hi)/2], z = a[hi-1];
    double pivot = x<y ? (y<z ? y : (x<z ? z : x)) : (x<z ? x : (y<z ? z : y));
    int i = lo, gt = lo, lt = hi, k, e;
    /* [lo, gt) above the pivot, [gt, lt) equal, [lt, hi) below */
    while( i<lt ){
      if( a[i]>pivot ) swapDoubles(a, i++, gt++);
      else if( a[i]<pivot ) swapDoubles(a, i, --lt);
      else i++;
    }
    for(k=0; k<nRank && aRank[k]<gt; k++){}
    for(e=k; e<nRank && aRank[e]<lt; e++) aOut[e] = pivot;
    selectRanks(a, lo, gt, aRank, k, aOut);
    aRank += e;
    aOut += e;
    nRank -= e;
    lo = lt;
  }
}

/* p = sum over the user's ratings of rating x features. */
static void userProfile(const MlrecColdMap *m, const MlrecHistory *pHist,
                        MlrecColdWork *w){
  double *aProfile = w->aProfile;
  int t, d;
  memset(aProfile, 0, sizeof(double)*m->nDim);
  for(t=0; t<pHist->n; t++){
    int v = mlrecFindId(m->pVec->aItemId, m->pVec->nItem, pHist->aId[t]);
    const float *x;
    if( v<0 ) continue;
    x = plainOf(m, v, w->aPlainX);
    for(d=0; d<m->nDim; d++) aProfile[d] += pHist->aRating[t]*x[d];
  }
}

/* The two raw terms of t for recommender index i, which is sample movie
** iSample (or -1 for one that is not). */
static void rawTerms(const MlrecColdMap *m, MlrecColdWork *w,
                     const double *aX, int i, int iSample, double *pTaste,
                     double *pProf){
  int f = m->pRanker->nFactor;
  const float *x = plainOf(m, vecOf(m, i), w->aPlainX);
  const float *y = m->aSamplePred + (i64)iSample*f;
  if( iSample<0 ){
    predictInto(m, x, w->aPred);
    y = w->aPred;
  }
  *pTaste = aX ? dotFD(y, aX, f) : 0.0;
  *pProf = dotFD(x, w->aProfile, m->nDim);
}

/* Gather the cold movies, the references and the warm scores. */
static void splitMovies(const MlrecColdMap *m, int nColdBelow,
                        const unsigned char *aSeen, const double *aScore,
                        MlrecColdWork *w, int *pnCold, int *pnRef,
                        int *pnWarm){
  const MlrecRanker *r = m->pRanker;
  int i, s, nCold = 0, nRef = 0, nWarm = 0;
  int nStep = (m->nSample + COLD_REFERENCES - 1)/COLD_REFERENCES;
  for(i=0; i<r->nItem+m->nNew; i++){
    if( mlrecColdIs(m, nColdBelow, i) ){
      w->aKey[nCold++].i = i;
    }else if( !aSeen[i] ){
      w->aWarm[nWarm++] = aScore[i];
    }
  }
  for(s=0; s<m->nSample; s+=nStep){
    int j = m->aSample[s];
    if( !aSeen[j] && r->aItemCount[j]>=nColdBelow ) w->aRef[nRef++] = s;
  }
  *pnCold = nCold;
  *pnRef = nRef;
  *pnWarm = nWarm;
}

/*
** Compute t for the nCold cold movies (into aKey) and the nRef references
** (into aRefKey), standardising each term over the references and the cold
** movies not rated.
*/
static void tastes(const MlrecColdMap *m, const double *aX,
                   const unsigned char *aSeen, MlrecColdWork *w, int nCold,
                   int nRef){
  double m1, s1, m2, s2;
  int c, n = 0;
  for(c=0; c<nCold; c++){
    if( aSeen[w->aKey[c].i] ) continue;
    rawTerms(m, w, aX, w->aKey[c].i, -1, &w->aTaste[n], &w->aProf[n]);
    n++;
  }
  for(c=0; c<nRef; c++, n++){
    rawTerms(m, w, aX, m->aSample[w->aRef[c]], w->aRef[c], &w->aTaste[n],
             &w->aProf[n]);
  }
  meanScale(w->aTaste, n, &m1, &s1);
  meanScale(w->aProf, n, &m2, &s2);
  for(c=0, n=0; c<nCold+nRef; c++){
    double rTaste, rProf;
    int i = c<nCold ? w->aKey[c].i : m->aSample[w->aRef[c-nCold]];
    if( c<nCold && aSeen[i] ){
      /* a rated cold movie (include_rated) is left out of the statistics */
      rawTerms(m, w, aX, i, -1, &rTaste, &rProf);
    }else{
      rTaste = w->aTaste[n];
      rProf = w->aProf[n++];
    }
    rTaste = (rTaste-m1)*s1 + COLD_PROFILE*(rProf-m2)*s2;
    if( c<nCold ){
      w->aKey[c].t = rTaste;
    }else{
      w->aRefKey[c-nCold].t = rTaste;
      w->aRefKey[c-nCold].i = i;
    }
  }
}

/*
** Set the keys of the cold movies in aScore (the ranker's nItem movies,
** then the map's new movies; aSeen marks those the user rated): for the
** user with folded-in factors aX (NULL if the model cannot place the user)
** and ratings pHist.  The model movies' keys must be in aScore already.
*/
int mlrecColdScore(const MlrecColdMap *m, const double *aX,
                   const MlrecHistory *pHist, int nColdBelow,
                   const unsigned char *aSeen, double *aScore,
                   MlrecColdWork **ppWork){
  MlrecColdWork *w;
  double rPrev = INFINITY;
  int c, nCold, nRef, nWarm;
  int rc = coldWorkFor(m, m->pRanker->nItem + m->nNew, ppWork);
  if( rc!=SQLITE_OK ) return rc;
  w = *ppWork;
  splitMovies(m, nColdBelow, aSeen, aScore, w, &nCold, &nRef, &nWarm);
  if( nCold==0 ) return SQLITE_OK;
  userProfile(m, pHist, w);
  tastes(m, aX, aSeen, w, nCold, nRef);
  qsort(w->aRefKey, nRef, sizeof(ColdKey), cmpKeyDesc);
  qsort(w->aKey, nCold, sizeof(ColdKey), cmpKeyDesc);
  if( nWarm>0 ){
    /* a user the model cannot place gets the most rated movies, and the
    ** cold ones after them; the others, the score of their place (ranks
    ** ascending, as t descends) */
    for(c=0; c<nCold; c++){
      w->aRef[c] = aX==0 || nRef==0 ? nWarm-1
                 : placedRank(nWarm, positionOf(w->aRefKey, nRef, w->aKey[c].t),
                              nRef);
    }
    selectRanks(w->aWarm, 0, nWarm, w->aRef, nCold, w->aTaste);
  }
  for(c=0; c<nCold; c++){
    double rKey = w->aKey[c].t;
    if( nWarm>0 ){
      /* just below the score of its place, in order of t */
      rKey = nextafter(fmin(w->aTaste[c], rPrev), -INFINITY);
      rPrev = rKey;
    }
    aScore[w->aKey[c].i] = rKey;
  }
  return SQLITE_OK;
}

/*
** Store in *piOut the rated movie (an id of pHist) m that maximises
** rating x cosine of its features with those of cold movie iAll, and
** return 1; 0 if none is positive.  Ties go to the later rating.
*/
int mlrecColdBecause(const MlrecColdMap *m, MlrecColdWork *w,
                     const MlrecHistory *pHist, int iAll, i64 *piOut){
  const float *x = plainOf(m, vecOf(m, iAll), w->aPlainX);
  double rBest = 0.0;
  int t, iBest = -1;
  for(t=0; t<pHist->n; t++){
    int v = mlrecFindId(m->pVec->aItemId, m->pVec->nItem, pHist->aId[t]);
    const float *y;
    double s = 0.0;
    int d;
    if( v<0 ) continue;
    y = plainOf(m, v, w->aPlainY);
    for(d=0; d<m->nDim; d++) s += (double)x[d]*y[d];
    s *= pHist->aRating[t];
    if( s>0.0 && s>=rBest ){
      rBest = s;
      iBest = t;
    }
  }
  if( iBest<0 ) return 0;
  *piOut = pHist->aId[iBest];
  return 1;
}
