/*
** core.h: the ground floor of the mlrec extension, which every wing above
** builds on (ext/similar, ext/rating, ext/ranking, and the SQL surface at
** the top of ext/).  Nothing here knows about a model.
**
**   state.c    MlrecState, the per-connection state every registration
**              shares, mlrec_config(), and the helpers that register SQL
**              functions
**   config.c   the names of the tables and columns read
**   options.c  options given as JSON: parsing, defaults, echo
**   ratings.c  MlrecRatings, the in-memory snapshot of the ratings table,
**              and the data-version stamp that says when it may be stale
**   history.c  one user's ratings, read from the table by an index lookup
**   filter.c   the movies a function may return (options genre, movies)
**   tvf.c      the table-valued-function plumbing
**   topk.c     selection of the k best
**   linalg.c   dot products and Cholesky solves
**   pool.c     the connection's threads, which all parallel work runs on
**   shared.c   loaded models shared by the connections of a process, and
**              their atomic reference counts
**   util.c     errors, argument checks, clocks, hashes, interrupts
**
** The state caches what the wings derive from the user's tables (the
** models); each object is reference counted so that a cursor or a training
** run can keep using it while the state moves on to a newer one.  The
** state frees them through xFreeModels, which the entry point (mlrec.c)
** sets: core never calls up into a wing.
*/
#ifndef MLREC_CORE_H
#define MLREC_CORE_H

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>
#include <string.h>

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;

/* Most latent factors of any model (train_mf, train_ranker, imports). */
#define MLREC_MAX_FACTORS 1024

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
  char *zTitle;       /* title column of the movies table, "title" */
  char *zTags;        /* tags table, default "tags" */
  char *zTag;         /* tag column of the tags table, default "tag" */
  char *zEmbeddings;  /* item embeddings table, "movie_embeddings" */
  char *zEmbedding;   /* vector column of that table, "embedding" */
};

/*
** A snapshot of the ratings table.  Users and movies are renumbered densely
** in ascending order of their ids, so a smaller index means a smaller id.
** Ratings are stored twice, grouped by user (rows sorted by movie) and
** grouped by movie (rows sorted by user), as compressed sparse rows.  When
** every rating is a multiple of 1/2 between -64 and 63.5, as star ratings
** are, each is held as 2 x rating in one byte (aUserHalf, aItemHalf) and
** the float arrays are NULL; else as a float and the bytes are NULL.  Read
** them through mlrecUserRating() and mlrecItemRating().
*/
typedef struct MlrecRatings MlrecRatings;
struct MlrecRatings {
  int nRef;
  int nUser, nItem;
  i64 nRating;
  i64 *aUserId;          /* nUser ids, ascending */
  i64 *aItemId;          /* nItem ids, ascending */
  i64 *aUserStart;       /* nUser+1 offsets into the arrays by user */
  int *aUserItem;        /* movie index of each rating, by user */
  float *aUserValue;     /* rating value, by user, or NULL */
  signed char *aUserHalf;  /* 2 x rating, by user, or NULL */
  i64 *aItemStart;       /* nItem+1 offsets into the arrays by movie */
  int *aItemUser;        /* user index of each rating, by movie */
  float *aItemValue;     /* rating value, by movie, or NULL */
  signed char *aItemHalf;  /* 2 x rating, by movie, or NULL */
  double *aItemNorm;     /* Euclidean norm of each movie's rating vector */
  float *aItemInvNorm;   /* 1 / aItemNorm, 0 for a norm of 0 */
  double rMin, rMax;     /* smallest and largest rating */
  double rMean;          /* mean rating */
  int bExactDots;        /* dot products are exact in any order (knn.c) */
  int bIntDots;          /* the halves' dot products fit 32-bit integers:
                         ** knn.c adds up small integers, exactly */
  u64 hash;              /* order-independent hash of the table's content */
  i64 loadedAt;          /* unix time of the load */
  double seconds;        /* time the load took */
  MlrecRatings *pUsers;  /* the transposed snapshot (mlrecRatingsByUser()),
                         ** once asked for, or NULL */
  int bBorrowed;         /* a transposed snapshot: its ratings arrays are
                         ** those of the snapshot that owns it */
};

/* Rating k of ratings held as floats aValue, or if that is NULL as 2 x
** rating in bytes aHalf (h/2 is exact: the same float). */
static inline float mlrecRatingAt(const float *aValue,
                                  const signed char *aHalf, i64 k){
  return aValue ? aValue[k] : 0.5f*(float)aHalf[k];
}

/* Rating k of the by-user order of pR. */
static inline float mlrecUserRating(const MlrecRatings *pR, i64 k){
  return mlrecRatingAt(pR->aUserValue, pR->aUserHalf, k);
}

/* Rating k of the by-movie order of pR. */
static inline float mlrecItemRating(const MlrecRatings *pR, i64 k){
  return mlrecRatingAt(pR->aItemValue, pR->aItemHalf, k);
}

/*
** When something read from the database may be stale: the data version of
** the connection when it was read, and whether it stays current while that
** version holds (not when read inside a write transaction, which a ROLLBACK
** can undo without changing the version).
*/
typedef struct MlrecStamp MlrecStamp;
struct MlrecStamp {
  u64 version;
  int bValid;
};

/*
** The head of an object that connections on several threads may hold at
** once (shared.c): a model loaded from tables, listed under its kind (a
** non-zero number its owner chooses) and the checksum of its rows.
*/
typedef struct MlrecShared MlrecShared;
struct MlrecShared {
  int nRef;              /* references, changed atomically */
  int eKind;             /* 0 until listed */
  u64 key;               /* the checksum it is listed under */
  MlrecShared *pNext;    /* in the list, under its mutex */
};

/*
** Where a model of the connection came from, for mlrec_models: trained
** here, or loaded from a saved model (persist.c), or imported.  A model
** may be shared by connections that loaded it under different names: the
** origin is the connection's.
*/
typedef struct MlrecOrigin MlrecOrigin;
struct MlrecOrigin {
  int eOrigin;           /* MLREC_ORIGIN_* */
  char *zName;           /* the saved model it was loaded from or last saved
                         ** as, or NULL */
  u64 checksum;          /* of that saved model */
  char zSavedAt[24];     /* when it was saved (UTC), or "" */
};
#define MLREC_ORIGIN_TRAINED  0
#define MLREC_ORIGIN_LOADED   1
#define MLREC_ORIGIN_IMPORTED 2

/* What the wings keep per connection (defined in their headers). */
typedef struct MlrecModel MlrecModel;          /* rating/rating.h */
typedef struct MlrecFold MlrecFold;            /* rating/rating.h */
typedef struct MlrecRanker MlrecRanker;        /* ranking/ranking.h */
typedef struct MlrecContentCache MlrecContentCache;  /* similar/similar.h */
typedef struct MlrecColdCache MlrecColdCache;        /* recommend.h */
typedef struct MlrecNeighbourScratch MlrecNeighbourScratch;  /* rating.h */
typedef struct MlrecAudience MlrecAudience;    /* audience.c (top floor) */

/* The connection's threads (pool.c). */
typedef struct MlrecPool MlrecPool;

/* Per-connection state: the client data of every registration. */
typedef struct MlrecState MlrecState;
struct MlrecState {
  sqlite3 *db;
  int nRef;              /* registrations holding this object */
  MlrecConfig cfg;
  int iConfig;           /* changes of cfg so far: caches built from older
                         ** names are stale */
  MlrecRatings *pRatings;  /* last snapshot of the ratings table, or NULL */
  MlrecStamp ratingsStamp; /* pRatings is current while this holds */
  MlrecModel *pModel;    /* the rating model (trained or loaded), or NULL */
  MlrecOrigin modelOrigin;
  MlrecFold *pFold;      /* last user folded in for predict(), or NULL */
  MlrecRanker *pRanker;  /* the ranking model, or NULL */
  MlrecOrigin rankerOrigin;
  MlrecContentCache *pContent;  /* content vectors read, or NULL */
  MlrecColdCache *pCold; /* maps of content to ranking factors, or NULL */
  MlrecNeighbourScratch *pNeighbourScratch;  /* scratch of predict()'s
                         ** neighbourhood half, or NULL */
  MlrecAudience *pAudience;  /* audience()'s user factors, or NULL */
  void (*xFreeModels)(MlrecState*);  /* frees the six above */
  int (*xAutoLoad)(MlrecState*, char **pzErr);  /* loads the saved model
                         ** 'default' for a connection that lacks a model
                         ** (persist.c), before one is trained */
  int bBusy;             /* a call of mlrec is running (mlrecEnter()) */
  const char *zReading;  /* what it reads now, for messages, or NULL */
  int nPin;              /* mlrecReadPin() calls not yet unpinned */
  sqlite3_stmt *pPin;    /* the statement that holds the read transactions */
  MlrecPool *pPool;      /* threads of parallel work, started at the first
                         ** (mlrecPoolReserve()), joined when freed */
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

/* state.c: the per-connection state, mlrec_config(), SQL registration */
MlrecState *mlrecStateNew(sqlite3*);
void mlrecStateRef(MlrecState*);
void mlrecStateUnref(void*);
int mlrecCreateFunction(sqlite3*, const char *zName, int nArg, int flags,
                        MlrecState*,
                        void (*xFunc)(sqlite3_context*, int, sqlite3_value**));
int mlrecCreateFunctions(sqlite3*, const char *zName, int nArgMin,
                         int nArgMax, int flags, MlrecState*,
                         void (*xFunc)(sqlite3_context*, int, sqlite3_value**));
int mlrecRegisterConfig(sqlite3*, MlrecState*);
MlrecState *mlrecStateOf(sqlite3_context*);
int mlrecEnter(MlrecState*, const char *zCall, char **pzErr);
void mlrecLeave(MlrecState*);
const char *mlrecReading(MlrecState*, const char *zWhat);
int mlrecReadPin(MlrecState*, char **pzErr);
void mlrecReadUnpin(MlrecState*);
int mlrecOriginSet(MlrecOrigin*, int eOrigin, const char *zName,
                   u64 checksum, const char *zSavedAt);
void mlrecOriginClear(MlrecOrigin*);

/* shared.c: the process-wide list of loaded models */
void mlrecSharedInit(MlrecShared*);
void mlrecSharedRef(MlrecShared*);
int mlrecSharedUnref(MlrecShared*);
MlrecShared *mlrecSharedFind(int eKind, u64 key);
MlrecShared *mlrecSharedList(MlrecShared*, int eKind, u64 key);

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
double mlrecSplitHash(i64 a, i64 b, i64 seed);

/* splitmix64's output function: a bijection of 64-bit words that mixes
** every input bit into every output bit (inline: hashing runs per rating). */
static inline u64 mlrecMix64(u64 x){
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x>>30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x>>27)) * 0x94d049bb133111ebULL;
  return x ^ (x>>31);
}

/* splitmix64: a small, fast generator with a 64-bit state (it runs once per
** rating when training shuffles). */
static inline u64 mlrecRandom(u64 *pState){
  u64 x = *pState;
  *pState += 0x9e3779b97f4a7c15ULL;
  return mlrecMix64(x);
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

/*
** pool.c: the connection's threads, which every parallel path runs on (the
** kNN query and sweep, SGD, ALS, the sequence links).  A job is a function
** run by the calling thread (worker slot 0) and by the helpers that join it
** (slots 1, 2, ...); work inside it is claimed from shared counters, so it
** finishes on the calling thread alone if no helper joins.  Per-worker
** scratch is indexed by the slot; the caller allocates it for every slot
** beforehand.  The one interrupt rule: a worker reports its work through
** mlrecWorkerStop(), in units of about a microsecond (a thousand
** multiply-adds); every MLREC_CHECK_UNITS units the calling thread steps the
** probe, and every worker reads the job's stop flag at each report.
*/
#define MLREC_MAX_THREADS 64    /* the one cap: most threads any work runs
                                ** on, the calling thread included; the
                                ** range of every "threads" option */
#define MLREC_CHECK_UNITS 1024  /* units between looks at the interrupt:
                                ** about a millisecond */
typedef struct MlrecJob MlrecJob;
typedef struct MlrecWorker MlrecWorker;
struct MlrecWorker {
  MlrecJob *pJob;
  MlrecInterrupt *pIntr;   /* the calling thread's probe; 0 on the others */
  int iWorker;             /* slot: 0 for the calling thread, then 1, 2, ... */
  i64 nUnit;               /* work reported since the last check */
};
typedef int (*MlrecWorkFn)(void *pCtx, MlrecWorker*);
typedef int (*MlrecTaskFn)(void *pCtx, MlrecWorker*, i64 iTask);
int mlrecPoolReserve(MlrecState*, int nThread);
int mlrecPoolRun(MlrecState*, MlrecInterrupt*, int nWorker, MlrecWorkFn,
                 void *pCtx, int *pnJoined);
int mlrecParallelRun(MlrecState*, MlrecInterrupt*, int nWorker, i64 nTask,
                     MlrecTaskFn, void *pCtx, int *pnJoined);
/* Stages of tasks, run in order (mlrecStagedRun()). */
typedef struct MlrecStages MlrecStages;
struct MlrecStages {
  int nStage;
  i64 (*xCount)(void *pCtx, int iStage);   /* tasks of a stage, at least 1 */
  int (*xTask)(void *pCtx, MlrecWorker*, int iStage, i64 iTask);
  void *pCtx;
  int (*xFirst)(void *pFirstCtx);   /* the calling thread's own work before
                                    ** it takes tasks, or NULL */
  void *pFirstCtx;
};
int mlrecStagedRun(MlrecState*, MlrecInterrupt*, int nWorker,
                   const MlrecStages*);
int mlrecWorkerStop(MlrecWorker*, i64 nUnit);
void mlrecPoolFree(MlrecPool*);
int mlrecOnlineCores(void);

/* options.c: the options of every function, one JSON object */
typedef struct MlrecOption MlrecOption;
struct MlrecOption {
  const char *zName;
  char eType;            /* 'i' i64, 'r' double, 'b' i64 0 or 1 (true or
                         ** false), 'e' i64 index in azChoice (a name), 's'
                         ** text, 'a' JSON array as text */
  double rMin, rMax;     /* valid range of a number */
  size_t offset;         /* where the value goes in the options struct */
  double rDefault;       /* default of a number, a boolean or a choice */
  const char *zDefault;  /* default of a text, NULL for none */
  int mFlags;            /* MLREC_OPT_* */
  const char *const *azChoice;  /* 'e': the names, NULL-terminated */
};
#define MLREC_OPT_HIDDEN 1   /* left out of the JSON echo */
#define MLREC_OPT_CORES  2   /* default: the online cores, at most rMax */
int mlrecParseOptions(sqlite3*, const char *zFunc, sqlite3_value *pJson,
                      const MlrecOption *aOpt, int nOpt, void *pOut,
                      char **pzErr);
int mlrecOptionsDefault(const MlrecOption*, int nOpt, void *pOut);
void mlrecOptionsClear(const MlrecOption*, int nOpt, void *p);
char *mlrecOptionsJson(const MlrecOption*, int nOpt, const void *p);
void mlrecJsonString(sqlite3_str*, const char *z);
#define MLREC_ECHO_BYTES 60  /* most bytes of an input an error echoes */
#define MLREC_NAME_BYTES 255 /* longest model or table name an argument takes */
void mlrecAppendCut(sqlite3_str*, const char *z);

/* config.c: the names of the tables and columns read */
int mlrecConfigInit(MlrecConfig*);
void mlrecConfigClear(MlrecConfig*);
char *mlrecConfigJson(const MlrecConfig*);
int mlrecConfigUpdate(sqlite3*, MlrecConfig*, sqlite3_value *pJson,
                      char **pzErr);
char *mlrecFromSql(sqlite3*, const char *zName);
int mlrecTableHas(sqlite3*, const char *zTable, const char *zColumn,
                  int *pbOut);

/* ratings.c: the in-memory snapshot of the ratings table */
int mlrecRatingsCurrent(MlrecState*, MlrecRatings **ppOut, char **pzErr);
int mlrecRatingsByUser(sqlite3*, MlrecRatings*, MlrecRatings **ppOut);
void mlrecRatingsUnref(MlrecRatings*);
void mlrecForgetRatings(MlrecState*);
void mlrecStampTake(sqlite3*, MlrecStamp*);
int mlrecStampHolds(sqlite3*, const MlrecStamp*);
int mlrecFindId(const i64 *aId, int nId, i64 iId);
int mlrecReadRating(sqlite3_stmt*, int iCol, const MlrecConfig*, i64 iUser,
                    i64 iItem, double *prOut, char **pzErr);

/* history.c: the movies a user has rated now, oldest first if timed */
typedef struct MlrecHistory MlrecHistory;
struct MlrecHistory {
  int n, nAlloc;
  i64 *aId;              /* movie ids */
  float *aRating;
};
typedef struct MlrecHistoryReader MlrecHistoryReader;
struct MlrecHistoryReader {
  sqlite3_stmt *pStmt;
  MlrecState *pState;        /* names, for messages; what mlrec reads */
};
int mlrecHistoryOpen(MlrecState*, int bTimed, MlrecHistoryReader*,
                     char **pzErr);
int mlrecHistoryFromSnapshot(const MlrecRatings*, i64 iUser, MlrecHistory*);
int mlrecHistoryRead(MlrecHistoryReader*, i64 iUser, MlrecHistory*,
                     char **pzErr);
void mlrecHistoryClose(MlrecHistoryReader*);
void mlrecHistoryFree(MlrecHistory*);

/* filter.c: the movies recommend() and similar_movies() may return */
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
int mlrecSortDistinctIds(i64 *a, int n);

/* topk.c */
int mlrecTopKInit(MlrecTopK*, int k);
void mlrecTopKPush(MlrecTopK*, double key, double score, int idx);
int mlrecTopKWorse(const MlrecTopK*, double key, int idx);
void mlrecTopKSort(MlrecTopK*);
void mlrecTopKFree(MlrecTopK*);

/* linalg.c, and the dot product of float vectors every model uses, inline
** (it is SGD's inner loop): four floats as one SSE/NEON register, loaded
** and stored unaligned through memcpy (a vector argument or result would
** depend on the instruction set in the ABI). */
typedef float MlrecVec4 __attribute__((vector_size(16)));
#define MLREC_LANES 4
#define mlrecLoad4(pv, a)  memcpy((pv), (a), sizeof(MlrecVec4))
#define mlrecStore4(a, pv) memcpy((a), (pv), sizeof(MlrecVec4))

/* a . b over n floats: two vector sums, then the tail; always this order,
** so that a prediction is the same wherever it is computed. */
static inline float mlrecDot(const float *a, const float *b, int n){
  MlrecVec4 acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0}, x, y;
  float s;
  int d;
  for(d=0; d+2*MLREC_LANES<=n; d+=2*MLREC_LANES){
    mlrecLoad4(&x, a+d);
    mlrecLoad4(&y, b+d);
    acc0 += x*y;
    mlrecLoad4(&x, a+d+MLREC_LANES);
    mlrecLoad4(&y, b+d+MLREC_LANES);
    acc1 += x*y;
  }
  if( d+MLREC_LANES<=n ){
    mlrecLoad4(&x, a+d);
    mlrecLoad4(&y, b+d);
    acc0 += x*y;
    d += MLREC_LANES;
  }
  acc0 += acc1;
  s = (acc0[0]+acc0[2]) + (acc0[1]+acc0[3]);
  for(; d<n; d++) s += a[d]*b[d];
  return s;
}
int mlrecCholesky(double *A, int n);
void mlrecCholeskySolve(const double *L, int n, double *b);
void mlrecAddOuter(double *A, int n, double w, const float *y);

/* tvf.c: the virtual table of every top-k table-valued function */
#define MLREC_TVF_EXTRA 2    /* most extra columns of a function */
typedef struct MlrecTvfRow MlrecTvfRow;
struct MlrecTvfRow {
  i64 iId;                   /* the movie, or the user */
  double rScore;
  i64 aExtra[MLREC_TVF_EXTRA];   /* values of the extra columns */
  unsigned mExtra;           /* bit e set: extra column e is not NULL */
};
typedef struct MlrecTvfCursor MlrecTvfCursor;
struct MlrecTvfCursor {
  sqlite3_vtab_cursor base;  /* base class, must be first */
  MlrecState *pState;
  MlrecRatings *pRatings;    /* snapshot, once read (mlrecTvfRatings) */
  void *pWork;               /* work space of xCompute, kept across xFilter */
  i64 iArg;                  /* the id argument */
  i64 k;                     /* the k argument */
  sqlite3_value *pOptions;   /* the options argument, or NULL */
  unsigned mExtra;           /* bit e set: the statement reads extra column e */
  MlrecTvfRow *aRow;         /* results, best first */
  int nRow;
  int iRow;                  /* current row */
};
typedef struct MlrecTvf MlrecTvf;
struct MlrecTvf {
  const char *zName;         /* "similar_movies" */
  const char *zArg;          /* name of the id argument, "movie_id" */
  const char *zId;           /* name of the first column, "movieId" */
  const char *azExtra[MLREC_TVF_EXTRA+1];  /* names of the integer columns
                             ** after rank, NULL-terminated: "corated" */
  const char *zExample;      /* arguments of an example call, "260, 10" */
  int (*xCompute)(MlrecTvfCursor*, char **pzErr);  /* fill aRow, nRow */
  void (*xFreeWork)(void*);  /* destructor of pWork */
};
int mlrecRegisterTvf(sqlite3*, MlrecState*, const MlrecTvf*);
int mlrecRegisterTvfK(sqlite3*, MlrecState*, const MlrecTvf*, i64 kMax);
int mlrecTvfRatings(MlrecTvfCursor*, MlrecRatings **ppOut, char **pzErr);
int mlrecTvfSetRows(MlrecTvfCursor*, const MlrecTopK*, const i64 *aId);

#endif /* MLREC_CORE_H */
