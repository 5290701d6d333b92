/*
** mlrec_static.h: the public header of the mlrec SQLite extension, for
** programs that link it statically instead of loading it at run time.
**
**     cc -o app app.c -lmlrec -lsqlite3 -lm -pthread   (libmlrec.a: make static)
**
**     #include <sqlite3.h>
**     #include <mlrec_static.h>
**     sqlite3_auto_extension((void(*)(void))sqlite3_mlrec_init);
**     sqlite3_open("movielens.db", &db);   -- every new connection has mlrec
**
** or, for one connection only, call sqlite3_mlrec_init(db, &zErrMsg, 0)
** after opening it (zErrMsg, if set, is freed with sqlite3_free).
** libmlrec.a is compiled with -DSQLITE_CORE, so it calls the SQLite library
** it is linked with directly.  A loadable build (mlrec.so) needs no header:
** SELECT load_extension('./mlrec') finds sqlite3_mlrec_init by itself.
*/
#ifndef MLREC_STATIC_H
#define MLREC_STATIC_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register every mlrec function and table on connection db.  Returns
** SQLITE_OK or an error code, with a message in *pzErrMsg. */
int sqlite3_mlrec_init(sqlite3 *db, char **pzErrMsg,
                       const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* MLREC_STATIC_H */
