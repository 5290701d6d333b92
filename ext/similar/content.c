/*
** content.c: what movies are about, as unit vectors, for similar_movies()'s
** content and hybrid methods.  Two sources:
**
**   TF-IDF   the genres of the movies table (mlrec_config's movies_table,
**            genres_column; "Adventure|Sci-Fi" is two tokens), the decade
**            of the year that ends its title, if it has a title column
**            (title_column; "Heat (1995)" gives decade:1990), and, if the
**            tags table exists (tags_table, tag_column), the tags users
**            gave each movie (lower case, trimmed; one token per distinct
**            tag).  A token's weight in a movie is tf x idf with
**            tf = 1 + ln(times the movie got it) and idf = ln(N / movies
**            that have it), N the movies of the movies table; each movie's
**            vector is scaled to length 1.  Every movie of the movies table
**            has one, rated or not.
**   embeddings   a table (embeddings_table, default movie_embeddings) with
**            the movie id column and a vector column (embedding_column,
**            default embedding): a JSON array of numbers, or a blob of
**            little-endian float32 (numpy's tobytes()), e.g. computed by a
**            language model outside the database.  Every vector must have
**            the dimension of the first, finite values, not all zero, and
**            each movie one vector; anything else is an error naming the
**            movie.  Vectors are scaled to length 1.
**
**     CREATE TABLE movie_embeddings(movieId INTEGER PRIMARY KEY, embedding);
**     INSERT INTO movie_embeddings VALUES (1, '[0.12, -0.5, 0.33]');
**
** The similarity of two movies is the dot product of their vectors (the
** cosine).  Vectors are cached per connection, refcounted, and built again
** when the database changes, like the ratings snapshot.
*/
#include "similar.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A cached set of vectors, and when it was read. */
typedef struct ContentSlot ContentSlot;
struct ContentSlot {
  MlrecVectors *p;
  MlrecStamp stamp;      /* current while this holds */
  int iConfig;           /* MlrecState.iConfig of the names read */
};

struct MlrecContentCache {
  ContentSlot aSlot[2];  /* MLREC_CONTENT_TFIDF, MLREC_CONTENT_EMBEDDING */
};

void mlrecVectorsUnref(MlrecVectors *p){
  if( p==0 || --p->nRef>0 ) return;
  sqlite3_free(p->aItemId);
  sqlite3_free(p->aItemStart);
  sqlite3_free(p->aItemToken);
  sqlite3_free(p->aItemWeight);
  sqlite3_free(p->aTokenStart);
  sqlite3_free(p->aTokenItem);
  sqlite3_free(p->aTokenWeight);
  sqlite3_free(p->aVec);
  sqlite3_free(p);
}

void mlrecContentCacheFree(MlrecContentCache *p){
  if( p==0 ) return;
  mlrecVectorsUnref(p->aSlot[0].p);
  mlrecVectorsUnref(p->aSlot[1].p);
  sqlite3_free(p);
}

static MlrecVectors *newVectors(void){
  MlrecVectors *p = sqlite3_malloc64(sizeof(*p));
  if( p ){
    memset(p, 0, sizeof(*p));
    p->nRef = 1;
  }
  return p;
}

/* Prepare zSql (freed here); on failure an error naming zWhat. */
static int prepareOwned(sqlite3 *db, char *zSql, const char *zFunc,
                        const char *zWhat, sqlite3_stmt **ppStmt,
                        char **pzErr){
  int rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, ppStmt, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: cannot read the %s: %s", zFunc, zWhat,
                  sqlite3_errmsg(db));
  }
  return rc;
}

/* Append iId to p->aItemId (growing it); *pnAlloc is its capacity. */
static int appendItem(MlrecVectors *p, i64 iId, int *pnAlloc){
  if( p->nItem==*pnAlloc ){
    int nNew = *pnAlloc ? 2*(*pnAlloc) : 1024;
    i64 *aNew = sqlite3_realloc64(p->aItemId, sizeof(i64)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    p->aItemId = aNew;
    *pnAlloc = nNew;
  }
  p->aItemId[p->nItem++] = iId;
  return SQLITE_OK;
}

/* The distinct integer ids of the movies table, ascending, into p. */
static int readMovieIds(sqlite3 *db, const MlrecConfig *c, const char *zFunc,
                        MlrecVectors *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  int nAlloc = 0;
  char *zFrom = mlrecFromSql(db, c->zMovies);
  int rc = prepareOwned(db, zFrom ? sqlite3_mprintf("SELECT DISTINCT "
      "\"%w\".\"%w\" FROM %s ORDER BY 1", c->zMovies, c->zMovie, zFrom) : 0,
      zFunc, "movies table", &pStmt, pzErr);
  sqlite3_free(zFrom);
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    i64 iId;
    if( mlrecArgToId(sqlite3_column_value(pStmt, 0), &iId)!=SQLITE_OK ){
      mlrecSetError(pzErr, "%s: %s.%s must hold integer ids, got %s",
                    zFunc, c->zMovies, c->zMovie,
                    mlrecTypeName(sqlite3_column_type(pStmt, 0)));
      rc = SQLITE_ERROR;
      break;
    }
    if( p->nItem==0 || p->aItemId[p->nItem-1]!=iId ){
      rc = appendItem(p, iId, &nAlloc);
    }
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: reading the movies table: %s", zFunc,
                  sqlite3_errmsg(db));
  }
  return rc;
}

/* One token of one movie, with the times the movie got it, before tokens
** are numbered: its text is at offset off of the token text. */
typedef struct RawToken RawToken;
struct RawToken {
  i64 off;
  const char *z;         /* set once all text is read */
  int iItem, nCount;
};

/* The tokens read so far and their text. */
typedef struct TokenList TokenList;
struct TokenList {
  RawToken *a;
  i64 n, nAlloc;
  sqlite3_str *pText;    /* every token's text, each ending in a NUL */
};

/* Add token zPrefix + z[0..n) (lower case if bLower) of movie iItem, got
** nCount times. */
static int addToken(TokenList *p, int iItem, const char *zPrefix,
                    const char *z, int n, int bLower, int nCount){
  int k;
  if( p->n==p->nAlloc ){
    i64 nNew = 2*p->nAlloc + 1024;
    RawToken *aNew = sqlite3_realloc64(p->a, sizeof(RawToken)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    p->a = aNew;
    p->nAlloc = nNew;
  }
  p->a[p->n].off = sqlite3_str_length(p->pText);
  p->a[p->n].iItem = iItem;
  p->a[p->n].nCount = nCount;
  p->n++;
  sqlite3_str_appendall(p->pText, zPrefix);
  for(k=0; k<n; k++){
    char c = z[k];
    /* SQLite's lower() folds ASCII alone */
    sqlite3_str_appendchar(p->pText, 1, bLower && c>='A' && c<='Z'
                                        ? (char)(c - 'A' + 'a') : c);
  }
  sqlite3_str_appendchar(p->pText, 1, 0);
  return sqlite3_str_errcode(p->pText);
}

/* The genres of "Adventure|Sci-Fi" (each trimmed of spaces, lower case;
** none for "(no genres listed)"). */
static int addGenres(TokenList *p, int iItem, const char *z){
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK && z ){
    const char *zEnd = strchr(z, '|');
    int n = zEnd ? (int)(zEnd - z) : (int)strlen(z);
    const char *zTok = z;
    while( n>0 && zTok[0]==' ' ){ zTok++; n--; }
    while( n>0 && zTok[n-1]==' ' ) n--;
    if( n>0 && !(n==18 && memcmp(zTok, "(no genres listed)", 18)==0) ){
      rc = addToken(p, iItem, "genre:", zTok, n, 1, 1);
    }
    z = zEnd ? zEnd+1 : 0;
  }
  return rc;
}

/* The decade of the year that ends a title, "Heat (1995)" -> decade:1990;
** none if the title does not end in a year in parentheses. */
static int addDecade(TokenList *p, int iItem, const char *z){
  int n = (int)strlen(z), k;
  char zDecade[8];
  while( n>0 && z[n-1]==' ' ) n--;
  if( n<6 || z[n-1]!=')' || z[n-6]!='(' ) return SQLITE_OK;
  for(k=n-5; k<n-1; k++){
    if( z[k]<'0' || z[k]>'9' ) return SQLITE_OK;
  }
  memcpy(zDecade, &z[n-5], 3);
  zDecade[3] = '0';
  zDecade[4] = 0;
  /* "0995" would be decade:990, as an integer */
  for(k=0; k<3 && zDecade[k]=='0'; k++){}
  return addToken(p, iItem, "decade:", zDecade+k, 4-k, 0, 1);
}

/* The genres and decades of every movie of the movies table. */
static int readMovieTokens(sqlite3 *db, const MlrecConfig *c, int bTitle,
                           const char *zFunc, const MlrecVectors *pVec,
                           TokenList *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zFrom = mlrecFromSql(db, c->zMovies);
  char *zTitle = bTitle ? sqlite3_mprintf("\"%w\".\"%w\"", c->zMovies,
                                          c->zTitle) : 0;
  int rc = prepareOwned(db, zFrom && (zTitle || !bTitle)
      ? sqlite3_mprintf("SELECT \"%w\".\"%w\", \"%w\".\"%w\", %s FROM %s",
                        c->zMovies, c->zMovie, c->zMovies, c->zGenres,
                        zTitle ? zTitle : "NULL", zFrom) : 0,
      zFunc, "genres and tags", &pStmt, pzErr);
  sqlite3_free(zTitle);
  sqlite3_free(zFrom);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    i64 iId;
    int i;
    rc = SQLITE_OK;
    if( mlrecArgToId(sqlite3_column_value(pStmt, 0), &iId)!=SQLITE_OK ){
      continue;
    }
    i = mlrecFindId(pVec->aItemId, pVec->nItem, iId);
    if( i<0 ) continue;
    if( sqlite3_column_type(pStmt, 1)==SQLITE_TEXT ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 1);
      rc = z ? addGenres(p, i, z) : SQLITE_NOMEM;
    }
    if( rc==SQLITE_OK && sqlite3_column_type(pStmt, 2)==SQLITE_TEXT ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 2);
      rc = z ? addDecade(p, i, z) : SQLITE_NOMEM;
    }
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pStmt);
  return rc;
}

/* The tags users gave each movie (lower case, trimmed), with their counts. */
static int readTagTokens(sqlite3 *db, const MlrecConfig *c,
                         const char *zFunc, const MlrecVectors *pVec,
                         TokenList *p, char **pzErr){
  sqlite3_stmt *pStmt = 0;
  char *zFrom = mlrecFromSql(db, c->zTags);
  int rc = prepareOwned(db, zFrom ? sqlite3_mprintf("SELECT \"%w\".\"%w\", "
      "lower(trim(\"%w\".\"%w\")), count(*) FROM %s WHERE trim(\"%w\".\"%w\")"
      " <> '' GROUP BY 1, 2", c->zTags, c->zMovie, c->zTags, c->zTag, zFrom,
      c->zTags, c->zTag) : 0, zFunc, "genres and tags", &pStmt, pzErr);
  sqlite3_free(zFrom);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pStmt, 1);
    i64 iId;
    int i;
    rc = z ? SQLITE_OK : SQLITE_NOMEM;
    if( rc!=SQLITE_OK ) break;
    if( mlrecArgToId(sqlite3_column_value(pStmt, 0), &iId)!=SQLITE_OK ){
      continue;
    }
    i = mlrecFindId(pVec->aItemId, pVec->nItem, iId);
    if( i<0 ) continue;   /* a tag of a movie that is not in the movies table */
    rc = addToken(p, i, "tag:", z, sqlite3_column_bytes(pStmt, 1), 0,
                  (int)sqlite3_column_int64(pStmt, 2));
  }
  if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  sqlite3_finalize(pStmt);
  return rc;
}

static int cmpRawToken(const void *a, const void *b){
  const RawToken *x = (const RawToken*)a, *y = (const RawToken*)b;
  int c = strcmp(x->z, y->z);
  if( c ) return c;
  return (x->iItem>y->iItem) - (x->iItem<y->iItem);
}

/* One (movie, token, count) of the tokens read. */
typedef struct Posting Posting;
struct Posting {
  int iItem, iToken;
  float w;
};

static int cmpPostingByItem(const void *a, const void *b){
  const Posting *x = (const Posting*)a, *y = (const Posting*)b;
  if( x->iItem!=y->iItem ) return x->iItem<y->iItem ? -1 : 1;
  return (x->iToken>y->iToken) - (x->iToken<y->iToken);
}

/*
** Number the tokens of p in order of text (decade:, genre:, tag:) and make
** the postings (raw tf in w): a movie that got a token twice ("Drama|Drama")
** has one posting of count 2.
*/
static int numberTokens(TokenList *p, const char *zText, MlrecVectors *pVec,
                        Posting **paPost, i64 *pnPost){
  Posting *a = sqlite3_malloc64(sizeof(Posting)*(p->n+1));
  i64 k, n = 0;
  if( a==0 ) return SQLITE_NOMEM;
  for(k=0; k<p->n; k++) p->a[k].z = zText + p->a[k].off;
  if( p->n>1 ) qsort(p->a, p->n, sizeof(RawToken), cmpRawToken);
  for(k=0; k<p->n; k++){
    const RawToken *t = &p->a[k];
    if( k==0 || strcmp(t->z, p->a[k-1].z)!=0 ){
      pVec->nToken++;
      if( strncmp(t->z, "tag:", 4)!=0 ) pVec->nPlainToken = pVec->nToken;
    }else if( t->iItem==p->a[k-1].iItem ){
      a[n-1].w += (float)t->nCount;
      continue;
    }
    a[n].iItem = t->iItem;
    a[n].iToken = pVec->nToken-1;
    a[n].w = (float)t->nCount;
    n++;
  }
  for(k=0; k<n; k++) a[k].w = (float)(1.0 + log((double)a[k].w));
  *paPost = a;
  *pnPost = n;
  return SQLITE_OK;
}

/* Read the postings (raw tf in w), numbering tokens in order of text. */
static int readPostings(sqlite3 *db, const MlrecConfig *c, const char *zFunc,
                        MlrecVectors *p, Posting **paPost, i64 *pnPost,
                        char **pzErr){
  TokenList list;
  char *zText;
  int bTags = 0, bTitle = 0;
  int rc = mlrecTableHas(db, c->zTags, 0, &bTags);
  memset(&list, 0, sizeof(list));
  if( rc==SQLITE_OK ) rc = mlrecTableHas(db, c->zMovies, c->zTitle, &bTitle);
  list.pText = sqlite3_str_new(0);
  if( rc==SQLITE_OK ){
    rc = readMovieTokens(db, c, bTitle, zFunc, p, &list, pzErr);
  }
  if( rc==SQLITE_OK && bTags ){
    rc = readTagTokens(db, c, zFunc, p, &list, pzErr);
  }
  if( rc!=SQLITE_OK && rc!=SQLITE_NOMEM && *pzErr==0 ){
    mlrecSetError(pzErr, "%s: reading genres and tags: %s", zFunc,
                  sqlite3_errmsg(db));
  }
  zText = sqlite3_str_finish(list.pText);
  if( rc==SQLITE_OK && zText==0 && list.n>0 ) rc = SQLITE_NOMEM;
  if( rc==SQLITE_OK ) rc = numberTokens(&list, zText, p, paPost, pnPost);
  sqlite3_free(zText);
  sqlite3_free(list.a);
  return rc;
}

/*
** Weigh the postings a (raw tf) by idf, scale each movie's vector to length
** 1 and build both layouts of p: by movie and by token.
*/
static int buildTfidf(MlrecVectors *p, Posting *a, i64 n){
  i64 k, *aNext;
  int i;
  p->aItemStart = sqlite3_malloc64(sizeof(i64)*((i64)p->nItem+1));
  p->aTokenStart = sqlite3_malloc64(sizeof(i64)*((i64)p->nToken+1));
  p->aItemToken = sqlite3_malloc64(sizeof(int)*(n+1));
  p->aItemWeight = sqlite3_malloc64(sizeof(float)*(n+1));
  p->aTokenItem = sqlite3_malloc64(sizeof(int)*(n+1));
  p->aTokenWeight = sqlite3_malloc64(sizeof(float)*(n+1));
  aNext = sqlite3_malloc64(sizeof(i64)*((i64)p->nToken+1));
  if( !p->aItemStart || !p->aTokenStart || !p->aItemToken || !p->aItemWeight
   || !p->aTokenItem || !p->aTokenWeight || !aNext ){
    sqlite3_free(aNext);
    return SQLITE_NOMEM;
  }
  memset(p->aItemStart, 0, sizeof(i64)*((i64)p->nItem+1));
  memset(p->aTokenStart, 0, sizeof(i64)*((i64)p->nToken+1));
  for(k=0; k<n; k++){
    p->aItemStart[a[k].iItem+1]++;
    p->aTokenStart[a[k].iToken+1]++;
  }
  for(i=0; i<p->nItem; i++) p->aItemStart[i+1] += p->aItemStart[i];
  for(i=0; i<p->nToken; i++) p->aTokenStart[i+1] += p->aTokenStart[i];
  for(k=0; k<n; k++){
    double df = (double)(p->aTokenStart[a[k].iToken+1]
                         - p->aTokenStart[a[k].iToken]);
    a[k].w = (float)(a[k].w*log((double)p->nItem/df));
  }
  if( n>1 ) qsort(a, n, sizeof(Posting), cmpPostingByItem);
  for(i=0; i<p->nItem; i++){
    double rSq = 0.0;
    for(k=p->aItemStart[i]; k<p->aItemStart[i+1]; k++) rSq += a[k].w*a[k].w;
    for(k=p->aItemStart[i]; k<p->aItemStart[i+1]; k++){
      p->aItemToken[k] = a[k].iToken;
      p->aItemWeight[k] = rSq>0.0 ? (float)(a[k].w/sqrt(rSq)) : 0.0f;
    }
  }
  memcpy(aNext, p->aTokenStart, sizeof(i64)*p->nToken);
  for(i=0; i<p->nItem; i++){
    for(k=p->aItemStart[i]; k<p->aItemStart[i+1]; k++){
      i64 m = aNext[p->aItemToken[k]]++;
      p->aTokenItem[m] = i;
      p->aTokenWeight[m] = p->aItemWeight[k];
    }
  }
  sqlite3_free(aNext);
  return SQLITE_OK;
}

/* TF-IDF vectors of the genres and tags of every movie. */
static int readTfidf(sqlite3 *db, const MlrecConfig *c, const char *zFunc,
                     MlrecVectors *p, char **pzErr){
  Posting *a = 0;
  i64 n = 0;
  int rc = readMovieIds(db, c, zFunc, p, pzErr);
  if( rc==SQLITE_OK ) rc = readPostings(db, c, zFunc, p, &a, &n, pzErr);
  if( rc==SQLITE_OK ) rc = buildTfidf(p, a, n);
  sqlite3_free(a);
  return rc;
}

/*
** Read one vector, a JSON array of numbers (through pEach, json_each) or a
** float32 blob, into aOut (nDim floats; *pnDim is set from the first
** vector when 0).  Returns SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with
** *pzWhy saying what is wrong.
*/
static int readVector(sqlite3_stmt *pEach, sqlite3_value *pVal, int *pnDim,
                      float **paOut, int *pnAlloc, const char **pzWhy){
  int n = 0, rc = SQLITE_OK;
  if( sqlite3_value_type(pVal)==SQLITE_BLOB ){
    int nByte = sqlite3_value_bytes(pVal);
    if( nByte==0 ){
      *pzWhy = "is an empty blob (a vector needs at least one float32)";
      return SQLITE_ERROR;
    }
    if( nByte%4 ){
      *pzWhy = "is a blob whose size is not a multiple of 4 bytes (float32)";
      return SQLITE_ERROR;
    }
    n = nByte/4;
  }else if( sqlite3_value_type(pVal)!=SQLITE_TEXT ){
    *pzWhy = "is neither a JSON array nor a float32 blob";
    return SQLITE_ERROR;
  }
  if( n==0 ){
    const char *z = (const char*)sqlite3_value_text(pVal);
    while( z && (*z==' ' || *z=='\t' || *z=='\n' || *z=='\r') ) z++;
    if( z==0 || *z!='[' ){
      *pzWhy = "is not a JSON array of numbers";
      return z ? SQLITE_ERROR : SQLITE_NOMEM;
    }
    sqlite3_bind_value(pEach, 1, pVal);
    while( (rc = sqlite3_step(pEach))==SQLITE_ROW ){
      const char *zType = (const char*)sqlite3_column_text(pEach, 0);
      if( zType==0 || (strcmp(zType, "integer") && strcmp(zType, "real")) ){
        *pzWhy = "is not a JSON array of numbers";
        sqlite3_reset(pEach);
        return SQLITE_ERROR;
      }
      if( n==*pnAlloc ){
        float *aNew = sqlite3_realloc64(*paOut, sizeof(float)*(2*n+64));
        if( aNew==0 ){ sqlite3_reset(pEach); return SQLITE_NOMEM; }
        *paOut = aNew;
        *pnAlloc = 2*n+64;
      }
      (*paOut)[n++] = (float)sqlite3_column_double(pEach, 1);
    }
    sqlite3_reset(pEach);
    if( rc!=SQLITE_DONE || n==0 ){
      *pzWhy = "is not a JSON array of numbers";
      return rc==SQLITE_NOMEM ? rc : SQLITE_ERROR;
    }
  }else{
    if( n>*pnAlloc ){
      float *aNew = sqlite3_realloc64(*paOut, sizeof(float)*n);
      if( aNew==0 ) return SQLITE_NOMEM;
      *paOut = aNew;
      *pnAlloc = n;
    }
    memcpy(*paOut, sqlite3_value_blob(pVal), sizeof(float)*n);
  }
  if( *pnDim==0 ) *pnDim = n;
  if( n!=*pnDim ){
    *pzWhy = "has a different dimension from the first vector";
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Scale the n floats of a to length 1; SQLITE_ERROR if not finite or 0. */
static int normalise(float *a, int n, const char **pzWhy){
  double rSq = 0.0;
  int d;
  for(d=0; d<n; d++) rSq += (double)a[d]*a[d];
  if( !isfinite(rSq) ){
    *pzWhy = "has a value that is not a finite number";
    return SQLITE_ERROR;
  }
  if( rSq==0.0 ){
    *pzWhy = "is all zeros";
    return SQLITE_ERROR;
  }
  for(d=0; d<n; d++) a[d] = (float)(a[d]/sqrt(rSq));
  return SQLITE_OK;
}

/* Append the vector of aVec (p->nDim floats) to p->aVec. */
static int appendVector(MlrecVectors *p, const float *aVec, i64 *pnAlloc){
  if( (i64)p->nItem*p->nDim+p->nDim > *pnAlloc ){
    i64 nNew = 2*(*pnAlloc) + 64*(i64)p->nDim;
    float *aNew = sqlite3_realloc64(p->aVec, sizeof(float)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    p->aVec = aNew;
    *pnAlloc = nNew;
  }
  memcpy(p->aVec + (i64)p->nItem*p->nDim, aVec, sizeof(float)*p->nDim);
  return SQLITE_OK;
}

/* Embeddings of the embeddings table, validated and scaled. */
static int readEmbeddings(sqlite3 *db, const MlrecConfig *c,
                          const char *zFunc, MlrecVectors *p, char **pzErr){
  sqlite3_stmt *pStmt = 0, *pEach = 0;
  float *aVec = 0;
  int nVecAlloc = 0, nIdAlloc = 0;
  i64 nAlloc = 0, iId = 0;
  const char *zWhy = 0;
  char *zFrom = mlrecFromSql(db, c->zEmbeddings);
  int rc = prepareOwned(db, zFrom ? sqlite3_mprintf("SELECT \"%w\".\"%w\", "
      "\"%w\".\"%w\" FROM %s ORDER BY 1", c->zEmbeddings, c->zMovie,
      c->zEmbeddings, c->zEmbedding, zFrom) : 0, zFunc,
      "embeddings table", &pStmt, pzErr);
  sqlite3_free(zFrom);
  if( rc==SQLITE_OK ){
    rc = sqlite3_prepare_v2(db, "SELECT type, atom FROM json_each(?1)", -1,
                            &pEach, 0);
  }
  while( rc==SQLITE_OK && sqlite3_step(pStmt)==SQLITE_ROW ){
    if( mlrecArgToId(sqlite3_column_value(pStmt, 0), &iId)!=SQLITE_OK ){
      mlrecSetError(pzErr, "%s: %s.%s must hold integer ids, got %s", zFunc,
                    c->zEmbeddings, c->zMovie,
                    mlrecTypeName(sqlite3_column_type(pStmt, 0)));
      rc = SQLITE_ERROR;
      break;
    }
    if( p->nItem && p->aItemId[p->nItem-1]==iId ){
      zWhy = "is given twice";
      rc = SQLITE_ERROR;
      break;
    }
    rc = readVector(pEach, sqlite3_column_value(pStmt, 1), &p->nDim, &aVec,
                    &nVecAlloc, &zWhy);
    if( rc==SQLITE_OK ) rc = normalise(aVec, p->nDim, &zWhy);
    if( rc==SQLITE_OK ) rc = appendVector(p, aVec, &nAlloc);
    if( rc==SQLITE_OK ) rc = appendItem(p, iId, &nIdAlloc);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(pStmt);
  else sqlite3_finalize(pStmt);
  sqlite3_finalize(pEach);
  sqlite3_free(aVec);
  if( rc==SQLITE_ERROR && zWhy ){
    mlrecSetError(pzErr, "%s: the %s of movie %lld in %s %s", zFunc,
                  c->zEmbedding, iId, c->zEmbeddings, zWhy);
  }else if( rc!=SQLITE_OK && *pzErr==0 && rc!=SQLITE_NOMEM ){
    mlrecSetError(pzErr, "%s: reading the embeddings table: %s", zFunc,
                  sqlite3_errmsg(db));
  }
  return rc;
}

/*
** Set *ppOut to a new reference to the vectors of source eSource
** (MLREC_CONTENT_*), reading them again if the database may have changed.
*/
int mlrecContentVectors(MlrecState *pState, int eSource, const char *zFunc,
                        MlrecVectors **ppOut, char **pzErr){
  ContentSlot *pSlot;
  *ppOut = 0;
  if( pState->pContent==0 ){
    pState->pContent = sqlite3_malloc64(sizeof(MlrecContentCache));
    if( pState->pContent==0 ) return SQLITE_NOMEM;
    memset(pState->pContent, 0, sizeof(MlrecContentCache));
  }
  pSlot = &pState->pContent->aSlot[eSource];
  if( pSlot->p==0 || pSlot->iConfig!=pState->iConfig
   || !mlrecStampHolds(pState->db, &pSlot->stamp) ){
    MlrecVectors *p = newVectors();
    MlrecStamp stamp;
    int iConfig = pState->iConfig;
    int rc;
    const char *zPrev;
    if( p==0 ) return SQLITE_NOMEM;
    zPrev = mlrecReading(pState, eSource==MLREC_CONTENT_TFIDF
                                     ? "the movies and tags tables"
                                     : "the embeddings table");
    rc = mlrecReadPin(pState, pzErr);
    if( rc!=SQLITE_OK ){
      mlrecReading(pState, zPrev);
      mlrecVectorsUnref(p);
      return rc;
    }
    mlrecStampTake(pState->db, &stamp);
    rc = eSource==MLREC_CONTENT_TFIDF
        ? readTfidf(pState->db, &pState->cfg, zFunc, p, pzErr)
        : readEmbeddings(pState->db, &pState->cfg, zFunc, p, pzErr);
    mlrecReadUnpin(pState);
    mlrecReading(pState, zPrev);
    if( rc!=SQLITE_OK ){
      mlrecVectorsUnref(p);
      return rc;
    }
    pSlot = &pState->pContent->aSlot[eSource];
    mlrecVectorsUnref(pSlot->p);
    pSlot->p = p;
    pSlot->stamp = stamp;
    pSlot->iConfig = iConfig;
  }
  pSlot->p->nRef++;
  *ppOut = pSlot->p;
  return SQLITE_OK;
}

/* aScore[j] = the cosine of movie indexes iItem and j, for every j of p. */
void mlrecContentSimilar(const MlrecVectors *p, int iItem, double *aScore){
  int j;
  memset(aScore, 0, sizeof(double)*p->nItem);
  if( p->nDim>0 ){
    const float *a = p->aVec + (i64)iItem*p->nDim;
    for(j=0; j<p->nItem; j++){
      const float *b = p->aVec + (i64)j*p->nDim;
      double s = 0.0;
      int d;
      for(d=0; d<p->nDim; d++) s += (double)a[d]*b[d];
      aScore[j] = s;
    }
  }else{
    i64 k, m;
    for(k=p->aItemStart[iItem]; k<p->aItemStart[iItem+1]; k++){
      int t = p->aItemToken[k];
      double w = p->aItemWeight[k];
      for(m=p->aTokenStart[t]; m<p->aTokenStart[t+1]; m++){
        aScore[p->aTokenItem[m]] += w*p->aTokenWeight[m];
      }
    }
  }
}
