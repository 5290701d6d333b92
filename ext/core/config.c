/*
** config.c: the names of the tables and columns the extension reads,
** which mlrec_config() (state.c) shows and changes:
**
**     SELECT mlrec_config();
**       -> {"ratings_table":"ratings","user_column":"userId",
**           "movie_column":"movieId","rating_column":"rating",
**           "time_column":"timestamp","movies_table":"movies",...}
**     SELECT mlrec_config('{"ratings_table": "stars", "user_column": "who"}');
**
** They are options of type text (options.c), with the MovieLens names as
** defaults.  Names are quoted as identifiers wherever they are used, so any
** name is safe.
*/
#include "core.h"
#include <string.h>

#define CFG(F) .offset=offsetof(MlrecConfig, F)
static const MlrecOption aConfigOption[] = {
  { "ratings_table",    's', 0, 0, CFG(zRatings),    .zDefault="ratings" },
  { "user_column",      's', 0, 0, CFG(zUser),       .zDefault="userId" },
  { "movie_column",     's', 0, 0, CFG(zMovie),      .zDefault="movieId" },
  { "rating_column",    's', 0, 0, CFG(zRating),     .zDefault="rating" },
  { "time_column",      's', 0, 0, CFG(zTime),       .zDefault="timestamp" },
  { "movies_table",     's', 0, 0, CFG(zMovies),     .zDefault="movies" },
  { "genres_column",    's', 0, 0, CFG(zGenres),     .zDefault="genres" },
  { "tags_table",       's', 0, 0, CFG(zTags),       .zDefault="tags" },
  { "tag_column",       's', 0, 0, CFG(zTag),        .zDefault="tag" },
  { "embeddings_table", 's', 0, 0, CFG(zEmbeddings),
                                               .zDefault="movie_embeddings" },
  { "embedding_column", 's', 0, 0, CFG(zEmbedding),  .zDefault="embedding" },
};
#define N_CONFIG_OPTION (int)(sizeof(aConfigOption)/sizeof(aConfigOption[0]))

int mlrecConfigInit(MlrecConfig *pCfg){
  int rc = mlrecOptionsDefault(aConfigOption, N_CONFIG_OPTION, pCfg);
  if( rc!=SQLITE_OK ) mlrecConfigClear(pCfg);
  return rc;
}

void mlrecConfigClear(MlrecConfig *pCfg){
  mlrecOptionsClear(aConfigOption, N_CONFIG_OPTION, pCfg);
}

/* The configuration as a JSON object; NULL if out of memory. */
char *mlrecConfigJson(const MlrecConfig *pCfg){
  return mlrecOptionsJson(aConfigOption, N_CONFIG_OPTION, pCfg);
}

/*
** Set the names given in the JSON object pJson (mlrec_config()'s argument)
** in pCfg; names not given keep their value.  On error pCfg is unchanged.
*/
int mlrecConfigUpdate(sqlite3 *db, MlrecConfig *pCfg, sqlite3_value *pJson,
                      char **pzErr){
  MlrecConfig next;
  int i, rc;
  memset(&next, 0, sizeof(next));
  rc = mlrecParseOptions(db, "mlrec_config", pJson, aConfigOption,
                         N_CONFIG_OPTION, &next, pzErr);
  for(i=0; rc==SQLITE_OK && i<N_CONFIG_OPTION; i++){
    char **pzNew = (char**)((char*)&next + aConfigOption[i].offset);
    char **pzOld = (char**)((char*)pCfg + aConfigOption[i].offset);
    if( *pzNew==0 ) continue;
    sqlite3_free(*pzOld);
    *pzOld = *pzNew;
    *pzNew = 0;
  }
  mlrecConfigClear(&next);
  return rc;
}
