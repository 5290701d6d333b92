/*
** rating.h: the rating wing, train_mf() and predict(): a biased matrix
** factorisation blended with a baseline-corrected item neighbourhood
** model, and users the model was not trained on folded into it.
**
**   train.c       the SQL functions train_mf() and predict(), and the
**                 connection's model
**   mf.c          training: options, initial factors, the epochs
**   sgd.c         the epochs' kernel: SGD over blocks, on every core
**   monitor.c     validation split, training log, early stopping
**   neighbours.c  the item neighbourhood half of predict()
**   foldin.c      users the model was not trained on
**   model.c       the model's lifetime and its one prediction formula
*/
#ifndef MLREC_RATING_H
#define MLREC_RATING_H

#include "../core/core.h"

/* Options of train_mf(); see mf.c for their meaning and ranges. */
typedef struct MlrecMfOptions MlrecMfOptions;
struct MlrecMfOptions {
  i64 nFactor;
  i64 nEpoch;
  double learningRate;
  double regularization;
  double biasRegularization;
  double initStd;
  i64 seed;
  i64 nThread;           /* most threads to train on; the model is the same */
  double validation;     /* fraction of the ratings held out, 0 for none */
  i64 patience;          /* early stopping: epochs without a better held-out
                         ** RMSE before stopping; 0 never stops early */
  i64 bProgress;         /* print a line per epoch to stderr */
  double knnWeight;      /* weight of the neighbourhood model in predict() */
  i64 nNeighbour;        /* neighbours of the neighbourhood model */
  double shrinkage;      /* its similarity shrinkage */
};

/* One epoch of a training run, a row of mlrec_training_log. */
typedef struct MlrecEpoch MlrecEpoch;
struct MlrecEpoch {
  double trainRmse;      /* RMSE of the epoch's SGD steps (mlrecSgdLoss) */
  double validRmse;      /* RMSE on the held-out ratings; < 0: none held out */
  double seconds;        /* time the epoch took, its measurements included */
};

/* The item neighbourhood model blended into predict() (neighbours.c). */
typedef struct MlrecNeighbours MlrecNeighbours;

/*
** One row of the neighbourhood model: the movies a user rated, or the
** users who rated a movie, as positions in the model's ascending ids, in
** ascending order, with the residual r - b(u,i) of each rating: stored
** (aResid), or computed from the ratings (mlrecKnnResid()).
*/
typedef struct MlrecKnnRow MlrecKnnRow;
struct MlrecKnnRow {
  int n;
  const int *aIdx;
  const float *aResid;   /* the residuals, or NULL: computed from ... */
  const float *aValue;   /* ... the ratings (or, if NULL, ... */
  const signed char *aHalf;  /* ... 2 x the ratings), */
  double mu;             /* the mean, */
  double rBias;          /* the row's baseline bias */
  const double *aBias;   /* and those of the other side, by position */
};

/* Residual k of row p. */
static inline float mlrecKnnResid(const MlrecKnnRow *p, int k){
  if( p->aResid ) return p->aResid[k];
  return (float)(mlrecRatingAt(p->aValue, p->aHalf, k) - p->mu - p->rBias
                 - p->aBias[p->aIdx[k]]);
}

/* Reads rows aiRow[0..n) of the users (bUser) or movies of loaded model p
** on db, each into a new allocation apOut[k] with its arrays after it
** (saved_rating.c); on error, it leaves no allocation behind. */
typedef int (*MlrecKnnFetch)(sqlite3 *db, const MlrecNeighbours *p, int bUser,
                             int n, const int *aiRow, MlrecKnnRow **apOut,
                             char **pzErr);

struct MlrecNeighbours {
  i64 nNeighbour;        /* option "neighbors" */
  double shrinkage;
  double mu;             /* mean rating */
  int nUser, nItem;
  const i64 *aUserId;    /* ids of the rows, ascending: the snapshot's if */
  const i64 *aItemId;    /* trained here, else its own */
  double *aUserBias;     /* baseline b(u) of each user */
  double *aItemBias;     /* baseline b(i) of each movie */
  /* trained here: the snapshot, whose ratings give the residuals */
  MlrecRatings *pR;
  /* loaded from tables: the rows read so far (NULL: not yet) */
  MlrecKnnRow **apUserRow;
  MlrecKnnRow **apItemRow;
  u64 *aUserDigest;      /* digest of each saved row, checked on reading */
  u64 *aItemDigest;
  u64 checksum;          /* of the saved model its rows are read from */
  MlrecKnnFetch xFetch;
};

/* Scratch of a prediction by the neighbourhood model (neighbours.c). */
typedef struct MlrecNeighbourScratch MlrecNeighbourScratch;
struct MlrecNeighbourScratch {
  int nUser;
  double *aZi;           /* residuals of one movie, by user */
  unsigned char *aHas;   /* 1 for the users in aZi, else 0 */
};

/* A trained biased matrix factorisation model (typedef in core.h). */
struct MlrecModel {
  MlrecShared shared;    /* references; listed if loaded (saved_rating.c,
                         ** which casts it to the model: keep it first) */
  MlrecMfOptions opt;
  int nUser, nItem, nFactor;
  i64 *aUserId;          /* ids of the users it was trained on, ascending */
  i64 *aItemId;          /* ids of the movies it was trained on, ascending */
  double mu;             /* global mean rating */
  float *aUserBias;      /* nUser */
  float *aItemBias;      /* nItem */
  float *aUserFactor;    /* nUser x nFactor, row-major */
  float *aItemFactor;    /* nItem x nFactor, row-major */
  double rMin, rMax;     /* rating scale of the training data, for clipping */
  double scale;          /* SGD trained on ratings divided by this (mf.c) */
  i64 nRating;           /* ratings trained on */
  u64 dataHash;          /* MlrecRatings.hash of the training data */
  double rmse;           /* RMSE on the training data of the model, < 0 if
                         ** unknown (imported, persist.c) */
  i64 nHeldOut;          /* ratings of nRating held out, not trained on */
  MlrecEpoch *aLog;      /* the training log, one entry per epoch run */
  int nLog;
  int iKept;             /* the epoch (from 0) whose parameters it holds */
  double seconds;        /* training time */
  i64 trainedAt;         /* unix time */
  char *zOptions;        /* options JSON shown instead of opt's, for a
                         ** model loaded from tables (persist.c), or NULL */
  MlrecNeighbours *pNeighbours;  /* NULL if knn_weight is 0 */
};

/*
** A user the rating model was not trained on, folded into it from the
** ratings the user has now (foldin.c): solved against the model's fixed
** movie parameters, for the factor model and for its neighbourhood half
** (typedef in core.h).
*/
struct MlrecFold {
  MlrecModel *pModel;    /* the model folded into (a reference) */
  i64 iUser;             /* the user's id */
  int nRated;            /* the user's ratings folded from, by movie id: */
  i64 *aRatedId;         /* the movies */
  float *aRated;         /* the ratings */
  MlrecStamp stamp;      /* they are current while this holds */
  int nUsed;             /* the user's ratings of movies the factor model
                         ** knows; 0: no fold (mean + movie bias) */
  double rBias;          /* b(u) */
  double *aFactor;       /* p(u), nFactor values */
  int nKnn;              /* the user's ratings of movies the neighbourhood
                         ** model knows, and for each: */
  int *aKnnItem;         /* the movie, an index of that model's snapshot */
  float *aKnnResid;      /* the residual of the rating, r - b(u,i) */
  double rKnnBias;       /* the user's baseline bias in that model */
};

/* model.c: the model's lifetime and its prediction formula */
void mlrecModelRef(MlrecModel*);
void mlrecModelUnref(MlrecModel*);
double mlrecModelPredict(const MlrecModel*, int iUser, const MlrecFold*,
                         int iItem);
double mlrecModelClip(const MlrecModel*, double r);
int mlrecPredictRating(MlrecState*, const MlrecModel*, const MlrecFold*,
                       i64 iUser, i64 iItem, double *prOut,
                       const char *zFunc, char **pzErr);

/* mf.c: training the biased matrix factorisation */
extern const MlrecOption mlrecMfOptionSpec[];
extern const int mlrecMfOptionCount;
void mlrecMfDefaults(MlrecMfOptions*);
int mlrecMfTrain(MlrecState*, const MlrecRatings*, const MlrecMfOptions*,
                 MlrecModel **ppOut, char **pzErr);
char *mlrecMfOptionsJson(const MlrecMfOptions*);

/* sgd.c: the parallel training kernel of mf.c */
typedef struct MlrecSgd MlrecSgd;
int mlrecSgdBegin(MlrecState*, const MlrecRatings*, MlrecModel*,
                  int nThread, MlrecInterrupt*, MlrecSgd **ppOut);
int mlrecSgdEpoch(MlrecSgd*, MlrecInterrupt*);
int mlrecSgdSync(MlrecSgd*, MlrecInterrupt*);
int mlrecSgdDiverged(const MlrecSgd*);
int mlrecSgdThreads(const MlrecSgd*);
double mlrecSgdLoss(const MlrecSgd*);
void mlrecSgdEnd(MlrecSgd*);

/* monitor.c: validation split, training log, progress and early stopping */
typedef struct MlrecHeldOut MlrecHeldOut;
typedef struct MlrecMonitor MlrecMonitor;
struct MlrecMonitor {
  const MlrecMfOptions *pOpt;
  const MlrecRatings *pTrain;  /* what SGD trains on: the snapshot or split */
  MlrecRatings split;          /* its training part, when validation > 0 */
  MlrecHeldOut *aHeld;         /* the held-out ratings */
  i64 nHeld;
  MlrecEpoch *aLog;            /* one entry per epoch run */
  int nLog;
  int iBest;                   /* epoch with the lowest held-out RMSE */
  float *aBest;                /* its parameters, kept for early stopping */
  double tEpoch;               /* clock at the start of the current epoch */
  MlrecInterrupt *pIntr;       /* probe stepped by its loops over ratings */
};
int mlrecMonitorBegin(MlrecMonitor*, const MlrecRatings*,
                      const MlrecMfOptions*, MlrecInterrupt*, char **pzErr);
int mlrecMonitorEpoch(MlrecMonitor*, MlrecModel*, double rTrainLoss,
                      int *pbStop);
int mlrecMonitorEnd(MlrecMonitor*, MlrecModel*);
void mlrecMonitorFree(MlrecMonitor*);

/* neighbours.c: baseline-corrected item kNN */
int mlrecNeighboursTrain(sqlite3*, MlrecRatings*, i64 nNeighbour,
                         double shrinkage, MlrecNeighbours **ppOut);
void mlrecNeighboursFree(MlrecNeighbours*);
int mlrecNeighboursRead(const MlrecNeighbours*, sqlite3*, int bUser, int n,
                        const int *aiRow, char **pzErr);
void mlrecNeighboursRow(const MlrecNeighbours*, int bUser, int iRow,
                        MlrecKnnRow*);
int mlrecNeighboursKnows(const MlrecNeighbours*, i64 iUser);
int mlrecNeighboursFold(const MlrecNeighbours*, int n, const i64 *aId,
                        const float *aRating, MlrecFold*);
int mlrecNeighboursPredict(const MlrecNeighbours*, sqlite3*,
                           MlrecNeighbourScratch**, const MlrecFold*, i64 iUser,
                           i64 iItem, double *prOut, char **pzErr);
void mlrecNeighbourScratchFree(MlrecNeighbourScratch*);

/* foldin.c: users the rating model was not trained on */
int mlrecFoldSolve(const MlrecModel*, int n, const i64 *aId,
                   const float *aRating, MlrecFold*);
int mlrecFoldFor(MlrecState*, MlrecModel*, const MlrecRatings*, i64 iUser,
                 const MlrecFold **ppOut, char **pzErr);
void mlrecFoldFree(MlrecFold*);

/* train.c: train_mf(), predict() and the model every caller shares */
int mlrecCurrentModel(MlrecState*, MlrecModel **ppOut, char **pzErr);
void mlrecSetModel(MlrecState*, MlrecModel*);
int mlrecRegisterTrain(sqlite3*, MlrecState*);

#endif /* MLREC_RATING_H */
