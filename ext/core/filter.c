/*
** filter.c: restricting the movies that recommend() and similar_movies()
** may return, from two options of their JSON argument:
**
**     SELECT * FROM recommend(1, 10, '{"genre": "Comedy"}');
**     SELECT * FROM similar_movies(260, 5,
**         json_object('movies', (SELECT json_group_array(movieId)
**                                  FROM movies WHERE title LIKE '%(1977)')));
**
** "genre" keeps the movies of the movies table (mlrec_config's movies_table
** and genres_column) whose pipe-separated genres include the given one,
** ignoring case ("Adventure|Sci-Fi" has "sci-fi").  "movies" is a JSON
** array of the movie ids allowed: any SQL can compute it.  Given both, a
** movie must pass both.  Ids in the list that no model knows are ignored.
*/
#include "core.h"
#include <stdlib.h>
#include <string.h>

static int cmpId(const void *a, const void *b){
  i64 x = *(const i64*)a, y = *(const i64*)b;
  return (x>y) - (x<y);
}

/* Sort the n ids a ascending and drop repeats; returns how many remain. */
int mlrecSortDistinctIds(i64 *a, int n){
  int i, nOut = 0;
  if( n>1 ) qsort(a, n, sizeof(i64), cmpId);
  for(i=0; i<n; i++){
    if( nOut==0 || a[i]!=a[nOut-1] ) a[nOut++] = a[i];
  }
  return nOut;
}

/* Append iId to the growing array *paId of *pn entries. */
static int appendId(i64 **paId, int *pn, int *pnAlloc, i64 iId){
  if( *pn==*pnAlloc ){
    int nNew = *pnAlloc ? 2*(*pnAlloc) : 256;
    i64 *aNew = sqlite3_realloc64(*paId, sizeof(i64)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    *paId = aNew;
    *pnAlloc = nNew;
  }
  (*paId)[(*pn)++] = iId;
  return SQLITE_OK;
}

/*
** Step pStmt, whose column 0 holds ids (column 1 their JSON type, if
** bJson), appending them to *paId.
*/
static int collectIds(sqlite3_stmt *pStmt, const char *zFunc, int bJson,
                      i64 **paId, int *pn, char **pzErr){
  int nAlloc = 0, rc = SQLITE_OK;
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *zType = bJson ? (const char*)sqlite3_column_text(pStmt, 1) : 0;
    i64 iId;
    if( (zType && strcmp(zType, "integer")!=0 && strcmp(zType, "real")!=0)
     || mlrecArgToId(sqlite3_column_value(pStmt, 0), &iId)!=SQLITE_OK ){
      if( bJson ){
        mlrecSetError(pzErr, "%s: option \"movies\" must be an array of "
                      "integer movie ids, got %s %s", zFunc,
                      zType ? zType : "null", sqlite3_column_text(pStmt, 0));
        return SQLITE_ERROR;
      }
      continue;   /* a movies table row without an integer id */
    }
    rc = appendId(paId, pn, &nAlloc, iId);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_reset(pStmt);
  if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: %s", zFunc,
                  sqlite3_errmsg(sqlite3_db_handle(pStmt)));
  }
  return rc;
}

/* The sorted, distinct ids of the rows of zSql, bound to zArg. */
static int idsOf(sqlite3 *db, const char *zFunc, const char *zSql,
                 const char *zArg, int bJson, i64 **paId, int *pn,
                 char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  *paId = 0;
  *pn = 0;
  if( rc!=SQLITE_OK ){
    mlrecSetError(pzErr, "%s: %s", zFunc, sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(pStmt, 1, zArg, -1, SQLITE_STATIC);
  rc = collectIds(pStmt, zFunc, bJson, paId, pn, pzErr);
  sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK ){
    sqlite3_free(*paId);
    *paId = 0;
    *pn = 0;
  }
  if( rc!=SQLITE_OK || *pn==0 ) return rc;
  *pn = mlrecSortDistinctIds(*paId, *pn);
  return SQLITE_OK;
}

/* Keep in aA (nA ids, sorted) only the ids also in aB; returns the count. */
static int intersect(i64 *aA, int nA, const i64 *aB, int nB){
  int i, n = 0;
  for(i=0; i<nA; i++){
    if( mlrecFindId(aB, nB, aA[i])>=0 ) aA[n++] = aA[i];
  }
  return n;
}

/*
** Resolve the genre and movies options of p into its list of allowed ids.
** Without either, p->bRestricted stays 0 and every movie is allowed.
*/
/* The edit distance of a and b, ignoring ASCII case (short strings). */
static int editDistance(const char *a, const char *b){
  int na = (int)strlen(a), nb = (int)strlen(b), i, j;
  int aRow[64];
  if( na>=64 || nb>=64 ) return na>nb ? na : nb;
  for(j=0; j<=nb; j++) aRow[j] = j;
  for(i=1; i<=na; i++){
    int prev = aRow[0], cur;
    aRow[0] = i;
    for(j=1; j<=nb; j++){
      int sub = prev + (sqlite3_strnicmp(&a[i-1], &b[j-1], 1)!=0);
      cur = aRow[j];
      aRow[j] = sub;
      if( cur+1<aRow[j] ) aRow[j] = cur+1;
      if( aRow[j-1]+1<aRow[j] ) aRow[j] = aRow[j-1]+1;
      prev = cur;
    }
  }
  return aRow[nb];
}

/* A genre of the movies table and its distance to the one asked for. */
typedef struct GenreHint GenreHint;
struct GenreHint {
  int d;
  char *z;
};

static int cmpGenreHint(const void *pA, const void *pB){
  const GenreHint *a = (const GenreHint*)pA, *b = (const GenreHint*)pB;
  return a->d!=b->d ? (a->d>b->d) - (a->d<b->d) : strcmp(a->z, b->z);
}

/*
** The error for a genre that no movie has: the genres of the movies table
** (at most GENRE_HINTS), closest to zGenre first (by edit distance, then
** name), so that a typo shows its fix.  NULL if out of memory.
*/
#define GENRE_HINTS 40
static char *unknownGenreMessage(sqlite3 *db, const MlrecConfig *c,
                                 const char *zFunc, const char *zGenre){
  sqlite3_stmt *pStmt = 0;
  sqlite3_str *pOut = sqlite3_str_new(db);
  GenreHint *a = 0;
  int i, n = 0, nAlloc = 0;
  char *zFrom = mlrecFromSql(db, c->zMovies);
  char *zSql = zFrom==0 ? 0 : sqlite3_mprintf(
      "WITH RECURSIVE g(rest, tok) AS ("
      " SELECT \"%w\".\"%w\" || '|', NULL FROM %s"
      " WHERE typeof(\"%w\".\"%w\") = 'text'"
      " UNION ALL SELECT substr(rest, instr(rest, '|') + 1),"
      " trim(substr(rest, 1, instr(rest, '|') - 1)) FROM g WHERE rest <> '')"
      " SELECT DISTINCT tok FROM g WHERE tok <> ''",
      c->zMovies, c->zGenres, zFrom, c->zMovies, c->zGenres);
  sqlite3_free(zFrom);
  sqlite3_str_appendf(pOut, "%s: no movie of the movies table has genre %.40Q",
                      zFunc, zGenre);
  if( zSql && sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    while( sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      if( n==nAlloc ){
        GenreHint *aNew = sqlite3_realloc64(a, sizeof(*a)*(2*(i64)nAlloc+16));
        if( aNew==0 ) break;
        a = aNew;
        nAlloc = 2*nAlloc+16;
      }
      a[n].z = sqlite3_mprintf("%s", z ? z : "");
      if( a[n].z==0 ) break;
      a[n].d = editDistance(zGenre, a[n].z);
      n++;
    }
  }
  if( n>0 ) qsort(a, n, sizeof(*a), cmpGenreHint);
  for(i=0; i<n && i<GENRE_HINTS; i++){
    sqlite3_str_appendf(pOut, "%s%s", i ? ", " : "; its genres, closest "
                        "first: ", a[i].z);
  }
  for(i=0; i<n; i++) sqlite3_free(a[i].z);
  sqlite3_free(a);
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return sqlite3_str_finish(pOut);
}

/* The ids of the movies of genre zGenre, into *paId, *pn: an error if the
** genre is not one genre name, or if no movie has it. */
static int genreIds(MlrecState *pState, const char *zFunc, const char *zGenre,
                    i64 **paId, int *pn, char **pzErr){
  const MlrecConfig *c = &pState->cfg;
  const char *zPrev;
  char *zSql;
  char *zFrom;
  int rc;
  if( strchr(zGenre, '|') ){
    mlrecSetError(pzErr, "%s: option \"genre\" is one genre, e.g. "
                  "\"Comedy\", not a list: got %.40Q", zFunc, zGenre);
    return SQLITE_ERROR;
  }
  zFrom = mlrecFromSql(pState->db, c->zMovies);
  zSql = zFrom==0 ? 0 : sqlite3_mprintf("SELECT \"%w\".\"%w\" FROM %s WHERE "
      "instr('|' || lower(\"%w\".\"%w\") || '|', '|' || lower(?1) || '|')",
      c->zMovies, c->zMovie, zFrom, c->zMovies, c->zGenres);
  sqlite3_free(zFrom);
  if( zSql==0 ) return SQLITE_NOMEM;
  zPrev = mlrecReading(pState, "the movies table");
  rc = idsOf(pState->db, zFunc, zSql, zGenre, 0, paId, pn, pzErr);
  sqlite3_free(zSql);
  if( rc==SQLITE_OK && *pn==0 ){
    sqlite3_free(*pzErr);
    *pzErr = unknownGenreMessage(pState->db, c, zFunc, zGenre);
    rc = *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  mlrecReading(pState, zPrev);
  return rc;
}

int mlrecFilterPrepare(MlrecState *pState, const char *zFunc, MlrecFilter *p,
                       char **pzErr){
  int rc = SQLITE_OK;
  if( p->zMovies ){
    rc = idsOf(pState->db, zFunc, "SELECT value, type FROM json_each(?1)",
               p->zMovies, 1, &p->aAllow, &p->nAllow, pzErr);
    p->bRestricted = 1;
  }
  if( rc==SQLITE_OK && p->zGenre ){
    i64 *aGenre = 0;
    int nGenre = 0;
    rc = genreIds(pState, zFunc, p->zGenre, &aGenre, &nGenre, pzErr);
    if( rc==SQLITE_OK && p->bRestricted ){
      p->nAllow = intersect(p->aAllow, p->nAllow, aGenre, nGenre);
      sqlite3_free(aGenre);
    }else if( rc==SQLITE_OK ){
      p->aAllow = aGenre;
      p->nAllow = nGenre;
    }
    p->bRestricted = 1;
  }
  return rc;
}

/*
** Set aMask[i] to 1 for each of the n movies aId (ascending) that the
** filter allows, 0 for the others.
*/
void mlrecFilterMask(const MlrecFilter *p, const i64 *aId, int n,
                     unsigned char *aMask){
  int i;
  if( !p->bRestricted ){
    memset(aMask, 1, (size_t)n);
    return;
  }
  memset(aMask, 0, (size_t)n);
  for(i=0; i<p->nAllow; i++){
    int j = mlrecFindId(aId, n, p->aAllow[i]);
    if( j>=0 ) aMask[j] = 1;
  }
}

void mlrecFilterClear(MlrecFilter *p){
  sqlite3_free(p->zGenre);
  sqlite3_free(p->zMovies);
  sqlite3_free(p->aAllow);
  memset(p, 0, sizeof(*p));
}
