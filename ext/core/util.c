/*
** util.c: small helpers shared by the source files of the mlrec extension:
** error messages, argument checks, clocks, a hash, and honouring
** sqlite3_interrupt() during long computations.
*/
#include "core.h"
#include <math.h>
#include <stdarg.h>
#include <time.h>

/* Replace *pzErr with a message built from zFormat (sqlite3_mprintf). */
void mlrecSetError(char **pzErr, const char *zFormat, ...){
  va_list ap;
  va_start(ap, zFormat);
  sqlite3_free(*pzErr);
  *pzErr = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
}

/* The SQL name of a fundamental datatype, for error messages. */
const char *mlrecTypeName(int eType){
  switch( eType ){
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT:   return "a real";
    case SQLITE_TEXT:    return "text";
    case SQLITE_BLOB:    return "a blob";
    default:             return "NULL";
  }
}

/*
** Read an id argument: an INTEGER, or a REAL with an integral value (some
** drivers, e.g. Node's, bind every number as a double).  Returns
** SQLITE_MISMATCH for anything else; the caller handles NULL first.
*/
int mlrecArgToId(sqlite3_value *pVal, i64 *piOut){
  double r;
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_INTEGER:
      *piOut = sqlite3_value_int64(pVal);
      return SQLITE_OK;
    case SQLITE_FLOAT:
      r = sqlite3_value_double(pVal);
      /* 2^63 is the first double outside the range of i64 */
      if( r!=floor(r) || r<-9223372036854775808.0 || r>=9223372036854775808.0 ){
        return SQLITE_MISMATCH;
      }
      *piOut = (i64)r;
      return SQLITE_OK;
    default:
      return SQLITE_MISMATCH;
  }
}

/* The error for an id argument that mlrecArgToId() rejected. */
char *mlrecBadIdMessage(const char *zFunc, const char *zArg, sqlite3_value *pVal){
  if( sqlite3_value_type(pVal)==SQLITE_TEXT ){
    /* e.g. a Tcl or shell variable bound as text: say how to fix it */
    return sqlite3_mprintf("%s: %s must be an integer id, not text %.40Q "
                           "(use CAST(... AS INTEGER))", zFunc, zArg,
                           sqlite3_value_text(pVal));
  }
  return sqlite3_mprintf("%s: %s must be an integer id, not %s", zFunc, zArg,
                         mlrecTypeName(sqlite3_value_type(pVal)));
}

/* Read a count argument k: an integral number >= 0. */
int mlrecArgToK(sqlite3_value *pVal, i64 *piOut){
  return mlrecArgToId(pVal, piOut)!=SQLITE_OK || *piOut<0 ?
         SQLITE_MISMATCH : SQLITE_OK;
}

i64 mlrecNow(void){
  return (i64)time(0);
}

/* Format unix time t as "YYYY-MM-DD HH:MM:SS" UTC, the form of datetime(). */
void mlrecFormatTime(i64 t, char *zBuf, int nBuf){
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(zBuf, (size_t)nBuf, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Seconds on a monotonic clock, for measuring durations. */
double mlrecClock(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9*(double)ts.tv_nsec;
}

/*
** SQLite 3.40 has no sqlite3_is_interrupted().  But once sqlite3_interrupt()
** has been called, stepping any statement on the connection fails with
** SQLITE_INTERRUPT until the outermost statement ends, and stepping also
** runs the application's progress handler.  So long loops step a trivial
** statement every so often.  The statement is prepared per computation:
** a statement cached in the state would make sqlite3_close() fail.
*/
int mlrecInterruptBegin(sqlite3 *db, MlrecInterrupt *p){
  return sqlite3_prepare_v2(db, "SELECT 1", -1, &p->pProbe, 0);
}

/* SQLITE_OK to go on, else the error code (normally SQLITE_INTERRUPT). */
int mlrecInterrupted(MlrecInterrupt *p){
  int rc = sqlite3_step(p->pProbe);
  sqlite3_reset(p->pProbe);
  return rc==SQLITE_ROW ? SQLITE_OK : rc;
}

/*
** In a long loop with counter iStep: steps the probe once every 16384
** iterations (a few milliseconds of work at most), else returns SQLITE_OK.
*/
int mlrecInterruptedEvery(MlrecInterrupt *p, i64 iStep){
  return (iStep & 0x3fff)==0 ? mlrecInterrupted(p) : SQLITE_OK;
}

void mlrecInterruptEnd(MlrecInterrupt *p){
  sqlite3_finalize(p->pProbe);
  p->pProbe = 0;
}

/* A hash of (a, b, seed) uniform in [0, 1): mlrec_split_hash(), and the
** initial factors of the ranking model. */
double mlrecSplitHash(i64 a, i64 b, i64 seed){
  u64 h = mlrecMix64(mlrecMix64(mlrecMix64((u64)seed) ^ (u64)a) ^ (u64)b);
  return (double)(h>>11) * (1.0/9007199254740992.0);
}

/* Report error rc, with message zErr if there is one, as a function result. */
void mlrecResultError(sqlite3_context *ctx, int rc, const char *zErr){
  /* a generic error without its message: building the message failed */
  if( rc==SQLITE_NOMEM || (rc==SQLITE_ERROR && zErr==0) ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( zErr ) sqlite3_result_error(ctx, zErr, -1);
  sqlite3_result_error_code(ctx, rc);
}
