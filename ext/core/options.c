/*
** options.c: the options of every function, given as one JSON object.
**
**     SELECT train_mf('{"factors": 64, "epochs": 30}');
**     SELECT * FROM recommend(1, 10, '{"model": "rating"}');
**
** Each function describes its options in one table of MlrecOption (core.h):
** name, type, valid range, where the value goes in the function's options
** struct, its default, and whether the JSON echo (train_mf()'s summary, the
** options column of mlrec_models) shows it.  So adding an option is one
** struct field and one table row.  mlrecParseOptions() reads the object
** with SQLite's own json_each() and checks every key against the table:
** unknown keys, duplicated keys, wrong types and values out of range are
** errors that name the option and its valid values.
**
** The names of the tables and columns the extension reads (MlrecConfig,
** mlrec_config()) are options too, of type text, with their defaults here.
*/
#include "core.h"
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

/* Append "a", "b" or "c" (the names of a choice) to pStr. */
static void appendChoices(sqlite3_str *pStr, const char *const *azChoice){
  int i;
  for(i=0; azChoice[i]; i++){
    sqlite3_str_appendf(pStr, "%s\"%s\"",
                        i==0 ? "" : azChoice[i+1] ? ", " : " or ", azChoice[i]);
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
    case 'e':
      appendChoices(pStr, pOpt->azChoice);
      break;
    default:
      sqlite3_str_appendf(pStr, "a non-empty string");
      break;
  }
}

/* True if column iCol of pStmt is text with a NUL inside (JSON's \u0000),
** which C strings would cut short. */
static int hasNul(sqlite3_stmt *pStmt, int iCol){
  const char *z = (const char*)sqlite3_column_text(pStmt, iCol);
  return z && (size_t)sqlite3_column_bytes(pStmt, iCol)!=strlen(z);
}

/*
** True if text pVal holds a NUL character, as a byte or, in a JSON string,
** as the escape \u0000: SQLite's JSON functions return strings cut short
** at it, and C strings end there, so "a\u0000b" would silently be "a".
*/
static int hasNulChar(sqlite3_value *pVal){
  const char *z = (const char*)sqlite3_value_text(pVal);
  int i, n = sqlite3_value_bytes(pVal), bString = 0;
  if( z==0 ) return 0;
  for(i=0; i<n; i++){
    if( z[i]==0 ) return 1;
    if( z[i]=='"' ) bString = !bString;
    if( bString && z[i]=='\\' ){
      if( i+5<n && z[i+1]=='u' && sqlite3_strnicmp(&z[i+2], "0000", 4)==0 ){
        return 1;
      }
      i++;   /* an escaped character, perhaps a quote */
    }
  }
  return 0;
}

/* Append z, cut after MLREC_ECHO_BYTES bytes (at a character boundary) with
** "...": an error message does not echo a megabyte of input. */
void mlrecAppendCut(sqlite3_str *pStr, const char *z){
  int n = z ? (int)strlen(z) : 0;
  if( n<=MLREC_ECHO_BYTES ){
    sqlite3_str_appendall(pStr, z);
    return;
  }
  n = MLREC_ECHO_BYTES;
  while( n>0 && ((unsigned char)z[n] & 0xc0)==0x80 ) n--;
  sqlite3_str_appendf(pStr, "%.*s...", n, z);
}

/*
** Store the value in the current row of json_each (columns key, type, atom,
** value) into the field of pOut described by pOpt: a number, an i64 0 or
** 1 for 'b' (true or false), the index of the name (in any case) for 'e',
** a copy of the text for 's', of the JSON text of the array for 'a'.  Returns SQLITE_OK, or
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
     || z==0 || z[0]==0 || hasNul(pEach, iCol) ){
      return SQLITE_ERROR;
    }
    zCopy = sqlite3_mprintf("%s", z);
    if( zCopy==0 ) return SQLITE_NOMEM;
    sqlite3_free(*(char**)pField);
    *(char**)pField = zCopy;
    return SQLITE_OK;
  }
  if( pOpt->eType=='e' ){
    const char *z = (const char*)sqlite3_column_text(pEach, 2);
    i64 i;
    if( zType==0 || strcmp(zType, "text")!=0 || z==0 || hasNul(pEach, 2) ){
      return SQLITE_ERROR;
    }
    for(i=0; pOpt->azChoice[i] && sqlite3_stricmp(z, pOpt->azChoice[i]); i++){}
    if( pOpt->azChoice[i]==0 ) return SQLITE_ERROR;
    *(i64*)pField = i;
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
  }else if( strcmp(zType, "text")==0 && hasNul(pEach, 2) ){
    sqlite3_str_appendall(pStr, ", got text with a NUL character");
  }else if( strcmp(zType, "text")==0 ){
    sqlite3_str_appendall(pStr, ", got \"");
    mlrecAppendCut(pStr, (const char*)sqlite3_column_text(pEach, 2));
    sqlite3_str_appendall(pStr, "\"");
  }else{
    sqlite3_str_appendf(pStr, ", got %s", zType);  /* true, object, ... */
  }
  return sqlite3_str_finish(pStr);
}

static char *unknownOptionMessage(const char *zFunc, const char *zKey,
                                  const MlrecOption *aOpt, int nOpt){
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendf(pStr, "%s: unknown option \"", zFunc);
  mlrecAppendCut(pStr, zKey);
  sqlite3_str_appendall(pStr, "\"; valid options are: ");
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
  if( hasNulChar(pJson) ){
    mlrecSetError(pzErr, "%s: options must not hold a NUL character "
                  "(\\u0000), which would cut a name short", zFunc);
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

/* Store the default of every option of aOpt into pOut; SQLITE_NOMEM if a
** text default cannot be copied. */
int mlrecOptionsDefault(const MlrecOption *aOpt, int nOpt, void *pOut){
  int i;
  for(i=0; i<nOpt; i++){
    const MlrecOption *pOpt = &aOpt[i];
    char *pField = (char*)pOut + pOpt->offset;
    switch( pOpt->eType ){
      case 'r':
        *(double*)pField = pOpt->rDefault;
        break;
      case 's':
      case 'a':
        *(char**)pField = 0;
        if( pOpt->zDefault ){
          *(char**)pField = sqlite3_mprintf("%s", pOpt->zDefault);
          if( *(char**)pField==0 ) return SQLITE_NOMEM;
        }
        break;
      default:
        *(i64*)pField = (i64)pOpt->rDefault;
        if( pOpt->mFlags & MLREC_OPT_CORES ){
          i64 nCore = mlrecOnlineCores();
          *(i64*)pField = nCore<pOpt->rMax ? nCore : (i64)pOpt->rMax;
        }
        break;
    }
  }
  return SQLITE_OK;
}

/* Free the text options of aOpt in p, and set them to NULL. */
void mlrecOptionsClear(const MlrecOption *aOpt, int nOpt, void *p){
  int i;
  for(i=0; i<nOpt; i++){
    if( aOpt[i].eType=='s' || aOpt[i].eType=='a' ){
      char **pz = (char**)((char*)p + aOpt[i].offset);
      sqlite3_free(*pz);
      *pz = 0;
    }
  }
}

/* z as a JSON string, quoted and escaped. */
void mlrecJsonString(sqlite3_str *pStr, const char *z){
  sqlite3_str_appendchar(pStr, 1, '"');
  for(; *z; z++){
    unsigned char c = (unsigned char)*z;
    if( c=='"' || c=='\\' ) sqlite3_str_appendf(pStr, "\\%c", c);
    else if( c<0x20 ) sqlite3_str_appendf(pStr, "\\u%04x", c);
    else sqlite3_str_appendchar(pStr, 1, (char)c);
  }
  sqlite3_str_appendchar(pStr, 1, '"');
}

/*
** The options of aOpt in p as a JSON object, in table order, leaving out
** those flagged MLREC_OPT_HIDDEN and text options that are NULL; NULL if
** out of memory.  Numbers print with 15 significant digits.
*/
char *mlrecOptionsJson(const MlrecOption *aOpt, int nOpt, const void *p){
  sqlite3_str *pStr = sqlite3_str_new(0);
  int i, n = 0;
  sqlite3_str_appendchar(pStr, 1, '{');
  for(i=0; i<nOpt; i++){
    const MlrecOption *pOpt = &aOpt[i];
    const char *pField = (const char*)p + pOpt->offset;
    if( pOpt->mFlags & MLREC_OPT_HIDDEN ) continue;
    if( (pOpt->eType=='s' || pOpt->eType=='a') && *(char*const*)pField==0 ){
      continue;
    }
    sqlite3_str_appendf(pStr, "%s\"%s\":", n++ ? "," : "", pOpt->zName);
    switch( pOpt->eType ){
      case 'r':
        sqlite3_str_appendf(pStr, "%!.15g", *(const double*)pField);
        break;
      case 'b':
        sqlite3_str_appendall(pStr, *(const i64*)pField ? "true" : "false");
        break;
      case 'e':
        mlrecJsonString(pStr, pOpt->azChoice[*(const i64*)pField]);
        break;
      case 's':
        mlrecJsonString(pStr, *(char*const*)pField);
        break;
      case 'a':
        sqlite3_str_appendall(pStr, *(char*const*)pField);
        break;
      default:
        sqlite3_str_appendf(pStr, "%lld", *(const i64*)pField);
        break;
    }
  }
  sqlite3_str_appendchar(pStr, 1, '}');
  return sqlite3_str_finish(pStr);
}
