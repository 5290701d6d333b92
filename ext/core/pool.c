/*
** parallel.c: independent pieces of long work on every core, stopping at
** sqlite3_interrupt().  train_ranker() uses it for the ALS solves and the
** sequence links:
**
**     SELECT train_ranker('{"threads": 2}');
**
** mlrecParallelRun() runs xTask(pCtx, pWorker, iTask) once for every iTask
** in [0, nTask), on up to nThread threads, the calling thread being one of
** them; tasks are taken in order from a shared counter.  A task reads what
** is shared and writes only its own outputs, and any work space it needs is
** that of its worker (pWorker->iWorker, allocated by the caller beforehand),
** so the results do not depend on the number of threads, nor on which
** thread ran which task.
**
** INTERRUPTS.  A task reports the work it does through mlrecWorkerStop(),
** in units of roughly a microsecond (a thousand multiply-adds, say), and
** stops when that returns true.
** About every millisecond of work, the calling thread steps the interrupt
** probe (util.c) and the others read a flag that it, or a failing task,
** sets.
*/
#include "core.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define PARALLEL_UNITS_PER_CHECK 1024

struct MlrecParallel {
  MlrecTaskFn xTask;
  void *pCtx;
  i64 nTask;
  atomic_llong iNext;      /* the next task to take */
  atomic_int rc;           /* SQLITE_OK, or why the work stops */
};

/* Record the first reason to stop. */
static void stopWith(MlrecParallel *p, int rc){
  int ok = SQLITE_OK;
  atomic_compare_exchange_strong(&p->rc, &ok, rc);
}

int mlrecWorkerStop(MlrecWorker *w, i64 nUnit){
  w->nUnit += nUnit;
  if( w->nUnit>=PARALLEL_UNITS_PER_CHECK ){
    w->nUnit = 0;
    if( w->pIntr ){
      int rc = mlrecInterrupted(w->pIntr);
      if( rc!=SQLITE_OK ) stopWith(w->pPar, rc);
    }
    return atomic_load_explicit(&w->pPar->rc, memory_order_relaxed)
           !=SQLITE_OK;
  }
  return 0;
}

/* Take and run tasks until none is left or the work stops. */
static void *runTasks(void *pArg){
  MlrecWorker *w = (MlrecWorker*)pArg;
  MlrecParallel *p = w->pPar;
  for(;;){
    i64 iTask;
    int rc;
    if( mlrecWorkerStop(w, 1) ) break;
    if( atomic_load_explicit(&p->rc, memory_order_relaxed)!=SQLITE_OK ) break;
    iTask = atomic_fetch_add(&p->iNext, 1);
    if( iTask>=p->nTask ) break;
    rc = p->xTask(p->pCtx, w, iTask);
    if( rc!=SQLITE_OK ) stopWith(p, rc);
  }
  return 0;
}

int mlrecParallelRun(MlrecInterrupt *pIntr, int nThread, i64 nTask,
                     MlrecTaskFn xTask, void *pCtx){
  MlrecParallel par;
  MlrecWorker aWorker[MLREC_MAX_WORKERS];
  pthread_t aTid[MLREC_MAX_WORKERS];
  int j, nStarted = 1;
  if( nThread<1 ) nThread = 1;
  if( nThread>MLREC_MAX_WORKERS ) nThread = MLREC_MAX_WORKERS;
  if( nThread>nTask ) nThread = nTask>1 ? (int)nTask : 1;
  par.xTask = xTask;
  par.pCtx = pCtx;
  par.nTask = nTask;
  atomic_init(&par.iNext, 0);
  atomic_init(&par.rc, SQLITE_OK);
  memset(aWorker, 0, sizeof(aWorker));
  for(j=0; j<nThread; j++){
    aWorker[j].pPar = &par;
    aWorker[j].iWorker = j;
  }
  /* the calling thread probes; the first check comes at once */
  aWorker[0].pIntr = pIntr;
  aWorker[0].nUnit = PARALLEL_UNITS_PER_CHECK;
  for(j=1; j<nThread; j++){
    if( pthread_create(&aTid[j], 0, runTasks, &aWorker[j]) ) break;
    nStarted++;
  }
  runTasks(&aWorker[0]);
  for(j=1; j<nStarted; j++) pthread_join(aTid[j], 0);
  return atomic_load(&par.rc);
}

/* The number of online processors, at least 1. */
int mlrecOnlineCores(void){
#ifdef _SC_NPROCESSORS_ONLN
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n>1 ? (n<1024 ? (int)n : 1024) : 1;
#else
  return 1;
#endif
}
