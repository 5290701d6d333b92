/*
** version.c: mlrec_version() and mlrec_debug(), which build is running.
**
**     SELECT mlrec_version();   -> 0.1.0
**     SELECT mlrec_debug();
**       -> {"version":"0.1.0","commit":"b77d233c1a2e","build":"loadable",
**           "compiler":"gcc 12.2.0","flags":"-O2 -g",
**           "sqlite_header":"3.40.1","sqlite_library":"3.40.1"}
**
** commit and flags come from the Makefile (-DMLREC_GIT_COMMIT,
** -DMLREC_BUILD_FLAGS); a build without them (a tarball without git, a
** compiler run by hand) says "unknown".  build is "static" when compiled
** with -DSQLITE_CORE (linked into a program, see mlrec_static.h), else
** "loadable".  sqlite_header is the SQLite the extension was compiled
** against, sqlite_library the one running it.
*/
#include "surface.h"

#ifndef MLREC_GIT_COMMIT
# define MLREC_GIT_COMMIT "unknown"
#endif
#ifndef MLREC_BUILD_FLAGS
# define MLREC_BUILD_FLAGS "unknown"
#endif

#ifdef SQLITE_CORE
# define MLREC_BUILD_KIND "static"
#else
# define MLREC_BUILD_KIND "loadable"
#endif

#if defined(__clang__)
# define MLREC_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
# define MLREC_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
# define MLREC_COMPILER "msvc"
#else
# define MLREC_COMPILER "unknown"
#endif

/* mlrec_version(): the version of the extension, e.g. '0.1.0'. */
static void versionFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, MLREC_VERSION, -1, SQLITE_STATIC);
}

/* mlrec_debug(): the build as a JSON object of strings.  The values are
** compile-time constants and SQLite's version: escaping quotes and
** backslashes (and dropping control characters) is all JSON needs. */
static void debugFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  const struct { const char *zKey, *zVal; } a[] = {
    { "version", MLREC_VERSION },
    { "commit", MLREC_GIT_COMMIT },
    { "build", MLREC_BUILD_KIND },
    { "compiler", MLREC_COMPILER },
    { "flags", MLREC_BUILD_FLAGS },
    { "sqlite_header", SQLITE_VERSION },
    { "sqlite_library", sqlite3_libversion() },
  };
  sqlite3_str *pStr = sqlite3_str_new(0);
  size_t i;
  (void)argc;
  (void)argv;
  for(i=0; i<sizeof(a)/sizeof(a[0]); i++){
    const char *z;
    sqlite3_str_appendf(pStr, "%s\"%s\":\"", i ? "," : "{", a[i].zKey);
    for(z=a[i].zVal; *z; z++){
      if( *z=='"' || *z=='\\' ) sqlite3_str_appendchar(pStr, 1, '\\');
      if( (unsigned char)*z>=0x20 ) sqlite3_str_appendchar(pStr, 1, *z);
    }
    sqlite3_str_appendchar(pStr, 1, '"');
  }
  sqlite3_str_appendchar(pStr, 1, '}');
  if( sqlite3_str_errcode(pStr) ){
    sqlite3_free(sqlite3_str_finish(pStr));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(pStr), -1, sqlite3_free);
}

/* Both are pure (the same answer for the life of the process): safe
** anywhere, in views and triggers too. */
int mlrecRegisterVersion(sqlite3 *db){
  int rc = sqlite3_create_function(db, "mlrec_version", 0,
             SQLITE_UTF8|SQLITE_DETERMINISTIC|SQLITE_INNOCUOUS, 0,
             versionFunc, 0, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function(db, "mlrec_debug", 0,
           SQLITE_UTF8|SQLITE_DETERMINISTIC|SQLITE_INNOCUOUS, 0,
           debugFunc, 0, 0);
  }
  return rc;
}
