/*
** similar.h: the similar wing, similar_movies(): movies like a movie, by
** the cosine of their rating vectors (knn.c, exactly scikit-learn's brute
** cosine kNN, and sweep.c for every movie in order) or of their content
** vectors (content.c: TF-IDF of genres and tags, or embeddings from a
** table), or a blend of both (similar_movies.c, the SQL surface).
*/
#ifndef MLREC_SIMILAR_H
#define MLREC_SIMILAR_H

#include "../core/core.h"
#include <math.h>

/* knn.c: item-item cosine neighbours */
typedef struct MlrecKnnScratch MlrecKnnScratch;
int mlrecSimilar(MlrecState*, const MlrecRatings*, int iItem, MlrecTopK *pOut,
                 MlrecKnnScratch **ppScratch);
void mlrecKnnScratchFree(MlrecKnnScratch*);
i64 mlrecCorated(const MlrecRatings*, int i, int j);

/*
** What knn.c (one query) and sweep.c (the all-movies sweep) share.  The dot
** products of a movie with the others are added up in accumulators, one
** dense array per worker, zero between queries: doubles, or 32-bit integers
** counting quarters when the halves' sums fit them (bIntDots).
*/
typedef struct MlrecKnnAcc MlrecKnnAcc;
struct MlrecKnnAcc {
  double *aDot;          /* nItem accumulators, or */
  int *aAcc;             /* nItem integer ones */
};

/* The part of the row of the user of rating k (of the movie-major order)
** that a query reaches: all of it, or in the sweep only the movies after
** the query's, from aOff[k-kBase] on. */
typedef struct MlrecKnnRows MlrecKnnRows;
struct MlrecKnnRows {
  const int *aOff;       /* NULL: whole rows */
  i64 kBase;
};

static inline i64 mlrecKnnRowFrom(const MlrecRatings *pR,
                                  const MlrecKnnRows *p, i64 k){
  i64 start = pR->aUserStart[pR->aItemUser[k]];
  return p->aOff ? start + p->aOff[k - p->kBase] : start;
}

/* Read, and clear, the dot product with movie j. */
static inline double mlrecKnnTake(const MlrecKnnAcc *a, int j){
  double r;
  if( a->aAcc ){
    r = 0.25*(double)a->aAcc[j];
    a->aAcc[j] = 0;
  }else{
    r = a->aDot[j];
    a->aDot[j] = 0.0;
  }
  return r;
}

/* The ranking key of a cosine: equal to 12 decimal places means a tie. */
static inline double mlrecKnnRankKey(double score){
  return nearbyint(score*1e12);
}

/* Four lanes of ints and of floats, and whether a comparison set any. */
typedef int MlrecKnnVecI __attribute__((vector_size(16)));
typedef float MlrecKnnVecF __attribute__((vector_size(16)));
#define MLREC_KNN_LANES 4
static inline int mlrecKnnAnyLane(MlrecKnnVecI m){
  u64 a[2];
  memcpy(a, &m, sizeof(a));
  return (a[0] | a[1])!=0;
}

/*
** Add r(u,i) r(u,j) into the accumulators of movie j, for the raters u of
** ratings [kStart, kEnd) of movie i (movie-major order) and the movies j
** of the rows that pRows says they reach (inline: the inner loop of
** every query).
*/
static inline void mlrecKnnAccumulate(const MlrecRatings *pR,
                                      const MlrecKnnRows *pRows, i64 kStart,
                                      i64 kEnd, const MlrecKnnAcc *pAcc){
  const int *aItem = pR->aUserItem;
  i64 k, m;
  for(k=kStart; k<kEnd; k++){
    int u = pR->aItemUser[k];
    i64 end = pR->aUserStart[u+1], start = mlrecKnnRowFrom(pR, pRows, k);
    if( pAcc->aAcc ){
      const signed char *aHalf = pR->aUserHalf;
      int *aAcc = pAcc->aAcc;
      int r2 = pR->aItemHalf[k];
      /* four at a time: a row holds distinct movies, so no two of these
      ** additions touch the same accumulator */
      for(m=start; m+4<=end; m+=4){
        int j0 = aItem[m], j1 = aItem[m+1], j2 = aItem[m+2], j3 = aItem[m+3];
        aAcc[j0] += r2*aHalf[m];
        aAcc[j1] += r2*aHalf[m+1];
        aAcc[j2] += r2*aHalf[m+2];
        aAcc[j3] += r2*aHalf[m+3];
      }
      for(; m<end; m++) aAcc[aItem[m]] += r2*aHalf[m];
    }else if( pR->aUserHalf ){
      const signed char *aHalf = pR->aUserHalf;
      double *aDot = pAcc->aDot;
      double r = mlrecItemRating(pR, k);
      for(m=start; m<end; m++) aDot[aItem[m]] += r*(0.5f*(float)aHalf[m]);
    }else{
      const float *aValue = pR->aUserValue;
      double *aDot = pAcc->aDot;
      double r = mlrecItemRating(pR, k);
      for(m=start; m<end; m++) aDot[aItem[m]] += r*aValue[m];
    }
  }
}

/* sweep.c: the all-movies sweep, the queries of a cursor in movie order */
typedef struct MlrecSweep MlrecSweep;
int mlrecSweepWorkers(const MlrecRatings*, int k, int nPart);
MlrecSweep *mlrecSweepNew(const MlrecRatings*, int k, int nPart,
                          const MlrecKnnAcc *aAcc);
int mlrecSweepAnswer(MlrecSweep*, MlrecState*, int iItem, MlrecTopK *pOut);
void mlrecSweepFree(MlrecSweep*);

/* content.c: content vectors of the movies, cached per connection */
/* Unit vectors of the movies of one source, sparse or dense. */
typedef struct MlrecVectors MlrecVectors;
struct MlrecVectors {
  int nRef;
  int nItem;
  i64 *aItemId;          /* ascending */
  /* sparse (TF-IDF): */
  int nToken;            /* decade:, genre:, then tag: tokens, by text */
  int nPlainToken;       /* tokens before it are decades and genres: what
                         ** a movie has before anyone tags it */
  i64 *aItemStart;       /* nItem+1 offsets into aItemToken/aItemWeight */
  int *aItemToken;
  float *aItemWeight;
  i64 *aTokenStart;      /* nToken+1 offsets into aTokenItem/aTokenWeight */
  int *aTokenItem;
  float *aTokenWeight;
  /* dense (embeddings): */
  int nDim;              /* 0 for sparse vectors */
  float *aVec;           /* nItem x nDim */
};

#define MLREC_CONTENT_TFIDF     0
#define MLREC_CONTENT_EMBEDDING 1

void mlrecContentCacheFree(MlrecContentCache*);
int mlrecContentVectors(MlrecState*, int eSource, const char *zFunc,
                        MlrecVectors **ppOut, char **pzErr);
void mlrecVectorsUnref(MlrecVectors*);
void mlrecContentSimilar(const MlrecVectors*, int iItem, double *aScore);

/* similar_movies.c, similar_users.c: the table-valued functions */
int mlrecRegisterSimilarMovies(sqlite3*, MlrecState*);
int mlrecRegisterSimilarUsers(sqlite3*, MlrecState*);

#endif /* MLREC_SIMILAR_H */
