/*
** ranking.h: the ranking wing, train_ranker() and the ranking model behind
** recommend() (ranker.c), made of two parts that are trained together and
** blended per user at query time:
**
**   implicit ALS (ials.c)   item factors trained on "who rated what", each
**                           rating a positive with a confidence that grows
**                           with the rating; a user is folded in at query
**                           time from the ratings the user has now.
**   sequences (sequence.c)  movies that other users rated close in time to
**                           the movies this user rated last.
**
** A model is immutable and reference counted, like MlrecModel.
*/
#ifndef MLREC_RANKING_H
#define MLREC_RANKING_H

#include "../core/core.h"

/* Options of train_ranker(); see ranker.c for their meaning and ranges. */
typedef struct MlrecRankerOptions MlrecRankerOptions;
struct MlrecRankerOptions {
  i64 nFactor;               /* latent factors of the ALS part */
  i64 nIter;                 /* ALS iterations */
  double alpha;              /* confidence of the best rating, minus one */
  double regularization;     /* ALS ridge penalty */
  double recency;            /* half-life, in ratings, of fold-in weights */
  i64 window;                /* sequence window, in ratings */
  i64 sequenceLinks;         /* links kept per movie */
  double windowDecay;        /* e-folding distance inside the window */
  double sequenceRecency;    /* half-life of a user's sequence weights */
  double popularityExponent; /* damping of popular movies in sequences */
  double alsWeight;          /* weights of the two parts in the blend */
  double sequenceWeight;
  i64 seed;
  i64 nThread;               /* most threads to train on; the model is the same */
};

/* A trained ranking model (typedef in core.h). */
struct MlrecRanker {
  MlrecShared shared;    /* references; listed if loaded (saved_ranking.c,
                         ** which casts it to the model: keep it first) */
  MlrecRankerOptions opt;
  int nUser, nItem, nFactor;
  i64 *aItemId;          /* ids of the movies trained on, ascending */
  int *aItemCount;       /* ratings of each movie (its popularity) */
  float *aItemFactor;    /* nItem x nFactor, row-major */
  double *aGram;         /* Y'Y of the item factors, nFactor^2 */
  double rMin, rMax;     /* rating scale of the training data */
  int bTimed;            /* the ratings had a time column */
  /* Sequences, only when bTimed: each movie's strongest links S(i, j) */
  i64 *aLinkStart;       /* nItem+1 offsets into aLinkItem/aLinkWeight */
  int *aLinkItem;        /* the linked movies j of each movie, ascending */
  float *aLinkWeight;    /* S(i, j) */
  double *aItemDamp;     /* count^-popularity_exponent of each movie */
  i64 nRating;           /* ratings trained on */
  u64 dataHash;          /* MlrecRatings.hash of the training data */
  double seconds;        /* training time */
  i64 trainedAt;         /* unix time */
};

/* Work space of one user's scoring, kept between calls (ranker.c). */
typedef struct MlrecRankWork MlrecRankWork;

/* ranker.c */
void mlrecRankerRef(MlrecRanker*);
void mlrecRankerUnref(MlrecRanker*);
char *mlrecRankerOptionsJson(const MlrecRanker*);
int mlrecRegisterRanker(sqlite3*, MlrecState*);
extern const MlrecOption mlrecRankerOptionSpec[];
extern const int mlrecRankerOptionCount;
int mlrecCurrentRanker(MlrecState*, MlrecRanker **ppOut, char **pzErr);
void mlrecSetRanker(MlrecState*, MlrecRanker*);
int mlrecRankerScore(const MlrecRanker*, const MlrecHistory*,
                     MlrecRankWork **ppWork, double *aScore,
                     unsigned char *aSeen, int *pbPersonal);
int mlrecRankerBecause(const MlrecRanker*, const MlrecHistory*,
                       MlrecRankWork*, int iItem, i64 *piOut);
const double *mlrecRankerUserFactors(const MlrecRankWork*);
void mlrecRankWorkFree(MlrecRankWork*);

/* ials.c: implicit-feedback alternating least squares */
int mlrecIalsTrain(MlrecState*, const MlrecRatings*, MlrecRanker*,
                   int nThread, int (*xFirst)(void*), void *pFirstCtx,
                   char **pzErr);
double mlrecIalsConfidence(const MlrecRanker*, double rating);
int mlrecIalsSolve(const MlrecRanker*, const double *aG, const float *aY,
                   int n, const int *aIdx, const double *aConf, double *aL,
                   double *aX);
int mlrecIalsFoldIn(const MlrecRanker*, int n, const int *aItem,
                    const double *aConf, double *aL, double *aX);
void mlrecIalsExplain(const MlrecRanker*, const double *aL, int iItem,
                      int n, const int *aItem, const double *aConf,
                      double *aV, double *aContrib);

/* sequence.c: movies rated close in time by other users */
typedef struct MlrecSequences MlrecSequences;
int mlrecSequenceRead(MlrecState*, const MlrecRatings*, MlrecRanker*,
                      MlrecSequences **ppOut, char **pzErr);
int mlrecSequenceLink(MlrecState*, MlrecSequences*, MlrecRanker*,
                      int nThread, char **pzErr);
void mlrecSequenceFree(MlrecSequences*);
void mlrecSequenceScore(const MlrecRanker*, int n, const int *aItem,
                        const double *aWeight, double *aScore);
double mlrecSequencePair(const MlrecRanker*, int iFrom, int iTo);

#endif /* MLREC_RANKING_H */
