/*
** generate.c: a deterministic generator of synthetic MovieLens-shaped
** databases, for benchmarks and tests of mlrec at any size.
**
**     build/generate --preset small out.db      # ml-latest-small shape
**     build/generate --preset 2.5m out.db       # ML-25M shape at a tenth
**     build/generate --preset 25m --seed 7 out.db
**     build/generate --users 1000 --movies 500 --ratings 20000 out.db
**     sqlite3 out.db "SELECT * FROM similar_movies(1, 5)"
**
** It writes the tables of sql/load_movielens.sql:
**
**     movies(movieId INTEGER PRIMARY KEY, title TEXT, genres TEXT)
**     ratings(userId, movieId, rating REAL, timestamp, PRIMARY KEY(userId,
**             movieId)) WITHOUT ROWID, with an index on movieId
**
** THE SHAPE.  User activity is 20 ratings (MovieLens' minimum) plus a
** log-normal excess, scaled so that the total is exactly --ratings; movie
** popularity is Zipf-like over a random ranking of the movies.  Every movie
** except the least popular 0.2% gets one rating from a user drawn by
** activity, then each user draws the rest of their movies by popularity,
** without repeats.  So a few movies have ratings from a large part of the
** users, most have a handful, and a few have none (as in MovieLens).
**
** THE RATINGS.  A hidden model, as matrix factorisation assumes:
**
**     3.35 + b(u) + b(i) + p(u) . q(i) + noise
**
** with 8 hidden factors, popular movies rated a little higher, rounded to
** half stars in [0.5, 5] (to whole stars for 40% of the users, as many
** MovieLens users only give whole stars).
**
** The same options and seed give the same file, byte for byte, with the
** same SQLite.  Every random number comes from splitmix64 streams.
*/
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HIDDEN 8              /* factors of the hidden rating model */
#define MIN_PER_USER 20       /* MovieLens keeps users with 20+ ratings */

typedef unsigned long long u64;

typedef struct Preset Preset;
struct Preset {
  const char *zName;
  long long nUser, nMovie, nRating;
};
static const Preset aPreset[] = {
  { "small", 610, 9742, 100836 },          /* ml-latest-small */
  { "2.5m", 16200, 5900, 2500000 },        /* ML-25M at a tenth */
  { "25m", 162000, 59000, 25000000 },      /* ML-25M */
};

static const char *azGenre[] = {
  "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
  "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX",
  "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
};
#define N_GENRE ((int)(sizeof(azGenre)/sizeof(azGenre[0])))

/* splitmix64 */
static u64 rnd(u64 *pState){
  u64 z = (*pState += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z>>30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z>>27)) * 0x94d049bb133111ebULL;
  return z ^ (z>>31);
}

/* An independent stream for (seed, purpose, index). */
static u64 stream(u64 seed, u64 purpose, u64 idx){
  u64 s = seed ^ (purpose * 0xd1b54a32d192ed03ULL);
  rnd(&s);
  s ^= idx * 0x8cb92ba72f3d8dd7ULL;
  rnd(&s);
  return s;
}

static double uniform(u64 *p){
  return ((double)(rnd(p)>>11) + 0.5) * (1.0/9007199254740992.0);
}

static double normal(u64 *p){
  double u1 = uniform(p), u2 = uniform(p);
  return sqrt(-2.0*log(u1)) * cos(6.283185307179586*u2);
}

static long long below(u64 *p, long long n){
  return (long long)(rnd(p) % (u64)n);
}

static void *xmalloc(size_t n){
  void *p = malloc(n ? n : 1);
  if( p==0 ){
    fprintf(stderr, "generate: out of memory\n");
    exit(1);
  }
  return p;
}

/*
** Walker's alias table: draws index j with probability a[j]/sum(a) in O(1).
*/
typedef struct Alias Alias;
struct Alias {
  int n;
  double *aProb;
  int *aAlias;
};

static void aliasInit(Alias *p, const double *aW, int n){
  double rSum = 0.0;
  int *aSmall = xmalloc(sizeof(int)*n), *aLarge = xmalloc(sizeof(int)*n);
  int nSmall = 0, nLarge = 0, j;
  p->n = n;
  p->aProb = xmalloc(sizeof(double)*n);
  p->aAlias = xmalloc(sizeof(int)*n);
  for(j=0; j<n; j++) rSum += aW[j];
  for(j=0; j<n; j++){
    p->aProb[j] = aW[j]*n/rSum;
    p->aAlias[j] = j;
    if( p->aProb[j]<1.0 ) aSmall[nSmall++] = j; else aLarge[nLarge++] = j;
  }
  while( nSmall>0 && nLarge>0 ){
    int s = aSmall[--nSmall], l = aLarge[nLarge-1];
    p->aAlias[s] = l;
    p->aProb[l] -= 1.0 - p->aProb[s];
    if( p->aProb[l]<1.0 ){
      nLarge--;
      aSmall[nSmall++] = l;
    }
  }
  while( nLarge>0 ) p->aProb[aLarge[--nLarge]] = 1.0;
  while( nSmall>0 ) p->aProb[aSmall[--nSmall]] = 1.0;
  free(aSmall);
  free(aLarge);
}

static int aliasDraw(const Alias *p, u64 *pRng){
  int j = (int)below(pRng, p->n);
  return uniform(pRng)<p->aProb[j] ? j : p->aAlias[j];
}

static void aliasFree(Alias *p){
  free(p->aProb);
  free(p->aAlias);
}

/* Everything about the catalogue and the users, before any rating. */
typedef struct World World;
struct World {
  u64 seed;
  int nUser, nMovie;
  long long nRating;
  long long *aCount;      /* ratings of each user */
  int *aMovieId;          /* movieId of each movie, ascending */
  double *aPop;           /* popularity weight of each movie */
  float *aMovieBias;
  float *aMovieFactor;    /* nMovie x HIDDEN */
  int *aFirstStart;       /* nUser+1: movies whose first rating is u's */
  int *aFirst;
};

/*
** Ratings of each user: 20 + a log-normal excess, scaled to sum to nRating,
** at most a third of the movies (the users at the cap keep it while the
** others are scaled again).
*/
static void drawActivity(World *w){
  double *aRaw = xmalloc(sizeof(double)*w->nUser);
  long long nCap = w->nMovie/3, nLeft;
  int u, bCapped = 1;
  for(u=0; u<w->nUser; u++){
    u64 r = stream(w->seed, 1, (u64)u);
    aRaw[u] = exp(1.3*normal(&r));
    w->aCount[u] = 0;
  }
  while( bCapped ){
    double rSum = 0.0;
    nLeft = w->nRating;
    for(u=0; u<w->nUser; u++){
      if( w->aCount[u]==nCap ) nLeft -= nCap; else rSum += aRaw[u];
    }
    bCapped = 0;
    for(u=0; u<w->nUser; u++){
      if( w->aCount[u]==nCap ) continue;
      w->aCount[u] = MIN_PER_USER + (long long)floor(aRaw[u]/rSum
                     * (double)(nLeft - (long long)MIN_PER_USER*w->nUser));
      if( w->aCount[u]>=nCap ){
        w->aCount[u] = nCap;
        bCapped = 1;
      }
    }
  }
  /* hand out what rounding left: +1 to nLeft evenly spaced users with
  ** room (nLeft is less than their number) */
  for(u=0; u<w->nUser; u++) nLeft -= w->aCount[u]==nCap ? 0 : w->aCount[u];
  if( nLeft>0 ){
    long long nOpen = 0, iOpen = 0;
    for(u=0; u<w->nUser; u++) nOpen += w->aCount[u]<nCap;
    for(u=0; u<w->nUser; u++){
      if( w->aCount[u]==nCap ) continue;
      w->aCount[u] += (iOpen+1)*nLeft/nOpen - iOpen*nLeft/nOpen;
      iOpen++;
    }
  }
  free(aRaw);
}

/* Movie ids (sparse, ascending), popularity, and the hidden movie model. */
static void drawMovies(World *w){
  int *aRank = xmalloc(sizeof(int)*w->nMovie);
  double r0 = 150.0;
  int nUnrated = w->nMovie/500, i, id = 0, h;
  u64 r = stream(w->seed, 2, 0);
  for(i=0; i<w->nMovie; i++){
    id += 1 + (below(&r, 4)==0 ? (int)below(&r, 8) : 0);
    w->aMovieId[i] = id;
    aRank[i] = i;
  }
  for(i=w->nMovie-1; i>0; i--){
    int j = (int)below(&r, i+1), t = aRank[i];
    aRank[i] = aRank[j];
    aRank[j] = t;
  }
  for(i=0; i<w->nMovie; i++){
    u64 s = stream(w->seed, 3, (u64)i);
    w->aPop[i] = aRank[i]>=w->nMovie-nUnrated ? 0.0 :
                 pow(aRank[i] + r0, -2.0);
    /* popular movies are rated a little higher */
    w->aMovieBias[i] = (float)(0.5*normal(&s)
                               + 0.25*(1.0 - 2.0*aRank[i]/w->nMovie));
    for(h=0; h<HIDDEN; h++){
      w->aMovieFactor[(long long)i*HIDDEN+h] = (float)(0.45*normal(&s));
    }
  }
  free(aRank);
}

/* Give every movie with a popularity its first rating, by a user drawn by
** activity among those with room left. */
static void drawFirstRatings(World *w){
  int *aUserOf = xmalloc(sizeof(int)*w->nMovie);
  int *aUsed = xmalloc(sizeof(int)*w->nUser);
  double *aW = xmalloc(sizeof(double)*w->nUser);
  Alias users;
  u64 r = stream(w->seed, 4, 0);
  int i, u;
  for(u=0; u<w->nUser; u++) aW[u] = (double)w->aCount[u];
  aliasInit(&users, aW, w->nUser);
  memset(aUsed, 0, sizeof(int)*w->nUser);
  memset(w->aFirstStart, 0, sizeof(int)*(w->nUser+1));
  for(i=0; i<w->nMovie; i++){
    aUserOf[i] = -1;
    if( w->aPop[i]==0.0 ) continue;
    do{ u = aliasDraw(&users, &r); }while( aUsed[u]>=w->aCount[u] );
    aUsed[u]++;
    aUserOf[i] = u;
    w->aFirstStart[u+1]++;
  }
  for(u=0; u<w->nUser; u++) w->aFirstStart[u+1] += w->aFirstStart[u];
  memcpy(aUsed, w->aFirstStart, sizeof(int)*w->nUser);
  for(i=0; i<w->nMovie; i++){
    if( aUserOf[i]>=0 ) w->aFirst[aUsed[aUserOf[i]]++] = i;
  }
  aliasFree(&users);
  free(aW);
  free(aUsed);
  free(aUserOf);
}

/* The hidden model's rating, rounded to the user's scale. */
static double rating(const World *w, const float *aUserFactor, double bu,
                     int bWhole, int i, u64 *pRng){
  double x = 3.35 + bu + w->aMovieBias[i] + 0.65*normal(pRng);
  int h;
  for(h=0; h<HIDDEN; h++){
    x += aUserFactor[h]*w->aMovieFactor[(long long)i*HIDDEN+h];
  }
  x = bWhole ? floor(x+0.5) : floor(2.0*x+0.5)/2.0;
  return x<(bWhole ? 1.0 : 0.5) ? (bWhole ? 1.0 : 0.5) : x>5.0 ? 5.0 : x;
}

static int cmpInt(const void *a, const void *b){
  int x = *(const int*)a, y = *(const int*)b;
  return (x>y) - (x<y);
}

static void check(sqlite3 *db, int rc, const char *zWhat){
  if( rc!=SQLITE_OK && rc!=SQLITE_DONE && rc!=SQLITE_ROW ){
    fprintf(stderr, "generate: %s: %s\n", zWhat, sqlite3_errmsg(db));
    exit(1);
  }
}

static void exec(sqlite3 *db, const char *zSql){
  check(db, sqlite3_exec(db, zSql, 0, 0, 0), zSql);
}

static void writeMovies(sqlite3 *db, const World *w){
  sqlite3_stmt *pIns;
  char zTitle[64], zGenres[128];
  int i;
  check(db, sqlite3_prepare_v2(db, "INSERT INTO movies VALUES(?,?,?)", -1,
                               &pIns, 0), "prepare");
  for(i=0; i<w->nMovie; i++){
    u64 r = stream(w->seed, 5, (u64)i);
    int nGenre = 1 + (int)below(&r, 3), g, first = (int)below(&r, N_GENRE);
    zGenres[0] = 0;
    for(g=0; g<nGenre; g++){
      if( g ) strcat(zGenres, "|");
      strcat(zGenres, azGenre[(first + g*7) % N_GENRE]);
    }
    snprintf(zTitle, sizeof(zTitle), "Movie %d (%d)", w->aMovieId[i],
             1920 + (int)below(&r, 100));
    sqlite3_bind_int(pIns, 1, w->aMovieId[i]);
    sqlite3_bind_text(pIns, 2, zTitle, -1, SQLITE_STATIC);
    sqlite3_bind_text(pIns, 3, zGenres, -1, SQLITE_STATIC);
    check(db, sqlite3_step(pIns), "insert movie");
    sqlite3_reset(pIns);
  }
  sqlite3_finalize(pIns);
}

/*
** Draw the movies of user u into aPick[0..n-1]: the movies whose first
** rating is u's, then more by popularity without repeats.  aMark is per
** movie; aMark[i]==stamp means picked.
*/
static int pickMovies(const World *w, const Alias *pMovies, int u,
                      int *aMark, int stamp, int *aPick, u64 *pRng){
  int n = 0, k;
  for(k=w->aFirstStart[u]; k<w->aFirstStart[u+1]; k++){
    aMark[w->aFirst[k]] = stamp;
    aPick[n++] = w->aFirst[k];
  }
  while( n<w->aCount[u] ){
    int i = aliasDraw(pMovies, pRng);
    if( aMark[i]!=stamp ){
      aMark[i] = stamp;
      aPick[n++] = i;
    }
  }
  return n;
}

static void writeRatings(sqlite3 *db, const World *w){
  sqlite3_stmt *pIns;
  Alias movies;
  int *aMark = xmalloc(sizeof(int)*w->nMovie);
  int *aPick = xmalloc(sizeof(int)*w->nMovie);
  int u, k, h;
  aliasInit(&movies, w->aPop, w->nMovie);
  memset(aMark, 0xff, sizeof(int)*w->nMovie);
  check(db, sqlite3_prepare_v2(db, "INSERT INTO ratings VALUES(?,?,?,?)", -1,
                               &pIns, 0), "prepare");
  for(u=0; u<w->nUser; u++){
    u64 r = stream(w->seed, 6, (u64)u);
    float aUserFactor[HIDDEN];
    double bu = 0.45*normal(&r);
    int bWhole = uniform(&r)<0.4;
    long long t = 1000000000LL + below(&r, 500000000LL);
    int n;
    for(h=0; h<HIDDEN; h++) aUserFactor[h] = (float)(0.45*normal(&r));
    n = pickMovies(w, &movies, u, aMark, u, aPick, &r);
    qsort(aPick, (size_t)n, sizeof(int), cmpInt);
    for(k=0; k<n; k++){
      sqlite3_bind_int(pIns, 1, u+1);
      sqlite3_bind_int(pIns, 2, w->aMovieId[aPick[k]]);
      sqlite3_bind_double(pIns, 3, rating(w, aUserFactor, bu, bWhole,
                                          aPick[k], &r));
      sqlite3_bind_int64(pIns, 4, t + 60*k + (long long)below(&r, 60));
      check(db, sqlite3_step(pIns), "insert rating");
      sqlite3_reset(pIns);
    }
  }
  sqlite3_finalize(pIns);
  aliasFree(&movies);
  free(aMark);
  free(aPick);
}

static void usage(void){
  fprintf(stderr,
    "usage: generate [--preset small|2.5m|25m] [--users N] [--movies N]\n"
    "                [--ratings N] [--seed N] OUT.db\n"
    "  small: 610 users, 9742 movies, 100836 ratings (ml-latest-small)\n"
    "  2.5m:  16200 users, 5900 movies, 2500000 ratings\n"
    "  25m:   162000 users, 59000 movies, 25000000 ratings (ML-25M)\n");
  exit(2);
}

static long long numberArg(const char *z){
  char *zEnd;
  long long n = strtoll(z, &zEnd, 10);
  if( *zEnd || n<0 ) usage();
  return n;
}

int main(int argc, char **argv){
  Preset p = aPreset[0];
  const char *zOut = 0;
  u64 seed = 42;
  World w;
  sqlite3 *db;
  double t0 = (double)clock();
  int j;
  for(j=1; j<argc; j++){
    if( strcmp(argv[j], "--preset")==0 && j+1<argc ){
      int k, n = (int)(sizeof(aPreset)/sizeof(aPreset[0]));
      for(k=0; k<n && strcmp(aPreset[k].zName, argv[j+1]); k++){}
      if( k==n ) usage();
      p = aPreset[k];
      j++;
    }else if( strcmp(argv[j], "--users")==0 && j+1<argc ){
      p.nUser = numberArg(argv[++j]);
    }else if( strcmp(argv[j], "--movies")==0 && j+1<argc ){
      p.nMovie = numberArg(argv[++j]);
    }else if( strcmp(argv[j], "--ratings")==0 && j+1<argc ){
      p.nRating = numberArg(argv[++j]);
    }else if( strcmp(argv[j], "--seed")==0 && j+1<argc ){
      seed = (u64)numberArg(argv[++j]);
    }else if( argv[j][0]!='-' && zOut==0 ){
      zOut = argv[j];
    }else{
      usage();
    }
  }
  if( zOut==0 ) usage();
  if( p.nUser<1 || p.nMovie<3*MIN_PER_USER || p.nUser>100000000
   || p.nMovie>100000000
   || p.nRating<(long long)MIN_PER_USER*p.nUser || p.nRating<p.nMovie
   || p.nRating>p.nUser*(p.nMovie/3) ){
    fprintf(stderr, "generate: need 1 <= users, 60 <= movies (both up to "
            "1e8), ratings >= 20*users and >= movies, ratings <= "
            "users*movies/3\n");
    return 2;
  }
  memset(&w, 0, sizeof(w));
  w.seed = seed;
  w.nUser = (int)p.nUser;
  w.nMovie = (int)p.nMovie;
  w.nRating = p.nRating;
  w.aCount = xmalloc(sizeof(long long)*w.nUser);
  w.aMovieId = xmalloc(sizeof(int)*w.nMovie);
  w.aPop = xmalloc(sizeof(double)*w.nMovie);
  w.aMovieBias = xmalloc(sizeof(float)*w.nMovie);
  w.aMovieFactor = xmalloc(sizeof(float)*w.nMovie*HIDDEN);
  w.aFirstStart = xmalloc(sizeof(int)*(w.nUser+1));
  w.aFirst = xmalloc(sizeof(int)*w.nMovie);
  drawActivity(&w);
  drawMovies(&w);
  drawFirstRatings(&w);

  unlink(zOut);
  if( sqlite3_open(zOut, &db)!=SQLITE_OK ){
    fprintf(stderr, "generate: cannot open %s: %s\n", zOut, sqlite3_errmsg(db));
    return 1;
  }
  exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
           "PRAGMA cache_size=-65536; PRAGMA locking_mode=EXCLUSIVE;"
           "CREATE TABLE movies(movieId INTEGER PRIMARY KEY,"
           " title TEXT NOT NULL, genres TEXT NOT NULL);"
           "CREATE TABLE ratings(userId INTEGER NOT NULL,"
           " movieId INTEGER NOT NULL, rating REAL NOT NULL,"
           " timestamp INTEGER NOT NULL, PRIMARY KEY (userId, movieId))"
           " WITHOUT ROWID;"
           "BEGIN;");
  writeMovies(db, &w);
  writeRatings(db, &w);
  exec(db, "COMMIT; CREATE INDEX ratings_movie ON ratings(movieId);"
           "PRAGMA analysis_limit=1000; ANALYZE;");
  check(db, sqlite3_close(db), "close");
  printf("generated %s: %lld ratings, %d users, %d movies, seed %llu, "
         "%.1f s\n", zOut, w.nRating, w.nUser, w.nMovie, seed,
         ((double)clock()-t0)/CLOCKS_PER_SEC);
  free(w.aCount);
  free(w.aMovieId);
  free(w.aPop);
  free(w.aMovieBias);
  free(w.aMovieFactor);
  free(w.aFirstStart);
  free(w.aFirst);
  return 0;
}
