/*
** mlrec.h: types and functions shared by the source files of the mlrec
** SQLite extension.
**
** The extension keeps all of its state per database connection in one
** MlrecState object.  That object is the client data of every function and
** virtual table module the extension registers; it is reference counted and
** freed with the last registration (when the connection closes).
**
** The state caches what it derives from the user's tables:
**
**   MlrecRatings  an immutable in-memory snapshot of the ratings table,
**                 indexed by user and by movie (ratings.c).  Item-item
**                 cosine neighbours (knn.c) are computed straight from it.
**   MlrecModel    the biased matrix factorisation trained by train_mf()
**                 (mf.c) and the item kNN blended with it (neighbours.c),
**                 used by predict().
**   MlrecRanker   the ranking model trained by train_ranker() (ranker.h),
**                 used by recommend().
**   content       TF-IDF and embedding vectors of the movies (content.h),
**                 used by similar_movies()' content and hybrid methods.
**
** Each is reference counted so that a cursor or a training run can keep
** using an object while the state moves on to a newer one.
*/
#ifndef MLREC_H
#define MLREC_H

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>

#define MLREC_VERSION "0.1.0"

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;

/* Names of the table and columns the extension reads; see mlrec_config(). */
typedef struct MlrecConfig MlrecConfig;
struct MlrecConfig {
  char *zRatings;     /* ratings table, default "ratings" */
  char *zUser;        /* user id column, default "userId" */
  char *zMovie;       /* movie id column, default "movieId" */
  char *zRating;      /* rating column, default "rating" */
  char *zTime;        /* time column of the ratings, default "timestamp" */
  char *zMovies;      /* movies table, default "movies" */
  char *zGenres;      /* genres column of the movies table, "genres" */
  char *zTags;        /* tags table, default "tags" */
  char *zTag;         /* tag column of the tags table, default "tag" */
  char *zEmbeddings;  /* item embeddings table, "movie_embeddings" */
  char *zEmbedding;   /* vector column of that table, "embedding" */
};

/*
** A snapshot of the ratings table.  Users and movies are renumbered densely
** in ascending order of their ids, so a smaller index means a smaller id.
** Ratings are stored twice, grouped by user (rows sorted by movie) and
** grouped by movie (rows sorted by user), as compressed sparse rows.
*/
typedef struct MlrecRatings MlrecRatings;
struct MlrecRatings {
  int nRef;
  int nUser, nItem;
  i64 nRating;
  i64 *aUserId;          /* nUser ids, ascending */
  i64 *aItemId;          /* nItem ids, ascending */
  i64 *aUserStart;       /* nUser+1 offsets into aUserItem/aUserValue */
  int *aUserItem;        /* movie index of each rating, by user */
  float *aUserValue;     /* rating value, by user */
  i64 *aItemStart;       /* nItem+1 offsets into aItemUser/aItemValue */
  int *aItemUser;        /* user index of each rating, by movie */
  float *aItemValue;     /* rating value, by movie */
  double *aItemNorm;     /* Euclidean norm of each movie's rating vector */
  float *aItemInvNorm;   /* 1 / aItemNorm, 0 for a norm of 0 */
  signed char *aUserHalf;  /* 2 x rating, by user, if small half stars (else
                           ** NULL): the compact copy knn.c adds up */
  double rMin, rMax;     /* smallest and largest rating */
  double rMean;          /* mean rating */
  int bExactDots;        /* dot products are exact in any order (knn.c) */
  u64 hash;              /* order-independent hash of the table's content */
  i64 loadedAt;          /* unix time of the load */
  double seconds;        /* time the load took */
};

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

/* A trained biased matrix factorisation model. */
typedef struct MlrecModel MlrecModel;
struct MlrecModel {
  int nRef;
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
** movie parameters, for the factor model and for its neighbourhood half.
*/
typedef struct MlrecFold MlrecFold;
struct MlrecFold {
  MlrecModel *pModel;    /* the model folded into (a reference) */
  i64 iUser;             /* the user's id */
  u64 ratedHash;         /* hash of the user's ratings folded from */
  int nRated;            /* their number */
  u64 dataVersion;       /* mlrecDataVersion() when they were read */
  int bVersionValid;     /* they are current while dataVersion holds (read
                         ** outside a write transaction) */
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

/* The ranking model of train_ranker() (ranker.h). */
typedef struct MlrecRanker MlrecRanker;

/* Content vectors of the movies, cached (content.h). */
typedef struct MlrecContentCache MlrecContentCache;

/* Per-connection state: the client data of every registration. */
typedef struct MlrecState MlrecState;
struct MlrecState {
  sqlite3 *db;
  int nRef;              /* registrations holding this object */
  MlrecConfig cfg;
  MlrecRatings *pRatings;  /* last snapshot of the ratings table, or NULL */
  u64 dataVersion;       /* data version when pRatings was last checked */
  int bVersionValid;     /* pRatings is current while dataVersion holds */
  MlrecModel *pModel;    /* last model trained, or NULL */
  MlrecFold *pFold;      /* last user folded in for predict(), or NULL */
  MlrecRanker *pRanker;  /* last ranking model trained, or NULL */
  MlrecContentCache *pContent;  /* content vectors read, or NULL */
};

/* One result row of a top-k selection. */
typedef struct MlrecHit MlrecHit;
struct MlrecHit {
  double key;            /* ranking key: larger is better */
  double score;          /* value reported to the user */
  int idx;               /* dense movie index; smaller wins ties */
};

/* A bounded selection of the k best hits (topk.c). */
typedef struct MlrecTopK MlrecTopK;
struct MlrecTopK {
  MlrecHit *a;           /* binary heap, worst hit at a[0] */
  int n;                 /* hits held */
  int k;                 /* capacity */
};

/* mlrec.c: the entry point and the per-connection state */
void mlrecStateRef(MlrecState*);
void mlrecStateUnref(void*);
int mlrecCreateFunction(sqlite3*, const char *zName, int nArg, int flags,
                        MlrecState*,
                        void (*xFunc)(sqlite3_context*, int, sqlite3_value**));
int mlrecCreateFunctions(sqlite3*, const char *zName, int nArgMin,
                         int nArgMax, int flags, MlrecState*,
                         void (*xFunc)(sqlite3_context*, int, sqlite3_value**));

/* util.c: small helpers shared by every file */
void mlrecSetError(char **pzErr, const char *zFormat, ...);
void mlrecResultError(sqlite3_context*, int rc, const char *zErr);
const char *mlrecTypeName(int eType);
int mlrecArgToId(sqlite3_value*, i64 *piOut);
char *mlrecBadIdMessage(const char *zFunc, const char *zArg, sqlite3_value*);
int mlrecArgToK(sqlite3_value*, i64 *piOut);
i64 mlrecNow(void);
void mlrecFormatTime(i64 t, char *zBuf, int nBuf);
double mlrecClock(void);
int mlrecTableHas(sqlite3*, const char *zTable, const char *zColumn,
                  int *pbOut);

/* splitmix64: a small, fast generator with a 64-bit state (inline: it runs
** once per rating when training shuffles). */
static inline u64 mlrecRandom(u64 *pState){
  u64 z = (*pState += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z>>30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z>>27)) * 0x94d049bb133111ebULL;
  return z ^ (z>>31);
}

/* Uniform integer in [0, n) for n >= 1, bias below n/2^32: a multiply and
** a shift rather than a division while n fits 32 bits. */
static inline i64 mlrecRandomBelow(u64 *pState, i64 n){
  u64 x = mlrecRandom(pState);
  if( n<=0xffffffffLL ) return (i64)(((x>>32)*(u64)n)>>32);
  return (i64)(x % (u64)n);
}

/* util.c: honouring sqlite3_interrupt() during long computations */
typedef struct MlrecInterrupt MlrecInterrupt;
struct MlrecInterrupt {
  sqlite3_stmt *pProbe;  /* cheap statement stepped to see the interrupt */
};
int mlrecInterruptBegin(sqlite3*, MlrecInterrupt*);
int mlrecInterrupted(MlrecInterrupt*);
int mlrecInterruptedEvery(MlrecInterrupt*, i64 iStep);
void mlrecInterruptEnd(MlrecInterrupt*);

/* parallel.c: independent tasks on every core, stopping at an interrupt */
#define MLREC_MAX_WORKERS 64       /* most threads mlrecParallelRun() uses */
typedef struct MlrecParallel MlrecParallel;
typedef struct MlrecWorker MlrecWorker;
struct MlrecWorker {
  MlrecParallel *pPar;
  MlrecInterrupt *pIntr;   /* the calling thread's probe; 0 on the others */
  int iWorker;             /* 0 for the calling thread, then 1, 2, ... */
  i64 nUnit;               /* work done since the last check */
};
typedef int (*MlrecTaskFn)(void *pCtx, MlrecWorker*, i64 iTask);
int mlrecParallelRun(MlrecInterrupt*, int nThread, i64 nTask, MlrecTaskFn,
                     void *pCtx);
int mlrecWorkerStop(MlrecWorker*, i64 nUnit);

/* config.c: mlrec_config() and JSON option parsing */
typedef struct MlrecOption MlrecOption;
struct MlrecOption {
  const char *zName;
  char eType;            /* 'i' i64, 'r' double, 'b' i64 0 or 1 (true or
                         ** false), 's' text, 'a' JSON array as text */
  double rMin, rMax;     /* valid range of a number */
  size_t offset;         /* where the value goes in the output struct */
};
int mlrecParseOptions(sqlite3*, const char *zFunc, sqlite3_value *pJson,
                      const MlrecOption *aOpt, int nOpt, void *pOut,
                      char **pzErr);
int mlrecConfigInit(MlrecConfig*);
void mlrecConfigClear(MlrecConfig*);
int mlrecRegisterConfig(sqlite3*, MlrecState*);

/* ratings.c: the in-memory snapshot of the ratings table */
int mlrecRatingsCurrent(MlrecState*, MlrecRatings **ppOut, char **pzErr);
void mlrecRatingsUnref(MlrecRatings*);
void mlrecForgetRatings(MlrecState*);
u64 mlrecDataVersion(sqlite3*);
int mlrecFindId(const i64 *aId, int nId, i64 iId);
int mlrecReadRating(sqlite3_stmt*, int iCol, const MlrecConfig*, i64 iUser,
                    i64 iItem, double *prOut, char **pzErr);

/* topk.c */
int mlrecTopKInit(MlrecTopK*, int k);
void mlrecTopKPush(MlrecTopK*, double key, double score, int idx);
int mlrecTopKWorse(const MlrecTopK*, double key, int idx);
void mlrecTopKSort(MlrecTopK*);
void mlrecTopKFree(MlrecTopK*);

/* knn.c: item-item cosine neighbours */
typedef struct MlrecKnnScratch MlrecKnnScratch;
int mlrecSimilar(sqlite3*, const MlrecRatings*, int iItem, MlrecTopK *pOut,
                 MlrecKnnScratch **ppScratch);
void mlrecKnnScratchFree(MlrecKnnScratch*);

/* mf.c: biased matrix factorisation */
extern const MlrecOption mlrecMfOptionSpec[];
extern const int mlrecMfOptionCount;
void mlrecMfDefaults(MlrecMfOptions*);
int mlrecMfTrain(sqlite3*, const MlrecRatings*, const MlrecMfOptions*,
                 MlrecModel **ppOut, char **pzErr);
void mlrecModelUnref(MlrecModel*);
double mlrecModelPredict(const MlrecModel*, int iUser, int iItem);
double mlrecModelClip(const MlrecModel*, double r);
char *mlrecMfOptionsJson(const MlrecMfOptions*);

/* sgd.c: the parallel training kernel of mf.c */
typedef struct MlrecSgd MlrecSgd;
int mlrecSgdBegin(const MlrecRatings*, MlrecModel*, int nThread,
                  MlrecInterrupt*, MlrecSgd **ppOut);
int mlrecSgdEpoch(MlrecSgd*, MlrecInterrupt*);
int mlrecSgdSync(MlrecSgd*, MlrecInterrupt*);
int mlrecSgdDiverged(const MlrecSgd*);
int mlrecSgdThreads(const MlrecSgd*);
double mlrecSgdLoss(const MlrecSgd*);
void mlrecSgdEnd(MlrecSgd*);
float mlrecDot(const float *a, const float *b, int n);
int mlrecOnlineCores(void);

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

/* neighbours.c: baseline-corrected item kNN, and the blend of predict() */
int mlrecNeighboursTrain(sqlite3*, MlrecRatings*, i64 nNeighbour,
                         double shrinkage, MlrecNeighbours **ppOut);
void mlrecNeighboursFree(MlrecNeighbours*);
int mlrecNeighboursKnows(const MlrecNeighbours*, i64 iUser);
int mlrecNeighboursFold(const MlrecNeighbours*, int n, const i64 *aId,
                        const float *aRating, MlrecFold*);
int mlrecNeighboursPredict(MlrecNeighbours*, const MlrecFold*, i64 iUser,
                           i64 iItem, double *prOut);
int mlrecPredictRating(const MlrecModel*, const MlrecFold*, i64 iUser,
                       i64 iItem, double *prOut);

/* foldin.c: users the rating model was not trained on */
int mlrecFoldSolve(const MlrecModel*, int n, const i64 *aId,
                   const float *aRating, double *aOut, int *pnUsed);
int mlrecFoldFor(MlrecState*, MlrecModel*, const MlrecRatings*, i64 iUser,
                 const MlrecFold **ppOut, char **pzErr);
void mlrecFoldFree(MlrecFold*);
double mlrecFoldPredict(const MlrecModel*, const MlrecFold*, int iItem);

/* train.c: train_mf(), predict() and the model every caller shares */
int mlrecCurrentModel(MlrecState*, MlrecModel **ppOut, char **pzErr);
void mlrecSetModel(MlrecState*, MlrecModel*);
int mlrecRegisterTrain(sqlite3*, MlrecState*);

/* tvf.c: the virtual table shared by similar_movies() and recommend() */
typedef struct MlrecTvfRow MlrecTvfRow;
struct MlrecTvfRow {
  i64 iMovie;
  double rScore;
  i64 iExtra;                /* value of the extra column */
  int bExtra;                /* 0: the extra column is NULL */
};
typedef struct MlrecTvfCursor MlrecTvfCursor;
struct MlrecTvfCursor {
  sqlite3_vtab_cursor base;  /* base class, must be first */
  MlrecState *pState;
  MlrecRatings *pRatings;    /* snapshot read at the first xFilter */
  void *pWork;               /* work space of xCompute, kept across xFilter */
  i64 iArg;                  /* the id argument */
  i64 k;                     /* the k argument */
  sqlite3_value *pOptions;   /* the options argument, or NULL */
  int bExtra;                /* the statement reads the extra column */
  MlrecTvfRow *aRow;         /* results, best first */
  int nRow;
  int iRow;                  /* current row */
};
typedef struct MlrecTvf MlrecTvf;
struct MlrecTvf {
  const char *zName;         /* "similar_movies" */
  const char *zArg;          /* name of the id argument, "movie_id" */
  const char *zExtra;        /* name of the extra column, "corated" */
  const char *zExample;      /* arguments of an example call, "260, 10" */
  int (*xCompute)(MlrecTvfCursor*, char **pzErr);  /* fill aRow, nRow */
  void (*xFreeWork)(void*);  /* destructor of pWork */
};
int mlrecRegisterTvf(sqlite3*, MlrecState*, const MlrecTvf*);
int mlrecTvfSetRows(MlrecTvfCursor*, const MlrecTopK*, const i64 *aId);

/* persist.c: mlrec_save_model(), mlrec_load_model(), mlrec_import_factors() */
int mlrecRegisterPersist(sqlite3*, MlrecState*);

/* version.c: mlrec_version() and mlrec_debug() */
int mlrecRegisterVersion(sqlite3*);

/* similar_movies.c, recommend.c: table-valued functions; models.c:
** mlrec_models and mlrec_training_log */
int mlrecRegisterSimilarMovies(sqlite3*, MlrecState*);
int mlrecRegisterRecommend(sqlite3*, MlrecState*);
int mlrecRegisterModels(sqlite3*, MlrecState*);

/* ranker.c: train_ranker() and the ranking model behind recommend() */
void mlrecRankerUnref(MlrecRanker*);
char *mlrecRankerOptionsJson(const MlrecRanker*);
int mlrecRegisterRanker(sqlite3*, MlrecState*);

/* content.c: content vectors for similar_movies() */
void mlrecContentCacheFree(MlrecContentCache*);

/* eval.c: mlrec_split_hash() and mlrec_evaluate() */
int mlrecRegisterEval(sqlite3*, MlrecState*);

#endif /* MLREC_H */
