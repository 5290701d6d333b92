/*
** config.c: options given as JSON, and the mlrec_config() function.
**
**     SELECT mlrec_config();
**       -> {"ratings_table":"ratings","user_column":"userId",
**           "movie_column":"movieId","rating_column":"rating",
**           "time_column":"timestamp","movies_table":"movies",...}
**     SELECT mlrec_config('{"ratings_table": "stars", "user_column": "who"}');
**
** mlrec_config() with an argument changes the names of the tables and
** columns the extension reads (ratings, their time, movies and genres, tags,
** embeddings), for this connection, and returns the whole configuration.  Keys not given keep their value.  Names are quoted as
** identifiers whenever they are used, so any name is safe.
**
** Options of every function are one JSON object.  mlrecParseOptions() reads
** it with SQLite's own json_each(), checks every key against a table of
** MlrecOption (name, type, range) and stores the values into a struct.
** Unknown keys, duplicated keys, wrong types and values out of range are
** errors that name the option and its valid range.
*/
#include "mlrec.h"
#include <math.h>
#include <string.h>

/* Append "a, b, c" (the valid option names) to pStr. */
static void appendOptionNames(sqlite3_str *pStr, const MlrecOption *aOpt,
                              int nOpt){
  int i;
  for(i=0; i<nOpt; i++){
    sqlite3_str_appendf(pStr, "%s%s", i ? ", " : "", aOpt[i].zName);
  }
}

/* A bound of an integer range, without overflowing at the ends of i64. */
static i64 boundToInt(double r){
  if( r>=9223372036854775807.0 ) return (i64)0x7fffffffffffffffLL;
  if( r<=-9223372036854775808.0 ) return -(i64)0x7fffffffffffffffLL - 1;
  return (i64)r;
}

/* Describe the valid values of option pOpt, e.g. "an integer in [1, 1024]". */
static void appendOptionRange(sqlite3_str *pStr, const MlrecOption *pOpt){
  switch( pOpt->eType ){
    case 'i':
      sqlite3_str_appendf(pStr, "an integer in [%lld, %lld]",
                          boundToInt(pOpt->rMin), boundToInt(pOpt->rMax));
      break;
    case 'r':
      sqlite3_str_appendf(pStr, "a number in [%g, %g]",
                          pOpt->rMin, pOpt->rMax);
      break;
    case 'b':
      sqlite3_str_appendf(pStr, "true or false");
      break;
    case 'a':
      sqlite3_str_appendf(pStr, "a JSON array");
      break;
    default:
      sqlite3_str_appendf(pStr, "a non-empty string");
      break;
  }
}

/*
** Store the value in the current row of json_each (columns key, type, atom,
** value) into the field of pOut described by pOpt: a number, an i64 0 or
** 1 for 'b' (true or false), a copy of the text for 's', of the JSON text
** of the array for 'a'.  Returns SQLITE_OK, or
** SQLITE_ERROR if the value is of the wrong type or out of range, or
** SQLITE_NOMEM.
*/
static int storeOption(sqlite3_stmt *pEach, const MlrecOption *pOpt,
                       void *pOut){
  const char *zType = (const char*)sqlite3_column_text(pEach, 1);
  char *pField = (char*)pOut + pOpt->offset;
  int isNumber = zType && (strcmp(zType, "integer")==0
                           || strcmp(zType, "real")==0);
  double r = sqlite3_column_double(pEach, 2);
  if( pOpt->eType=='s' || pOpt->eType=='a' ){
    int iCol = pOpt->eType=='s' ? 2 : 3;
    const char *z = (const char*)sqlite3_column_text(pEach, iCol);
    char *zCopy;
    if( zType==0 || strcmp(zType, pOpt->eType=='s' ? "text" : "array")!=0
     || z==0 || z[0]==0 ){
      return SQLITE_ERROR;
    }
    zCopy = sqlite3_mprintf("%s", z);
    if( zCopy==0 ) return SQLITE_NOMEM;
    sqlite3_free(*(char**)pField);
    *(char**)pField = zCopy;
    return SQLITE_OK;
  }
  if( pOpt->eType=='b' ){
    if( zType==0 || (strcmp(zType, "true")!=0 && strcmp(zType, "false")!=0) ){
      return SQLITE_ERROR;
    }
    *(i64*)pField = zType[0]=='t';
    return SQLITE_OK;
  }
  if( !isNumber || !(r>=pOpt->rMin && r<=pOpt->rMax) ) return SQLITE_ERROR;
  if( pOpt->eType=='i' ){
    if( strcmp(zType, "integer")==0 ){
      *(i64*)pField = sqlite3_column_int64(pEach, 2);
    }else if( r==floor(r) ){
      *(i64*)pField = (i64)r;
    }else{
      return SQLITE_ERROR;
    }
  }else{
    *(double*)pField = r;
  }
  return SQLITE_OK;
}

/* The error for a bad value of option pOpt in the current json_each row. */
static char *badValueMessage(const char *zFunc, const MlrecOption *pOpt,
                             sqlite3_stmt *pEach){
  sqlite3_str *pStr = sqlite3_str_new(0);
  const char *zType = (const char*)sqlite3_column_text(pEach, 1);
  sqlite3_str_appendf(pStr, "%s: option \"%s\" must be ", zFunc, pOpt->zName);
  appendOptionRange(pStr, pOpt);
  if( zType==0 ) zType = "null";
  if( strcmp(zType, "integer")==0 || strcmp(zType, "real")==0 ){
    sqlite3_str_appendf(pStr, ", got %s", sqlite3_column_text(pEach, 2));
  }else if( strcmp(zType, "text")==0 ){
    sqlite3_str_appendf(pStr, ", got \"%s\"", sqlite3_column_text(pEach, 2));
  }else{
    sqlite3_str_appendf(pStr, ", got %s", zType);  /* true, object, ... */
  }
  return sqlite3_str_finish(pStr);
}

static char *unknownOptionMessage(const char *zFunc, const char *zKey,
                                  const MlrecOption *aOpt, int nOpt){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendf(pStr, "%s: unknown option \"%s\"; valid options are: ",
                      zFunc, zKey);
  appendOptionNames(pStr, aOpt, nOpt);
  return sqlite3_str_finish(pStr);
}

/*
** SQLITE_OK if pJson is text holding a JSON object, else an error whose
** example names option zExample.
*/
static int checkIsObject(sqlite3 *db, const char *zFunc, sqlite3_value *pJson,
                         const char *zExample, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc;
  int eType = sqlite3_value_type(pJson);
  if( eType!=SQLITE_TEXT ){
    mlrecSetError(pzErr, "%s: options must be a JSON object as text, "
                  "e.g. '{\"%s\": ...}', not %s", zFunc, zExample,
                  mlrecTypeName(eType));
    return SQLITE_ERROR;
  }
  /* Not json_valid(): in SQLite 3.40 it answers 0 when out of memory,
  ** while json_type() fails with SQLITE_NOMEM, or SQLITE_ERROR if the text
  ** is not JSON. */
  rc = sqlite3_prepare_v2(db, "SELECT json_type(?1)", -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    sqlite3_bind_value(pStmt, 1, pJson);
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW || rc==SQLITE_ERROR ){
      const char *zType = rc==SQLITE_ROW ?
          (const char*)sqlite3_column_text(pStmt, 0) : "malformed JSON";
      if( zType==0 ){
        rc = SQLITE_NOMEM;
      }else if( strcmp(zType, "object")!=0 ){
        mlrecSetError(pzErr, "%s: options must be a JSON object, "
                      "e.g. '{\"%s\": ...}'; got %s", zFunc, zExample,
                      zType);
        rc = SQLITE_ERROR;
      }else{
        rc = SQLITE_OK;
      }
    }
  }
  if( rc!=SQLITE_OK && *pzErr==0 ){
    mlrecSetError(pzErr, "%s: %s", zFunc, sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Parse the JSON object pJson against the nOpt options in aOpt (at most 64)
** and store each value given into pOut.  Options not given are left alone,
** so the caller fills pOut with defaults first.  A NULL pJson means "no
** options".  On error, *pzErr holds a message naming the option.
*/
int mlrecParseOptions(
  sqlite3 *db,
  const char *zFunc,
  sqlite3_value *pJson,
  const MlrecOption *aOpt,
  int nOpt,
  void *pOut,
  char **pzErr
){
  sqlite3_stmt *pEach = 0;
  u64 mSeen = 0;
  int rc;
  if( pJson==0 || sqlite3_value_type(pJson)==SQLITE_NULL ) return SQLITE_OK;
  rc = checkIsObject(db, zFunc, pJson, aOpt[0].zName, pzErr);
  if( rc!=SQLITE_OK ) return rc;
  rc = sqlite3_prepare_v2(db, "SELECT key, type, atom, value FROM json_each(?1)",
                          -1, &pEach, 0);
  if( rc==SQLITE_OK ) rc = sqlite3_bind_value(pEach, 1, pJson);
  while( rc==SQLITE_OK && sqlite3_step(pEach)==SQLITE_ROW ){
    const char *zKey = (const char*)sqlite3_column_text(pEach, 0);
    int i;
    for(i=0; i<nOpt && (zKey==0 || strcmp(zKey, aOpt[i].zName)!=0); i++){}
    if( i==nOpt ){
      sqlite3_free(*pzErr);
      *pzErr = unknownOptionMessage(zFunc, zKey ? zKey : "", aOpt, nOpt);
      rc = *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
    }else if( mSeen & ((u64)1<<i) ){
      mlrecSetError(pzErr, "%s: option \"%s\" is given twice", zFunc, zKey);
      rc = SQLITE_ERROR;
    }else{
      mSeen |= (u64)1<<i;
      rc = storeOption(pEach, &aOpt[i], pOut);
      if( rc==SQLITE_ERROR ){
        sqlite3_free(*pzErr);
        *pzErr = badValueMessage(zFunc, &aOpt[i], pEach);
        if( *pzErr==0 ) rc = SQLITE_NOMEM;
      }
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pEach);
  else sqlite3_finalize(pEach);
  if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: %s", zFunc, sqlite3_errmsg(db));
  }
  return rc;
}

static const MlrecOption aConfigOption[] = {
  { "ratings_table", 's', 0, 0, offsetof(MlrecConfig, zRatings) },
  { "user_column",   's', 0, 0, offsetof(MlrecConfig, zUser) },
  { "movie_column",  's', 0, 0, offsetof(MlrecConfig, zMovie) },
  { "rating_column", 's', 0, 0, offsetof(MlrecConfig, zRating) },
  { "time_column",   's', 0, 0, offsetof(MlrecConfig, zTime) },
  { "movies_table",  's', 0, 0, offsetof(MlrecConfig, zMovies) },
  { "genres_column", 's', 0, 0, offsetof(MlrecConfig, zGenres) },
  { "tags_table",    's', 0, 0, offsetof(MlrecConfig, zTags) },
  { "tag_column",    's', 0, 0, offsetof(MlrecConfig, zTag) },
  { "embeddings_table", 's', 0, 0, offsetof(MlrecConfig, zEmbeddings) },
  { "embedding_column", 's', 0, 0, offsetof(MlrecConfig, zEmbedding) },
};
#define N_CONFIG_OPTION (int)(sizeof(aConfigOption)/sizeof(aConfigOption[0]))

/* The field of pCfg that option i of aConfigOption sets. */
static char **configField(MlrecConfig *pCfg, int i){
  return (char**)((char*)pCfg + aConfigOption[i].offset);
}

int mlrecConfigInit(MlrecConfig *pCfg){
  static const char *azDefault[N_CONFIG_OPTION] = {
    "ratings", "userId", "movieId", "rating", "timestamp", "movies",
    "genres", "tags", "tag", "movie_embeddings", "embedding"
  };
  int i;
  memset(pCfg, 0, sizeof(*pCfg));
  for(i=0; i<N_CONFIG_OPTION; i++){
    *configField(pCfg, i) = sqlite3_mprintf("%s", azDefault[i]);
    if( *configField(pCfg, i)==0 ){
      mlrecConfigClear(pCfg);
      return SQLITE_NOMEM;
    }
  }
  return SQLITE_OK;
}

void mlrecConfigClear(MlrecConfig *pCfg){
  int i;
  for(i=0; i<N_CONFIG_OPTION; i++){
    sqlite3_free(*configField(pCfg, i));
    *configField(pCfg, i) = 0;
  }
}

/* Set the result of ctx to the configuration as a JSON object. */
static void resultConfigJson(sqlite3_context *ctx, MlrecConfig *pCfg){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *pStmt = 0;
  sqlite3_str *pSql = sqlite3_str_new(db);
  char *zSql;
  int rc, i;
  for(i=0; i<N_CONFIG_OPTION; i++){
    sqlite3_str_appendf(pSql, "%s?%d, ?%d", i ? ", " : "SELECT json_object(",
                        2*i+1, 2*i+2);
  }
  sqlite3_str_appendall(pSql, ")");
  zSql = sqlite3_str_finish(pSql);
  rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  for(i=0; rc==SQLITE_OK && i<N_CONFIG_OPTION; i++){
    rc = sqlite3_bind_text(pStmt, 2*i+1, aConfigOption[i].zName, -1,
                           SQLITE_STATIC);
    if( rc==SQLITE_OK ){
      rc = sqlite3_bind_text(pStmt, 2*i+2, *configField(pCfg, i), -1,
                             SQLITE_STATIC);
    }
  }
  if( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3_result_value(ctx, sqlite3_column_value(pStmt, 0));
  }else if( rc==SQLITE_NOMEM ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error_code(ctx, sqlite3_errcode(db));
  }
  sqlite3_finalize(pStmt);
}

/* mlrec_config([json]): read or change the table and column names. */
static void configFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  MlrecState *p = (MlrecState*)sqlite3_user_data(ctx);
  MlrecConfig next;
  char *zErr = 0;
  int i, rc;
  if( argc==1 ){
    memset(&next, 0, sizeof(next));
    rc = mlrecParseOptions(p->db, "mlrec_config", argv[0], aConfigOption,
                           N_CONFIG_OPTION, &next, &zErr);
    if( rc!=SQLITE_OK ){
      mlrecConfigClear(&next);
      mlrecResultError(ctx, rc, zErr);
      sqlite3_free(zErr);
      return;
    }
    for(i=0; i<N_CONFIG_OPTION; i++){
      char **pz = configField(&next, i);
      if( *pz==0 ) continue;
      sqlite3_free(*configField(&p->cfg, i));
      *configField(&p->cfg, i) = *pz;
      *pz = 0;
    }
    mlrecForgetRatings(p);
    mlrecContentCacheFree(p->pContent);
    p->pContent = 0;
  }
  resultConfigJson(ctx, &p->cfg);
}

int mlrecRegisterConfig(sqlite3 *db, MlrecState *p){
  /* Changes the state of the connection: never from views or triggers. */
  return mlrecCreateFunctions(db, "mlrec_config", 0, 1, SQLITE_DIRECTONLY, p,
                              configFunc);
}
