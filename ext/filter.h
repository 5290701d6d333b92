/*
** filter.h: the movies recommend() and similar_movies() may return
** (filter.c).
*/
#ifndef MLREC_FILTER_H
#define MLREC_FILTER_H

#include "mlrec.h"

typedef struct MlrecFilter MlrecFilter;
struct MlrecFilter {
  char *zGenre;          /* option "genre", or NULL */
  char *zMovies;         /* option "movies": a JSON array of ids, or NULL */
  int bRestricted;       /* 0: every movie is allowed */
  i64 *aAllow;           /* the ids allowed, ascending, when restricted */
  int nAllow;
};

int mlrecFilterPrepare(MlrecState*, const char *zFunc, MlrecFilter*,
                       char **pzErr);
void mlrecFilterMask(const MlrecFilter*, const i64 *aId, int n,
                     unsigned char *aMask);
void mlrecFilterClear(MlrecFilter*);

#endif /* MLREC_FILTER_H */
