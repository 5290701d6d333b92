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
** name is safe.  A table name may name its database: "aux.ratings" is
** table ratings of the attached database aux (unless a table or view is
** called "aux.ratings" itself); without one, SQLite looks in temp, main,
** then the attached databases, as for any unqualified name.
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
  { "title_column",     's', 0, 0, CFG(zTitle),      .zDefault="title" },
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

/*
** Split table name zName into *pzSchema (NULL for none, else to be freed
** with sqlite3_free()) and *pzTable (a pointer into zName): "aux.ratings"
** is split when aux is a database of the connection and no table or view
** is called "aux.ratings" itself.
*/
static int splitName(sqlite3 *db, const char *zName, char **pzSchema,
                     const char **pzTable){
  const char *zDot = strchr(zName, '.');
  const char *zDb;
  sqlite3_stmt *pStmt = 0;
  int i, rc;
  *pzSchema = 0;
  *pzTable = zName;
  if( zDot==0 || zDot[1]==0 ) return SQLITE_OK;
  for(i=0; (zDb = sqlite3_db_name(db, i))!=0; i++){
    if( (int)strlen(zDb)==(int)(zDot-zName)
     && sqlite3_strnicmp(zDb, zName, (int)(zDot-zName))==0 ) break;
  }
  if( zDb==0 ) return SQLITE_OK;
  rc = sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_list(?1)", -1,
                          &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){
      *pzSchema = sqlite3_mprintf("%.*s", (int)(zDot-zName), zName);
      *pzTable = zDot+1;
      rc = *pzSchema ? SQLITE_OK : SQLITE_NOMEM;
    }else if( rc==SQLITE_ROW ){
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** The FROM clause item that reads table zName of the configuration, under
** the name zName itself, so that columns are qualified as "zName"."col":
** "aux"."ratings" AS "aux.ratings", or "ratings".  NULL if out of memory
** (or if the database cannot be asked whether the table exists).
*/
char *mlrecFromSql(sqlite3 *db, const char *zName){
  char *zSchema = 0, *zOut = 0;
  const char *zTable;
  if( splitName(db, zName, &zSchema, &zTable)!=SQLITE_OK ) return 0;
  zOut = zSchema ? sqlite3_mprintf("\"%w\".\"%w\" AS \"%w\"", zSchema, zTable,
                                   zName)
                 : sqlite3_mprintf("\"%w\"", zName);
  sqlite3_free(zSchema);
  return zOut;
}

/*
** Set *pbOut to 1 if table (or view) zTable of the configuration exists
** and, unless zColumn is NULL, has a column named zColumn (in any case),
** else to 0.
*/
int mlrecTableHas(sqlite3 *db, const char *zTable, const char *zColumn,
                  int *pbOut){
  sqlite3_stmt *pStmt = 0;
  char *zSchema = 0;
  const char *zName;
  int rc = splitName(db, zTable, &zSchema, &zName);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, zSchema
        ? "SELECT 1 FROM pragma_table_xinfo(?1, ?3) "
          "WHERE ?2 IS NULL OR name = ?2 COLLATE NOCASE"
        : "SELECT 1 FROM pragma_table_xinfo(?1) "
          "WHERE ?2 IS NULL OR name = ?2 COLLATE NOCASE", -1, &pStmt, 0);
  }
  if( rc==SQLITE_OK ){
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zColumn, -1, SQLITE_STATIC);
    if( zSchema ) sqlite3_bind_text(pStmt, 3, zSchema, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
    *pbOut = rc==SQLITE_ROW;
    rc = rc==SQLITE_ROW || rc==SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSchema);
  return rc;
}
