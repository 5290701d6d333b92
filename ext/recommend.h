/*
** recommend.h: the top-k selection behind recommend(), shared with
** mlrec_evaluate() (eval.c) so that what is measured is what is served.
*/
#ifndef MLREC_RECOMMEND_H
#define MLREC_RECOMMEND_H

#include "surface.h"

/* Which model ranks: option "model" of recommend() and mlrec_evaluate(). */
enum {
  MLREC_RANK_DEFAULT = -1,  /* no option: see mlrecDefaultRankModel() */
  MLREC_RANK_RANKING,    /* train_ranker()'s model */
  MLREC_RANK_RATING,     /* train_mf()'s predicted ratings */
  MLREC_RANK_POPULAR     /* number of ratings */
};

/* Where content comes from for movies the model lacks: option "content". */
enum {
  MLREC_COLD_AUTO = -1,  /* no option: TF-IDF if the movies table exists
                         ** and the model is the ranking model */
  MLREC_COLD_TFIDF,      /* = MLREC_CONTENT_TFIDF */
  MLREC_COLD_EMBEDDING,  /* = MLREC_CONTENT_EMBEDDING */
  MLREC_COLD_NONE        /* the model's movies only */
};

/* cold.c: movies without ratings placed by their content */
typedef struct MlrecColdMap MlrecColdMap;
typedef struct MlrecColdWork MlrecColdWork;
int mlrecColdMapFor(MlrecState*, MlrecRanker*, MlrecVectors*, int eSource,
                    MlrecColdMap **ppOut, char **pzErr);
void mlrecColdMapUnref(MlrecColdMap*);
void mlrecColdCacheFree(MlrecColdCache*);
int mlrecColdNewCount(const MlrecColdMap*);
const i64 *mlrecColdNewIds(const MlrecColdMap*);
int mlrecColdIs(const MlrecColdMap*, int nColdBelow, int i);
int mlrecColdScore(const MlrecColdMap*, const double *aX,
                   const MlrecHistory*, int nColdBelow,
                   const unsigned char *aSeen, double *aScore,
                   MlrecColdWork **ppWork);
int mlrecColdBecause(const MlrecColdMap*, MlrecColdWork*,
                     const MlrecHistory*, int iAll, i64 *piOut);
void mlrecColdWorkFree(MlrecColdWork*);

/* What to rank with and over which movies: recommend()'s options. */
typedef struct MlrecRankSpec MlrecRankSpec;
struct MlrecRankSpec {
  const char *zFunc;         /* for messages */
  i64 eModel;                /* MLREC_RANK_*, resolved */
  i64 eContent;              /* MLREC_COLD_* */
  i64 nColdBelow;            /* 0: option absent (1) */
  const MlrecFilter *pFilter;
};

typedef struct MlrecRecommender MlrecRecommender;
struct MlrecRecommender {
  int eModel;                /* MLREC_RANK_* */
  MlrecRanker *pRanker;      /* MLREC_RANK_RANKING */
  MlrecModel *pModel;        /* MLREC_RANK_RATING */
  MlrecRatings *pRatings;    /* MLREC_RANK_POPULAR: the snapshot it counts */
  int nItem;                 /* the catalogue of the model */
  MlrecColdMap *pCold;       /* content for the others, or NULL */
  int nColdBelow;            /* fewer ratings than this: placed by content */
  int nAll;                  /* nItem, then the new movies of pCold */
  const i64 *aItemId;        /* nAll ids: the model's (ascending), then
                             ** the new movies' (ascending) */
  i64 *aAllId;               /* aItemId when it is a copy */
  MlrecHistoryReader reader; /* reads histories (in time order if timed) */
  MlrecHistory hist;         /* ratings of the last user */
  MlrecRankWork *pWork;
  MlrecColdWork *pColdWork;
  double *aScore;            /* nAll ranking keys of the last user */
  unsigned char *aSeen;      /* nAll: rated by the last user */
  unsigned char *aAllow;     /* nAll: allowed by the filter */
  int bPersonal;             /* the last user's scores are personal */
};

/*
** The models a recommend() statement took at its first row, kept until it
** ends: one statement uses one model, even if a model is retrained or
** loaded between the rows of a lateral join (but every row reads the
** user's ratings as they are then).
*/
typedef struct MlrecRecommendPin MlrecRecommendPin;
struct MlrecRecommendPin {
  MlrecRanker *pRanker;
  MlrecModel *pModel;
  i64 eDefault;          /* the model without "model" option, once chosen */
};

extern const char *const mlrecRankModels[];
int mlrecDefaultRankModel(MlrecState*, i64 *peModel, char **pzErr);
extern const char *const mlrecContentSources[];
int mlrecRankSpecCheck(MlrecState*, MlrecRankSpec*, char **pzErr);
int mlrecRecommenderOpen(MlrecState*, MlrecRatings*, const MlrecRankSpec*,
                         MlrecRecommendPin*, MlrecRecommender*,
                         char **pzErr);
int mlrecRecommenderTop(MlrecRecommender*, i64 iUser, int bIncludeRated,
                        MlrecTopK *pTop, char **pzErr);
int mlrecRecommenderBecause(MlrecRecommender*, int iAll, i64 *piOut);
void mlrecRecommenderClose(MlrecRecommender*);

#endif /* MLREC_RECOMMEND_H */
