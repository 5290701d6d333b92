/*
** surface.h: the top floor of the mlrec extension, the SQL surface that
** spans the models, over the three wings and the core they stand on:
**
**   core/     state, ratings snapshot, options, table-valued-function
**             plumbing, top-k, linear algebra, threads (core/core.h)
**   similar/  similar_movies(): item-item cosine kNN and content vectors
**   rating/   train_mf() and predict(): matrix factorisation + item kNN
**   ranking/  train_ranker(): the ranking model behind recommend()
**
**   recommend.c  recommend(), over the three models
**   audience.c   audience(): the users likeliest to want a movie
**   eval.c       mlrec_evaluate() and mlrec_split_hash()
**   models.c     the virtual tables mlrec_models and mlrec_training_log
**   persist.c    mlrec_save_model(), mlrec_load_model(), auto-load
**   saved*.c     the saved models' tables, one file per kind (saved.h)
**   import.c     mlrec_import_factors()
**   version.c    mlrec_version() and mlrec_debug()
**   mlrec.c      the entry point, sqlite3_mlrec_init()
**
** A file calls only files on its floor or below: core calls no wing, no
** wing calls another, and only the top calls across the wings.
*/
#ifndef MLREC_SURFACE_H
#define MLREC_SURFACE_H

#include "core/core.h"
#include "similar/similar.h"
#include "rating/rating.h"
#include "ranking/ranking.h"

#define MLREC_VERSION "0.1.0"

/* The registrations of the top floor */
int mlrecRegisterRecommend(sqlite3*, MlrecState*);
int mlrecRegisterAudience(sqlite3*, MlrecState*);
void mlrecAudienceFree(MlrecAudience*);
int mlrecRegisterEval(sqlite3*, MlrecState*);
int mlrecRegisterModels(sqlite3*, MlrecState*);
int mlrecRegisterPersist(sqlite3*, MlrecState*);
int mlrecRegisterImport(sqlite3*, MlrecState*);
int mlrecRegisterVersion(sqlite3*);

#endif /* MLREC_SURFACE_H */
