/*
** saved.h: models saved into tables of the database (format 2), shared by
** the files that write and read them:
**
**   saved.c          checksums, little-endian blobs, the header columns
**                    every kind of model has, and the errors of a load
**   saved_rating.c   the rating model of train_mf(): mlrec_saved_models,
**                    mlrec_saved_vectors, mlrec_saved_neighbours
**   saved_ranking.c  the ranking model of train_ranker():
**                    mlrec_saved_rankers, mlrec_saved_ranker_items
**   import.c         mlrec_import_factors(): factors trained elsewhere,
**                    saved as a rating model
**   persist.c        mlrec_save_model(), mlrec_load_model(): every model
**                    of a connection in one transaction, the copies shared
**                    by the connections of a process, auto-load
*/
#ifndef MLREC_SAVED_H
#define MLREC_SAVED_H

#include "surface.h"

/* The format written; older and newer ones are refused (saved.c). */
#define MLREC_SAVED_FORMAT 2

/* The kinds of saved model, as listed in the process (core/shared.c). */
#define MLREC_SHARED_RATING  1
#define MLREC_SHARED_RANKING 2

/* A checksum: FNV-1a, 64 bits, over bytes that do not depend on the host. */
typedef struct MlrecSum MlrecSum;
struct MlrecSum {
  u64 h;
};
void mlrecSumInit(MlrecSum*);
void mlrecSumBytes(MlrecSum*, const unsigned char*, size_t n);
void mlrecSumU64(MlrecSum*, u64);
void mlrecSumDouble(MlrecSum*, double);
void mlrecSumText(MlrecSum*, const char*);
u64 mlrecDigest(const unsigned char*, size_t n);

/* Arrays as little-endian blobs: 4 bytes per float or int, 8 per double. */
void mlrecPutFloats(unsigned char*, const float*, int n);
void mlrecGetFloats(float*, const unsigned char*, int n);
void mlrecPutInts(unsigned char*, const int*, int n);
void mlrecGetInts(int*, const unsigned char*, int n);
void mlrecPutDoubles(unsigned char*, const double*, int n);
void mlrecGetDoubles(double*, const unsigned char*, int n);
int mlrecAllFinite(const float*, i64 n);

/*
** The columns every saved kind has, first in its header table and in this
** order: format, users, items, factors, ratings, data_hash, rating_min,
** rating_max, options, info, checksum, saved_at (the SELECT adds the
** seconds and trained_at of info after them).
*/
#define MLREC_SAVED_COLUMNS "format, users, items, factors, ratings, " \
  "data_hash, rating_min, rating_max, options, info, checksum, saved_at"
#define MLREC_SAVED_NCOLUMN 14
typedef struct MlrecSavedHeader MlrecSavedHeader;
struct MlrecSavedHeader {
  i64 nUser, nItem, nFactor, nRating;
  u64 dataHash;
  double rMin, rMax;     /* infinite: no rating range */
  char *zOptions;        /* JSON */
  char *zInfo;           /* JSON: seconds, trained_at, and more per kind */
  u64 checksum;
  char zSavedAt[24];
  double seconds;
  i64 trainedAt;
};
void mlrecSavedHeaderSum(MlrecSum*, const MlrecSavedHeader*);
int mlrecSavedHeaderRead(sqlite3_stmt*, const char *zName, MlrecSavedHeader*,
                         char **pzErr);
void mlrecSavedHeaderBind(sqlite3_stmt*, const MlrecSavedHeader*);
void mlrecSavedHeaderClear(MlrecSavedHeader*);
void mlrecSavedNow(char *zBuf, int nBuf);

/* Reading a saved model */
int mlrecSavedDamaged(char **pzErr, const char *zName, const char *zFormat,
                      ...);
int mlrecSavedPrepare(sqlite3*, const char *zSql, const char *zName,
                      sqlite3_stmt **ppStmt, char **pzErr);
int mlrecSavedStepError(sqlite3*, int rc, const char *zName, char **pzErr);
int mlrecSavedNoTable(sqlite3*);
int mlrecSavedExec(sqlite3*, const char *zSql, const char *zName);

/* saved_rating.c: the rating model (and imported factors) */
int mlrecSaveRating(sqlite3*, const char *zName, const MlrecModel*,
                    MlrecOrigin*, char **pzErr);
int mlrecLoadRating(sqlite3*, const char *zName, MlrecModel **ppOut,
                    MlrecOrigin*, char **pzErr);
int mlrecForgetRating(sqlite3*, const char *zName);

/* saved_ranking.c: the ranking model */
int mlrecSaveRanking(sqlite3*, const char *zName, const MlrecRanker*,
                     MlrecOrigin*);
int mlrecLoadRanking(sqlite3*, const char *zName, MlrecRanker **ppOut,
                     MlrecOrigin*, char **pzErr);
int mlrecForgetRanking(sqlite3*, const char *zName);

/* persist.c: saving the models of a connection in one transaction */
int mlrecSaveModels(sqlite3*, const char *zName, const MlrecModel*,
                    MlrecOrigin*, const MlrecRanker*, MlrecOrigin*,
                    const char *zFunc, char **pzErr);
const char *mlrecNameArg(sqlite3_context*, const char *zFunc, int argc,
                         sqlite3_value **argv);
void mlrecResultOrError(sqlite3_context*, int rc, char *zErr, char *zOut);
const char *mlrecTextArg(sqlite3_context*, sqlite3_value*, const char *zFunc,
                         const char *zWhat);
char *mlrecSavedSummary(const char *zName, const MlrecModel*,
                        const MlrecRanker*);

#endif /* MLREC_SAVED_H */
