/*
** tests/dqlite/node.c: one dqlite node with mlrec linked in statically, for
** tests/dqlite/test.sh (docs/persistence.md, "Replicated with dqlite").
**
**     build/dqlite-node ID ADDRESS DATA_DIR [LATENCY_MS [LIFETIME_S]]
**
** dqlite (Debian's libdqlite-dev, 1.11) is SQLite replicated with Raft: the
** leader runs each statement a client sends it on its own SQLite connection
** and replicates the WAL frames of every write to the other nodes before it
** answers.  This program registers mlrec with sqlite3_auto_extension()
** before the node starts, so that every connection dqlite opens, on
** whichever node is leader, has mlrec's functions and tables: SQL sent by a
** client can train, save, load and recommend.
**
** ID is the node's Raft id: node 1 bootstraps a new cluster with itself as
** its only voter (dqlite does that for id 1 when DATA_DIR is empty); the
** others start empty and wait to be added by the leader (an ADD request,
** then ASSIGN to make them voters: tests/dqlite/client.c).  ADDRESS,
** "127.0.0.1:PORT", is both the address the node listens on and the one the
** other nodes reach it at.  LATENCY_MS (default 500) is the network latency
** dqlite tunes Raft for: the election timeout is 15 times it (7.5 s), the
** heartbeat 1.5 times it.  dqlite 1.11 runs a statement on the node's event
** loop, so a leader training a model sends no heartbeat meanwhile, and a
** training longer than the election timeout would let the followers elect
** another leader: the timeout must exceed the longest statement
** (train_ranker(): a second on ml-latest-small, 4 s on two cores loaded
** three times over).
**
** The node prints "ready ID ADDRESS" once it accepts connections, then runs
** until SIGTERM or SIGINT (it stops the node and exits 0), or until
** LIFETIME_S seconds (default 900) have passed, or its parent has died
** (a node never outlives the test that started it).  SIGKILL is how the test
** crashes a leader.
*/
#include <dqlite.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "mlrec_static.h"

static int usage(void){
  fprintf(stderr, "usage: dqlite-node ID ADDRESS DATA_DIR [LATENCY_MS "
                  "[LIFETIME_S]]\n");
  return 2;
}

int main(int argc, char **argv){
  dqlite_node *node = 0;
  dqlite_node_id id;
  const char *zAddr, *zDir;
  unsigned latency = 500, lifetime = 900;
  sigset_t set;
  int sig = 0, rc;

  if( argc<4 || argc>6 ) return usage();
  id = strtoull(argv[1], 0, 10);
  zAddr = argv[2];
  zDir = argv[3];
  if( argc>4 ) latency = (unsigned)atoi(argv[4]);
  if( argc>5 ) lifetime = (unsigned)atoi(argv[5]);
  if( id==0 || latency==0 || lifetime==0 ) return usage();

  /* Die with the test: SIGTERM when the parent goes, and no start at all if
  ** it is gone already. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if( getppid()==1 ) return 1;

  /* The signals that stop the node are taken by sigwait() below, in this
  ** thread: blocked here, before dqlite starts its thread, which inherits
  ** the mask. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, 0);
  alarm(lifetime);

  /* A node writing to the socket of a peer that has died (a crashed
  ** leader) must get EPIPE, not be killed by SIGPIPE: libuv leaves that to
  ** the program. */
  signal(SIGPIPE, SIG_IGN);

  /* Every SQLite connection opened from now on in this process has mlrec,
  ** including those dqlite opens for the clients of a leader. */
  rc = sqlite3_auto_extension((void(*)(void))sqlite3_mlrec_init);
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "dqlite-node: sqlite3_auto_extension: %d\n", rc);
    return 1;
  }

  rc = dqlite_node_create(id, zAddr, zDir, &node);
  if( rc==0 ) rc = dqlite_node_set_bind_address(node, zAddr);
  if( rc==0 ) rc = dqlite_node_set_network_latency_ms(node, latency);
  if( rc==0 ) rc = dqlite_node_start(node);
  if( rc!=0 ){
    fprintf(stderr, "dqlite-node %llu: cannot start on %s in %s: %s (%d)\n",
            id, zAddr, zDir, node ? dqlite_node_errmsg(node) : "no memory",
            rc);
    if( node ) dqlite_node_destroy(node);
    return 1;
  }
  printf("ready %llu %s\n", id, zAddr);
  fflush(stdout);

  sigwait(&set, &sig);
  if( sig==SIGALRM ){
    fprintf(stderr, "dqlite-node %llu: stopping after %u s (lifetime)\n",
            id, lifetime);
  }
  rc = dqlite_node_stop(node);
  dqlite_node_destroy(node);
  printf("stopped %llu (%s)%s\n", id, sig==SIGALRM ? "lifetime" : "signal",
         rc ? ", dqlite_node_stop failed" : "");
  return sig==SIGALRM || rc!=0;
}
