/*
** tests/dqlite/client.c: a small dqlite client speaking dqlite's wire
** protocol (version 1), for tests/dqlite/test.sh.  dqlite's C library has no
** public client, so this is one, with only what the test needs.
**
**     build/dqlite-client [-t SECONDS] -leader ADDR[,ADDR...] [DATABASE]
**     build/dqlite-client [-t SECONDS] -node ADDR [DATABASE]
**     build/dqlite-client -sqlite FILE
**
** -leader asks the nodes at ADDR... who the leader is and talks to the
** leader, retrying for up to SECONDS (default 60) while there is none (an
** election); -node talks to that node, leader or not; -sqlite runs the same
** commands on FILE with plain SQLite and mlrec linked in (the answers of a
** database that is not replicated, to compare with).  DATABASE is the name
** of the replicated database (default "mlrec"), opened on the first exec or
** query.  Everything runs on one connection, hence on one SQLite connection
** of the leader: a model trained by one command is there for the next.
**
** Commands, one a line on standard input (blank lines and lines starting
** with # are skipped):
**   exec SQL        EXEC_SQL: run the statements of SQL; prints nothing
**   query SQL       QUERY_SQL: run one statement and print its rows, values
**                   separated by |, reals with %.17g (every bit of the
**                   double), blobs as x'...', NULL as nothing
**   leader          the leader as this node knows it: "ID|ADDRESS" ("0|")
**   cluster         the nodes of the cluster: "ID|ADDRESS|ROLE", one a line
**                   (ROLE 0 voter, 1 stand-by, 2 spare)
**   add ID ADDRESS  add a node to the cluster (it joins as a spare)
**   assign ID ROLE  give node ID a role (0: voter)
** A failed command prints "error CODE: MESSAGE" (CODE being the SQLite
** extended error code dqlite sends, e.g. 10250 SQLITE_IOERR_NOT_LEADER) and
** the client goes on with the next one; it exits 1 if any command failed, 2
** if the connection failed (a timeout after SECONDS, a node gone, a message
** it cannot parse).
**
** THE PROTOCOL (dqlite.io, "Wire protocol"; src/gateway.c of dqlite 1.11)
**
** The client sends the protocol version (1) as a 64-bit little-endian word,
** then requests; the node answers each with a response.  A message is a
** header word (body size in words: 32 bits; type: 8 bits; schema: 8 bits;
** 16 unused bits) and a body of 64-bit words: integers are little-endian
** words, texts are NUL-terminated and padded with zeros to a word, blobs a
** length word then the bytes padded.  Requests used here: LEADER 0, OPEN 3
** (name, flags, vfs), EXEC_SQL 8 and QUERY_SQL 9 (database id, SQL, then
** the parameters: a count byte and one type byte each, padded, no values
** here), ADD 12 (id, address), ASSIGN 13 (id, role), CLUSTER 16 (format 1).
** Responses: FAILURE 0 (code, message), SERVER 1 (id, address), SERVERS 3
** (count, then id, address, role each), DB 4, RESULT 6 (last insert id,
** rows changed), ROWS 7, EMPTY 8.  ROWS holds the column count, the column
** names, then the rows, each a header of 4 bits per column giving its type
** (1 integer, 2 real, 3 text, 4 blob, 5 null, 9 unix time, 10 ISO 8601
** text, 11 boolean), padded to a word, then the values; it ends with a word
** of 0xff bytes, or of 0xee bytes when more ROWS responses follow (the node
** sends them without being asked).
**
** Two things dqlite 1.11 does that the test relies on knowing: a QUERY_SQL
** runs its statement without replicating what it writes (the frames stay
** pending in dqlite's VFS, and the node soon aborts on an assertion of
** vfs.c, wal->n_tx == 0), so every statement that writes goes through
** EXEC_SQL, including SELECT mlrec_save_model(...); and EXEC_SQL steps a
** statement once, then
** replicates the frames that step wrote, then answers.  For a SELECT whose
** one row is a function call that one step is the whole statement (the
** model is saved and replicated), yet dqlite answers with the code of the
** step, SQLITE_ROW (100, "another row available"), as a failure.  exec
** counts that answer as success.  Only the leader serves statements: a
** follower answers EXEC_SQL and QUERY_SQL with 10250, "not leader".
*/
#include <sqlite3.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "mlrec_static.h"

#define REQ_LEADER     0
#define REQ_OPEN       3
#define REQ_EXEC_SQL   8
#define REQ_QUERY_SQL  9
#define REQ_ADD       12
#define REQ_ASSIGN    13
#define REQ_CLUSTER   16

#define RES_FAILURE    0
#define RES_SERVER     1
#define RES_SERVERS    3
#define RES_DB         4
#define RES_RESULT     6
#define RES_ROWS       7
#define RES_EMPTY      8

#define ROWS_DONE 0xffffffffffffffffULL
#define ROWS_PART 0xeeeeeeeeeeeeeeeeULL

/* ---- Fatal errors: the connection is unusable ---------------------------- */

static void fatal(const char *zFormat, ...){
  va_list ap;
  printf("error: ");
  va_start(ap, zFormat);
  vprintf(zFormat, ap);
  va_end(ap);
  printf("\n");
  exit(2);
}

/* ---- Building a request ---------------------------------------------------- */

typedef struct Buf Buf;
struct Buf {
  unsigned char *a;
  size_t n, nAlloc;
};

static void bufSpace(Buf *p, size_t n){
  if( p->n+n>p->nAlloc ){
    size_t nNew = p->nAlloc ? p->nAlloc*2 : 4096;
    while( nNew<p->n+n ) nNew *= 2;
    p->a = realloc(p->a, nNew);
    if( p->a==0 ) fatal("out of memory");
    p->nAlloc = nNew;
  }
}

static void putU64(Buf *p, uint64_t x){
  int i;
  bufSpace(p, 8);
  for(i=0; i<8; i++) p->a[p->n++] = (unsigned char)(x >> (8*i));
}

/* A text: its bytes, a NUL, zeros up to the next word. */
static void putText(Buf *p, const char *z){
  size_t n = strlen(z) + 1;
  size_t nPad = (n+7)/8*8;
  bufSpace(p, nPad);
  memcpy(p->a+p->n, z, n);
  memset(p->a+p->n+n, 0, nPad-n);
  p->n += nPad;
}

/* No parameters: a count byte of 0, padded to a word. */
static void putNoParams(Buf *p){
  putU64(p, 0);
}

/* ---- A connection ---------------------------------------------------------- */

typedef struct Conn Conn;
struct Conn {
  int fd;
  char *zAddr;              /* the node's address */
  int bOpen;                /* the database is open */
  unsigned char *aBody;     /* the body of the last response */
  size_t nBody, nBodyAlloc;
  int type;                 /* the type of the last response */
};

static int timeoutSeconds = 60;

static double now(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9*(double)ts.tv_nsec;
}

/* Connect to "HOST:PORT" and send the protocol version; -1 if the node
** cannot be reached. */
static int dial(const char *zAddr){
  char zHost[256];
  const char *zPort = strrchr(zAddr, ':');
  struct addrinfo hints, *pList = 0, *p;
  struct timeval tv;
  unsigned char aVersion[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  int fd = -1;
  size_t nHost;

  if( zPort==0 || (nHost = (size_t)(zPort-zAddr))>=sizeof(zHost) ) return -1;
  memcpy(zHost, zAddr, nHost);
  zHost[nHost] = 0;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if( getaddrinfo(zHost, zPort+1, &hints, &pList)!=0 ) return -1;
  for(p=pList; p; p=p->ai_next){
    fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
    if( fd<0 ) continue;
    /* No read or write waits longer than the timeout. */
    tv.tv_sec = timeoutSeconds;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if( connect(fd, p->ai_addr, p->ai_addrlen)==0
     && write(fd, aVersion, 8)==8 ){
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(pList);
  return fd;
}

static void connClose(Conn *c){
  if( c->fd>=0 ) close(c->fd);
  c->fd = -1;
  c->bOpen = 0;
}

/* Send a request of type `type` with body pBody (a whole number of words);
** 0 on success, else -1 (the connection failed). */
static int sendRequest(Conn *c, int type, const Buf *pBody){
  unsigned char aHead[8];
  size_t nWord = pBody->n/8, i = 0;
  aHead[0] = (unsigned char)nWord;
  aHead[1] = (unsigned char)(nWord >> 8);
  aHead[2] = (unsigned char)(nWord >> 16);
  aHead[3] = (unsigned char)(nWord >> 24);
  aHead[4] = (unsigned char)type;
  aHead[5] = aHead[6] = aHead[7] = 0;          /* schema 0 */
  if( write(c->fd, aHead, 8)!=8 ) return -1;
  while( i<pBody->n ){
    ssize_t n = write(c->fd, pBody->a+i, pBody->n-i);
    if( n<0 && errno==EINTR ) continue;
    if( n<=0 ) return -1;
    i += (size_t)n;
  }
  return 0;
}

static int readFull(int fd, unsigned char *a, size_t n){
  size_t i = 0;
  while( i<n ){
    ssize_t k = read(fd, a+i, n-i);
    if( k<0 && errno==EINTR ) continue;
    if( k<=0 ) return -1;
    i += (size_t)k;
  }
  return 0;
}

/* Read one response into c->aBody and c->type; 0 on success, else -1. */
static int readResponse(Conn *c){
  unsigned char aHead[8];
  size_t nWord;
  if( readFull(c->fd, aHead, 8) ) return -1;
  nWord = (size_t)aHead[0] | (size_t)aHead[1]<<8 | (size_t)aHead[2]<<16
        | (size_t)aHead[3]<<24;
  c->type = aHead[4];
  c->nBody = nWord*8;
  if( c->nBody>c->nBodyAlloc ){
    free(c->aBody);
    c->aBody = malloc(c->nBody);
    if( c->aBody==0 ) fatal("out of memory");
    c->nBodyAlloc = c->nBody;
  }
  return readFull(c->fd, c->aBody, c->nBody);
}

/* Send a request and read its response; a connection that fails is fatal. */
static void roundTrip(Conn *c, int type, const Buf *pBody){
  errno = 0;
  if( sendRequest(c, type, pBody) || readResponse(c) ){
    fatal("connection to %s failed (%s)", c->zAddr,
          errno==EAGAIN ? "timeout" : errno ? strerror(errno)
                                            : "closed by the node");
  }
}

/* ---- Reading a response ---------------------------------------------------- */

typedef struct Cur Cur;
struct Cur {
  const unsigned char *p;
  size_t n;
};

static uint64_t getU64(Cur *q){
  uint64_t x = 0;
  int i;
  if( q->n<8 ) fatal("truncated response");
  for(i=0; i<8; i++) x |= (uint64_t)q->p[i] << (8*i);
  q->p += 8;
  q->n -= 8;
  return x;
}

static const char *getText(Cur *q){
  const char *z = (const char*)q->p;
  const unsigned char *pEnd = memchr(q->p, 0, q->n);
  size_t nPad;
  if( pEnd==0 ) fatal("unterminated text in a response");
  nPad = ((size_t)(pEnd-q->p) + 1 + 7)/8*8;
  if( nPad>q->n ) fatal("truncated response");
  q->p += nPad;
  q->n -= nPad;
  return z;
}

static Cur bodyCursor(Conn *c){
  Cur q;
  q.p = c->aBody;
  q.n = c->nBody;
  return q;
}

/* If the last response is a failure, print it and return 1; if it is not of
** type `want` either, the conversation is lost: fatal. */
static int failed(Conn *c, int want){
  if( c->type==RES_FAILURE ){
    Cur q = bodyCursor(c);
    uint64_t code = getU64(&q);
    printf("error %llu: %s\n", (unsigned long long)code, getText(&q));
    return 1;
  }
  if( c->type!=want ){
    fatal("response of type %d to a request expecting %d", c->type, want);
  }
  return 0;
}

/* ---- Finding the leader ---------------------------------------------------- */

/* Ask the node on c who the leader is: its id (0: none known) and address. */
static uint64_t askLeader(Conn *c, char **pzAddr){
  Buf b = {0, 0, 0};
  Cur q;
  uint64_t id;
  putU64(&b, 0);
  roundTrip(c, REQ_LEADER, &b);
  free(b.a);
  if( failed(c, RES_SERVER) ) return 0;
  q = bodyCursor(c);
  id = getU64(&q);
  if( pzAddr ) *pzAddr = strdup(getText(&q));
  return id;
}

/* Ask the node at zAddr who the leader is, without failing: the address of
** the leader in *pzLeader (malloced; "" if the node knows none), or -1 if the
** node cannot be reached or does not answer. */
static int probeLeader(const char *zAddr, char **pzLeader){
  Conn probe = {-1, 0, 0, 0, 0, 0, 0};
  Buf b = {0, 0, 0};
  int rc = -1;
  probe.fd = dial(zAddr);
  if( probe.fd>=0 ){
    putU64(&b, 0);
    if( sendRequest(&probe, REQ_LEADER, &b)==0 && readResponse(&probe)==0
     && probe.type==RES_SERVER ){
      Cur q = bodyCursor(&probe);
      getU64(&q);
      *pzLeader = strdup(getText(&q));
      rc = 0;
    }
    free(b.a);
  }
  connClose(&probe);
  free(probe.aBody);
  return rc;
}

/* Connect c to the leader, asking the nodes of the comma-separated list
** zList; retries during an election, fatal after the timeout. */
static void connectLeader(Conn *c, const char *zList){
  double tEnd = now() + timeoutSeconds;
  char *zCopy = malloc(strlen(zList)+1);
  if( zCopy==0 ) fatal("out of memory");
  while( 1 ){
    char *zSave = 0, *zAddr;
    strcpy(zCopy, zList);
    for(zAddr=strtok_r(zCopy, ",", &zSave); zAddr;
        zAddr=strtok_r(0, ",", &zSave)){
      char *zLeader = 0, *zSelf = 0;
      if( probeLeader(zAddr, &zLeader) ) continue;
      /* The leader must name itself: the node asked may not know yet that
      ** its leader is gone. */
      if( zLeader[0] && probeLeader(zLeader, &zSelf)==0
       && strcmp(zSelf, zLeader)==0 ){
        c->fd = dial(zLeader);
        if( c->fd>=0 ){
          c->zAddr = zLeader;
          free(zSelf);
          free(zCopy);
          return;
        }
      }
      free(zSelf);
      free(zLeader);
    }
    if( now()>tEnd ){
      fatal("no leader among %s after %d s", zList, timeoutSeconds);
    }
    usleep(100*1000);
  }
}

/* ---- Commands -------------------------------------------------------------- */

static const char *zDbName = "mlrec";

static void openDb(Conn *c){
  Buf b = {0, 0, 0};
  if( c->bOpen ) return;
  putText(&b, zDbName);
  putU64(&b, 0);
  putText(&b, "");
  roundTrip(c, REQ_OPEN, &b);
  free(b.a);
  if( failed(c, RES_DB) ) fatal("cannot open database %s", zDbName);
  c->bOpen = 1;
}

static int cmdExec(Conn *c, const char *zSql){
  Buf b = {0, 0, 0};
  openDb(c);
  putU64(&b, 0);
  putText(&b, zSql);
  putNoParams(&b);
  roundTrip(c, REQ_EXEC_SQL, &b);
  free(b.a);
  if( c->type==RES_FAILURE ){
    Cur q = bodyCursor(c);
    if( getU64(&q)==SQLITE_ROW ) return 0;  /* see the header comment */
  }
  return failed(c, RES_RESULT);
}

static void printReal(double r){
  printf("%.17g", r);
}

static void printBlob(const unsigned char *a, size_t n){
  size_t i;
  printf("x'");
  for(i=0; i<n; i++) printf("%02x", a[i]);
  printf("'");
}

/* Print the rows of one ROWS response; returns 1 if more responses follow. */
static int printRows(Conn *c){
  Cur q = bodyCursor(c);
  uint64_t nCol = getU64(&q), i;
  for(i=0; i<nCol; i++) getText(&q);               /* the column names */
  while( 1 ){
    const unsigned char *aType;
    size_t nHead = ((size_t)nCol+1)/2;
    uint64_t w;
    if( q.n<8 ) fatal("rows without an end marker");
    memcpy(&w, q.p, 8);
    if( w==ROWS_DONE || w==ROWS_PART ) return w==ROWS_PART;
    nHead = (nHead+7)/8*8;
    if( q.n<nHead ) fatal("truncated row");
    aType = q.p;
    q.p += nHead;
    q.n -= nHead;
    for(i=0; i<nCol; i++){
      int t = (aType[i/2] >> (4*(i%2))) & 0x0f;
      uint64_t x;
      if( i>0 ) printf("|");
      switch( t ){
        case 1: case 9: case 11:                       /* integer, time, bool */
          x = getU64(&q);
          printf("%lld", (long long)x);
          break;
        case 2: {                                      /* real */
          double r;
          x = getU64(&q);
          memcpy(&r, &x, 8);
          printReal(r);
          break;
        }
        case 3: case 10:                               /* text */
          printf("%s", getText(&q));
          break;
        case 4: {                                      /* blob */
          size_t n = (size_t)getU64(&q), nPad = (n+7)/8*8;
          if( nPad>q.n ) fatal("truncated blob");
          printBlob(q.p, n);
          q.p += nPad;
          q.n -= nPad;
          break;
        }
        case 5:                                        /* null */
          getU64(&q);
          break;
        default:
          fatal("unknown value type %d in a row", t);
      }
    }
    printf("\n");
  }
}

static int cmdQuery(Conn *c, const char *zSql){
  Buf b = {0, 0, 0};
  openDb(c);
  putU64(&b, 0);
  putText(&b, zSql);
  putNoParams(&b);
  roundTrip(c, REQ_QUERY_SQL, &b);
  free(b.a);
  while( 1 ){
    if( failed(c, RES_ROWS) ) return 1;
    if( !printRows(c) ) return 0;
    if( readResponse(c) ) fatal("connection to %s failed", c->zAddr);
  }
}

static int cmdLeader(Conn *c){
  char *zAddr = 0;
  uint64_t id = askLeader(c, &zAddr);
  if( zAddr==0 ) return 1;
  printf("%llu|%s\n", (unsigned long long)id, zAddr);
  free(zAddr);
  return 0;
}

static int cmdCluster(Conn *c){
  Buf b = {0, 0, 0};
  Cur q;
  uint64_t n, i;
  putU64(&b, 1);                                   /* format 1: with roles */
  roundTrip(c, REQ_CLUSTER, &b);
  free(b.a);
  if( failed(c, RES_SERVERS) ) return 1;
  q = bodyCursor(c);
  n = getU64(&q);
  for(i=0; i<n; i++){
    uint64_t id = getU64(&q);
    const char *zAddr = getText(&q);
    uint64_t role = getU64(&q);
    printf("%llu|%s|%llu\n", (unsigned long long)id, zAddr,
           (unsigned long long)role);
  }
  return 0;
}

static int cmdAdd(Conn *c, const char *zArgs){
  Buf b = {0, 0, 0};
  char zAddr[256];
  unsigned long long id;
  if( sscanf(zArgs, "%llu %255s", &id, zAddr)!=2 ){
    printf("error: usage: add ID ADDRESS\n");
    return 1;
  }
  putU64(&b, id);
  putText(&b, zAddr);
  roundTrip(c, REQ_ADD, &b);
  free(b.a);
  return failed(c, RES_EMPTY);
}

static int cmdAssign(Conn *c, const char *zArgs){
  Buf b = {0, 0, 0};
  unsigned long long id, role;
  if( sscanf(zArgs, "%llu %llu", &id, &role)!=2 ){
    printf("error: usage: assign ID ROLE\n");
    return 1;
  }
  putU64(&b, id);
  putU64(&b, role);
  roundTrip(c, REQ_ASSIGN, &b);
  free(b.a);
  return failed(c, RES_EMPTY);
}

/* ---- The same commands on plain SQLite (-sqlite) --------------------------- */

static int sqliteError(sqlite3 *db){
  printf("error %d: %s\n", sqlite3_extended_errcode(db), sqlite3_errmsg(db));
  return 1;
}

/* exec: every statement of zSql, stepped to its end. */
static int sqliteExec(sqlite3 *db, const char *zSql){
  while( zSql && zSql[0] ){
    sqlite3_stmt *pStmt = 0;
    const char *zTail = 0;
    int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, &zTail);
    if( rc!=SQLITE_OK ) return sqliteError(db);
    if( pStmt ){
      while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
      sqlite3_finalize(pStmt);
      if( rc!=SQLITE_DONE ) return sqliteError(db);
    }
    zSql = zTail;
  }
  return 0;
}

static int sqliteQuery(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  int i, n;
  if( rc!=SQLITE_OK || pStmt==0 ) return sqliteError(db);
  n = sqlite3_column_count(pStmt);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    for(i=0; i<n; i++){
      if( i>0 ) printf("|");
      switch( sqlite3_column_type(pStmt, i) ){
        case SQLITE_INTEGER:
          printf("%lld", sqlite3_column_int64(pStmt, i));
          break;
        case SQLITE_FLOAT:
          printReal(sqlite3_column_double(pStmt, i));
          break;
        case SQLITE_TEXT:
          printf("%s", (const char*)sqlite3_column_text(pStmt, i));
          break;
        case SQLITE_BLOB:
          printBlob(sqlite3_column_blob(pStmt, i),
                    (size_t)sqlite3_column_bytes(pStmt, i));
          break;
        default:
          break;
      }
    }
    printf("\n");
  }
  sqlite3_finalize(pStmt);
  return rc==SQLITE_DONE ? 0 : sqliteError(db);
}

/* ---- main ------------------------------------------------------------------ */

static int usage(void){
  fprintf(stderr,
    "usage: dqlite-client [-t SECONDS] -leader ADDR[,ADDR...] [DATABASE]\n"
    "       dqlite-client [-t SECONDS] -node ADDR [DATABASE]\n"
    "       dqlite-client -sqlite FILE\n"
    "commands on stdin: exec SQL | query SQL | leader | cluster |"
    " add ID ADDRESS | assign ID ROLE\n");
  return 2;
}

int main(int argc, char **argv){
  const char *zLeader = 0, *zNode = 0, *zFile = 0;
  Conn c = {-1, 0, 0, 0, 0, 0, 0};
  sqlite3 *db = 0;
  char *zLine = 0;
  size_t nLine = 0;
  ssize_t len;
  int i, nErr = 0;

  for(i=1; i<argc; i++){
    if( strcmp(argv[i], "-t")==0 && i+1<argc ){
      timeoutSeconds = atoi(argv[++i]);
    }else if( strcmp(argv[i], "-leader")==0 && i+1<argc ){
      zLeader = argv[++i];
    }else if( strcmp(argv[i], "-node")==0 && i+1<argc ){
      zNode = argv[++i];
    }else if( strcmp(argv[i], "-sqlite")==0 && i+1<argc ){
      zFile = argv[++i];
    }else if( argv[i][0]!='-' && i==argc-1 ){
      zDbName = argv[i];
    }else{
      return usage();
    }
  }
  if( (zLeader!=0) + (zNode!=0) + (zFile!=0) != 1 || timeoutSeconds<=0 ){
    return usage();
  }
  setvbuf(stdout, 0, _IOLBF, 0);

  if( zFile ){
    sqlite3_auto_extension((void(*)(void))sqlite3_mlrec_init);
    if( sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE, 0)!=SQLITE_OK ){
      fatal("cannot open %s: %s", zFile, sqlite3_errmsg(db));
    }
  }else if( zLeader ){
    connectLeader(&c, zLeader);
  }else{
    c.zAddr = strdup(zNode);
    c.fd = dial(zNode);
    if( c.fd<0 ) fatal("cannot connect to %s", zNode);
  }

  while( (len = getline(&zLine, &nLine, stdin))>=0 ){
    char *z = zLine, *zArg;
    while( len>0 && (z[len-1]=='\n' || z[len-1]=='\r') ) z[--len] = 0;
    while( *z==' ' ) z++;
    if( z[0]==0 || z[0]=='#' ) continue;
    zArg = strchr(z, ' ');
    if( zArg ){
      *zArg++ = 0;
      while( *zArg==' ' ) zArg++;
    }else{
      zArg = z + strlen(z);
    }
    if( db ){
      if( strcmp(z, "exec")==0 ){
        nErr += sqliteExec(db, zArg);
      }else if( strcmp(z, "query")==0 ){
        nErr += sqliteQuery(db, zArg);
      }else{
        printf("error: %s: not a command of -sqlite\n", z);
        nErr++;
      }
    }else if( strcmp(z, "exec")==0 ){
      nErr += cmdExec(&c, zArg);
    }else if( strcmp(z, "query")==0 ){
      nErr += cmdQuery(&c, zArg);
    }else if( strcmp(z, "leader")==0 ){
      nErr += cmdLeader(&c);
    }else if( strcmp(z, "cluster")==0 ){
      nErr += cmdCluster(&c);
    }else if( strcmp(z, "add")==0 ){
      nErr += cmdAdd(&c, zArg);
    }else if( strcmp(z, "assign")==0 ){
      nErr += cmdAssign(&c, zArg);
    }else{
      printf("error: unknown command %s\n", z);
      nErr++;
    }
  }
  free(zLine);
  connClose(&c);
  free(c.aBody);
  sqlite3_close(db);
  return nErr>0;
}
