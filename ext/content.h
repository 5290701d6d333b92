/*
** content.h: what movies are about, as vectors (content.c): TF-IDF of the
** genres and tags, or embeddings supplied in a table.
*/
#ifndef MLREC_CONTENT_H
#define MLREC_CONTENT_H

#include "mlrec.h"

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

int mlrecContentVectors(MlrecState*, int eSource, const char *zFunc,
                        MlrecVectors **ppOut, char **pzErr);
void mlrecVectorsUnref(MlrecVectors*);
void mlrecContentSimilar(const MlrecVectors*, int iItem, double *aScore);

#endif /* MLREC_CONTENT_H */
