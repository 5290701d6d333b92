/*
** topk.c: selection of the k best of many scored movies, in O(n log k).
**
** Hits are ordered by key, larger first, and on equal keys by movie index,
** smaller first (a smaller index is a smaller movieId).  The selection is a
** binary heap whose root is the worst hit kept, so a candidate that cannot
** make the list is rejected with one comparison.
*/
#include "core.h"
#include <stdlib.h>
#include <string.h>

/* True if hit a ranks below hit b. */
static int hitWorse(const MlrecHit *a, const MlrecHit *b){
  return a->key<b->key || (a->key==b->key && a->idx>b->idx);
}

int mlrecTopKInit(MlrecTopK *p, int k){
  memset(p, 0, sizeof(*p));
  p->k = k;
  if( k>0 ){
    p->a = sqlite3_malloc64(sizeof(MlrecHit)*(i64)k);
    if( p->a==0 ) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

void mlrecTopKFree(MlrecTopK *p){
  sqlite3_free(p->a);
  memset(p, 0, sizeof(*p));
}

/* True if a hit (key, idx) would not enter the full selection. */
int mlrecTopKWorse(const MlrecTopK *p, double key, int idx){
  MlrecHit h;
  if( p->n<p->k ) return 0;
  if( p->k==0 ) return 1;
  h.key = key;
  h.idx = idx;
  return hitWorse(&h, &p->a[0]);
}

static void siftDown(MlrecHit *a, int n, int i){
  for(;;){
    int l = 2*i+1, r = l+1, w = i;
    MlrecHit t;
    if( l<n && hitWorse(&a[l], &a[w]) ) w = l;
    if( r<n && hitWorse(&a[r], &a[w]) ) w = r;
    if( w==i ) return;
    t = a[i]; a[i] = a[w]; a[w] = t;
    i = w;
  }
}

void mlrecTopKPush(MlrecTopK *p, double key, double score, int idx){
  MlrecHit h;
  int i;
  if( mlrecTopKWorse(p, key, idx) ) return;
  h.key = key;
  h.score = score;
  h.idx = idx;
  if( p->n==p->k ){
    p->a[0] = h;
    siftDown(p->a, p->n, 0);
    return;
  }
  i = p->n++;
  while( i>0 && hitWorse(&h, &p->a[(i-1)/2]) ){
    p->a[i] = p->a[(i-1)/2];
    i = (i-1)/2;
  }
  p->a[i] = h;
}

static int cmpHitBestFirst(const void *a, const void *b){
  const MlrecHit *x = (const MlrecHit*)a, *y = (const MlrecHit*)b;
  return hitWorse(y, x) ? -1 : hitWorse(x, y) ? 1 : 0;
}

/*
** Order the hits best first; the heap property is gone afterwards.  A few
** hits (the usual k) are sorted by insertion: a sweep sorts one list per
** movie, and qsort() costs more than the sort itself there.
*/
void mlrecTopKSort(MlrecTopK *p){
  int i, j;
  if( p->n>16 ){
    qsort(p->a, p->n, sizeof(MlrecHit), cmpHitBestFirst);
    return;
  }
  for(i=1; i<p->n; i++){
    MlrecHit h = p->a[i];
    for(j=i; j>0 && hitWorse(&p->a[j-1], &h); j--) p->a[j] = p->a[j-1];
    p->a[j] = h;
  }
}
