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

typedef struct MlrecRecommender MlrecRecommender;
struct MlrecRecommender {
  int eModel;                /* MLREC_RANK_* */
  MlrecRanker *pRanker;      /* MLREC_RANK_RANKING */
  MlrecModel *pModel;        /* MLREC_RANK_RATING */
  MlrecRatings *pRatings;    /* MLREC_RANK_POPULAR: the snapshot it counts */
  int nItem;                 /* the catalogue of the model */
  const i64 *aItemId;
  MlrecHistoryReader reader; /* reads histories (in time order if timed) */
  MlrecHistory hist;         /* ratings of the last user */
  MlrecRankWork *pWork;
  double *aScore;            /* nItem ranking keys of the last user */
  unsigned char *aSeen;      /* nItem: rated by the last user */
  unsigned char *aAllow;     /* nItem: allowed by the filter */
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
int mlrecRecommenderOpen(MlrecState*, MlrecRatings*, int eModel,
                         const MlrecFilter*, MlrecRecommendPin*,
                         MlrecRecommender*, char **pzErr);
int mlrecRecommenderTop(MlrecRecommender*, i64 iUser, int bIncludeRated,
                        MlrecTopK *pTop, char **pzErr);
void mlrecRecommenderClose(MlrecRecommender*);

#endif /* MLREC_RECOMMEND_H */
