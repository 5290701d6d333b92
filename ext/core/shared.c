/*
** shared.c: models that the connections of one process share, and the
** reference counts that let them.
**
**     -- connection 1, in one thread          -- connection 2, in another
**     SELECT mlrec_load_model('prod');        SELECT mlrec_load_model('prod');
**
** Both connections now serve one copy of 'prod' in memory: loading finds
** the copy already loaded (same kind, same checksum) and takes a reference
** to it instead of reading the rows again.  A web application with a pool
** of eight connections holds one model, not eight.
**
** This is the one object of mlrec that lives beyond a connection: a list
** of the loaded models in use, each listed under its kind and the checksum
** of the rows it was loaded from.  A listed model is immutable (what it
** reads lazily it publishes atomically, see rating/neighbours.c), so any
** number of threads may serve it at once.
**
** HOW IT WORKS
**
** An object that may be shared starts with an MlrecShared: its reference
** count, changed with atomic operations since connections on several
** threads hold it, and its place in the list.  The list is guarded by one
** mutex, a static POSIX mutex: it needs no allocation (nothing to free at
** exit, nothing for the allocation-failure tests to trip on) and no
** initialisation race (the thread pool, pool.c, uses POSIX threads too).
** A listed object leaves the list when its last reference goes: the
** releasing thread takes the mutex and unlinks it.  mlrecSharedFind() takes
** a reference only from a count above zero, under the mutex, so it never
** revives an object that is being freed; it skips it, and the caller loads
** a new copy.
*/
#include "core.h"
#include <pthread.h>

static pthread_mutex_t sharedMutex = PTHREAD_MUTEX_INITIALIZER;
static MlrecShared *pSharedList = 0;

/* One reference, not listed. */
void mlrecSharedInit(MlrecShared *p){
  p->nRef = 1;
  p->eKind = 0;
  p->key = 0;
  p->pNext = 0;
}

void mlrecSharedRef(MlrecShared *p){
  __atomic_add_fetch(&p->nRef, 1, __ATOMIC_RELAXED);
}

/* Take a reference to p unless its count is already 0; true if taken. */
static int refIfAlive(MlrecShared *p){
  int n = __atomic_load_n(&p->nRef, __ATOMIC_RELAXED);
  while( n>0 && !__atomic_compare_exchange_n(&p->nRef, &n, n+1, 1,
                                             __ATOMIC_ACQ_REL,
                                             __ATOMIC_RELAXED) ){}
  return n>0;
}

/*
** Drop a reference to p.  Returns 1 if it was the last: p is then out of
** the list and the caller frees it.
*/
int mlrecSharedUnref(MlrecShared *p){
  MlrecShared **pp;
  if( __atomic_sub_fetch(&p->nRef, 1, __ATOMIC_ACQ_REL)>0 ) return 0;
  pthread_mutex_lock(&sharedMutex);
  for(pp=&pSharedList; *pp && *pp!=p; pp=&(*pp)->pNext){}
  if( *pp ) *pp = p->pNext;
  pthread_mutex_unlock(&sharedMutex);
  return 1;
}

/* Under the mutex: the listed object of kind eKind and checksum key that
** is alive, with a new reference, or NULL. */
static MlrecShared *findListed(int eKind, u64 key){
  MlrecShared *p;
  for(p=pSharedList; p; p=p->pNext){
    if( p->eKind==eKind && p->key==key && refIfAlive(p) ) return p;
  }
  return 0;
}

/* A new reference to the loaded model of kind eKind (MLREC_SHARED_*) and
** checksum key, if some connection of the process holds it; else NULL. */
MlrecShared *mlrecSharedFind(int eKind, u64 key){
  MlrecShared *p;
  pthread_mutex_lock(&sharedMutex);
  p = findListed(eKind, key);
  pthread_mutex_unlock(&sharedMutex);
  return p;
}

/*
** List p, just loaded, as the copy of kind eKind and checksum key, and
** return it; but if another connection listed one meanwhile, return that
** one (with a new reference) and leave p unlisted: the caller drops p.
*/
MlrecShared *mlrecSharedList(MlrecShared *p, int eKind, u64 key){
  MlrecShared *pOld;
  pthread_mutex_lock(&sharedMutex);
  pOld = findListed(eKind, key);
  if( pOld==0 ){
    p->eKind = eKind;
    p->key = key;
    p->pNext = pSharedList;
    pSharedList = p;
  }
  pthread_mutex_unlock(&sharedMutex);
  return pOld ? pOld : p;
}
