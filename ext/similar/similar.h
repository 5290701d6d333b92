/*
** similar.h: the similar wing, similar_movies(): movies like a movie, by
** the cosine of their rating vectors (knn.c, exactly scikit-learn's brute
** cosine kNN) or of their content vectors (content.c: TF-IDF of genres and
** tags, or embeddings from a table), or a blend of both
** (similar_movies.c, the SQL surface).
*/
#ifndef MLREC_SIMILAR_H
#define MLREC_SIMILAR_H

#include "../core/core.h"

/* knn.c: item-item cosine neighbours */
typedef struct MlrecKnnScratch MlrecKnnScratch;
int mlrecSimilar(sqlite3*, const MlrecRatings*, int iItem, MlrecTopK *pOut,
                 MlrecKnnScratch **ppScratch);
void mlrecKnnScratchFree(MlrecKnnScratch*);

/* content.c: content vectors of the movies, cached per connection */
/* Unit vectors of the movies of one source, sparse or dense. */
typedef struct MlrecVectors MlrecVectors;
struct MlrecVectors {
  int nRef;
  int nItem;
  i64 *aItemId;          /* ascending */
  /* sparse (TF-IDF): */
  int nToken;
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

/* similar_movies.c */
int mlrecRegisterSimilarMovies(sqlite3*, MlrecState*);

#endif /* MLREC_SIMILAR_H */
