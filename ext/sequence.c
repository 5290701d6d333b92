/*
** sequence.c: the sequence part of the ranking model behind recommend():
** movies that other users rated close in time to the movies this user rated
** last.
**
** People rate in sessions and in runs of related movies, so the movies rated
** just before and after a movie in someone's history are a strong hint of
** what comes next.  Every user's ratings are put in time order (the time
** column of mlrec_config(), "timestamp" in MovieLens; ties by movieId).
** Two movies d ratings apart in one user's sequence (1 <= d <= window) are
** linked with weight exp(-(d-1)/window_decay), and the links are summed over
** users and damped by the movies' popularity:
**
**     S(i,j) = sum over users v of exp(-(d_v(i,j)-1)/window_decay)
**              / (count(i) count(j))^popularity_exponent
**
** A user's score of movie j is sum over rated movies i of w(i) S(i,j), with
** w(i) = 0.5^(age/sequence_recency) * x(i): age is how many ratings the user
** made after i, x the rating scaled to [0, 1].  S is never stored: the
** score walks, for each of the user's recent movies, the users who rated it
** and the window around it in their sequences.  The cost is about
** recent movies x their raters x 2 window, a few milliseconds.
**
** Without a time column there are no sequences and this part is off.
*/
#include "ranker.h"
#include <math.h>
#include <string.h>

/*
** Fill r->aSeqItem with every user's movies in time order, reading the
** table sorted by (user, time, movie).  Errors if the rows differ from the
** snapshot pR (the table changed in between).
*/
static int readSequences(sqlite3 *db, const MlrecConfig *pCfg,
                         const MlrecRatings *pR, MlrecRanker *r,
                         char **pzErr){
  sqlite3_stmt *pStmt = 0;
  i64 *aNext = sqlite3_malloc64(sizeof(i64)*((i64)pR->nUser+1));
  char *zSql = sqlite3_mprintf("SELECT \"%w\".\"%w\", \"%w\".\"%w\" FROM \"%w\""
      " ORDER BY 1, \"%w\".\"%w\", 2", pCfg->zRatings, pCfg->zUser,
      pCfg->zRatings, pCfg->zMovie, pCfg->zRatings, pCfg->zRatings,
      pCfg->zTime);
  i64 nRow = 0;
  int rc = aNext && zSql ? SQLITE_OK : SQLITE_NOMEM;
  if( rc==SQLITE_OK ) rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK ){
    memcpy(aNext, pR->aUserStart, sizeof(i64)*pR->nUser);
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      int u = mlrecFindId(pR->aUserId, pR->nUser,
                          sqlite3_column_int64(pStmt, 0));
      int i = mlrecFindId(pR->aItemId, pR->nItem,
                          sqlite3_column_int64(pStmt, 1));
      if( u<0 || i<0 || aNext[u]>=pR->aUserStart[u+1] ) break;
      r->aSeqItem[aNext[u]++] = i;
      nRow++;
    }
    rc = rc==SQLITE_DONE || rc==SQLITE_ROW ? SQLITE_OK : rc;
    if( rc==SQLITE_OK && nRow!=pR->nRating ){
      mlrecSetError(pzErr, "train_ranker: the ratings table changed while "
                    "it was read; try again");
      rc = SQLITE_ERROR;
    }
  }
  if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "train_ranker: reading the ratings in time order: "
                  "%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(aNext);
  return rc;
}

/* Position of user v among the users of movie i (who are ascending). */
static i64 findUser(const MlrecRanker *r, int i, int v){
  i64 lo = r->aItemStart[i], hi = r->aItemStart[i+1]-1;
  while( lo<=hi ){
    i64 mid = lo + (hi-lo)/2;
    if( r->aItemUser[mid]<v ) lo = mid+1;
    else if( r->aItemUser[mid]>v ) hi = mid-1;
    else return mid;
  }
  return -1;
}

/* Index each rating by movie: its user and its position in the sequence. */
static void indexPositions(const MlrecRatings *pR, MlrecRanker *r){
  int v;
  i64 k;
  memcpy(r->aItemStart, pR->aItemStart, sizeof(i64)*((i64)pR->nItem+1));
  memcpy(r->aItemUser, pR->aItemUser, sizeof(int)*pR->nRating);
  for(v=0; v<pR->nUser; v++){
    for(k=r->aSeqStart[v]; k<r->aSeqStart[v+1]; k++){
      i64 m = findUser(r, r->aSeqItem[k], v);
      if( m>=0 ) r->aItemPos[m] = (int)(k - r->aSeqStart[v]);
    }
  }
}

/*
** Build the sequences of r from the ratings table (pR is its snapshot) if
** the table has the configured time column; set r->bTimed accordingly.
*/
int mlrecSequenceBuild(sqlite3 *db, const MlrecConfig *pCfg,
                       const MlrecRatings *pR, MlrecRanker *r, char **pzErr){
  i64 n = pR->nRating;
  int d, rc = mlrecTableHas(db, pCfg->zRatings, pCfg->zTime, &r->bTimed);
  if( rc!=SQLITE_OK || !r->bTimed ) return rc;
  r->aSeqStart = sqlite3_malloc64(sizeof(i64)*((i64)pR->nUser+1));
  r->aSeqItem = sqlite3_malloc64(sizeof(int)*(n+1));
  r->aItemStart = sqlite3_malloc64(sizeof(i64)*((i64)pR->nItem+1));
  r->aItemUser = sqlite3_malloc64(sizeof(int)*(n+1));
  r->aItemPos = sqlite3_malloc64(sizeof(int)*(n+1));
  r->aDecay = sqlite3_malloc64(sizeof(double)*(r->opt.window+1));
  if( !r->aSeqStart || !r->aSeqItem || !r->aItemStart || !r->aItemUser
   || !r->aItemPos || !r->aDecay ){
    return SQLITE_NOMEM;
  }
  memcpy(r->aSeqStart, pR->aUserStart, sizeof(i64)*((i64)pR->nUser+1));
  r->aDecay[0] = 0.0;
  for(d=1; d<=r->opt.window; d++){
    r->aDecay[d] = exp(-(d-1)/r->opt.windowDecay);
  }
  rc = readSequences(db, pCfg, pR, r, pzErr);
  if( rc==SQLITE_OK ) indexPositions(pR, r);
  return rc;
}

/*
** Add to aScore[j] (nItem entries) the sum over t of aWeight[t] S(aItem[t],
** j), for the n rated movies aItem (-1: unknown to r, skipped) whose weight
** is above zero.
*/
void mlrecSequenceScore(const MlrecRanker *r, int n, const int *aItem,
                        const double *aWeight, double *aScore){
  int L = (int)r->opt.window;
  int t, j;
  for(t=0; t<n; t++){
    int i = aItem[t];
    double w;
    i64 k;
    if( i<0 || !(aWeight[t]>0.0) ) continue;
    w = aWeight[t]*r->aItemDamp[i];
    for(k=r->aItemStart[i]; k<r->aItemStart[i+1]; k++){
      int v = r->aItemUser[k];
      const int *aSeq = r->aSeqItem + r->aSeqStart[v];
      int nSeq = (int)(r->aSeqStart[v+1] - r->aSeqStart[v]);
      int p = r->aItemPos[k], d;
      int dLo = p<L ? p : L;
      int dHi = nSeq-1-p<L ? nSeq-1-p : L;
      for(d=1; d<=dLo; d++) aScore[aSeq[p-d]] += w*r->aDecay[d];
      for(d=1; d<=dHi; d++) aScore[aSeq[p+d]] += w*r->aDecay[d];
    }
  }
  for(j=0; j<r->nItem; j++) aScore[j] *= r->aItemDamp[j];
}

/* S(i, j): the link of movies i and j, by merging their users. */
double mlrecSequencePair(const MlrecRanker *r, int i, int j){
  i64 a = r->aItemStart[i], aEnd = r->aItemStart[i+1];
  i64 b = r->aItemStart[j], bEnd = r->aItemStart[j+1];
  double s = 0.0;
  while( a<aEnd && b<bEnd ){
    if( r->aItemUser[a]<r->aItemUser[b] ){
      a++;
    }else if( r->aItemUser[a]>r->aItemUser[b] ){
      b++;
    }else{
      int d = r->aItemPos[a] - r->aItemPos[b];
      if( d<0 ) d = -d;
      if( d<=r->opt.window ) s += r->aDecay[d];
      a++;
      b++;
    }
  }
  return s*r->aItemDamp[i]*r->aItemDamp[j];
}
