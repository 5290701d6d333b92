/*
** linalg.c: the small dense linear algebra the models need: solving the
** symmetric positive definite systems of alternating least squares and of
** folding a user into a trained model,
**
**     (A) x = b     with A = Y'CY + lambda I  (n x n, n = the factors)
**
** by Cholesky factorisation.  Matrices are row-major arrays of doubles; only
** the lower triangle of A is read.  n is at most a few hundred, so the
** plain triple loop is fast enough and exact to rounding.
*/
#include "core.h"
#include <math.h>

/*
** Replace the lower triangle of the n x n matrix A by its Cholesky factor
** L (A = L L').  Returns SQLITE_OK, or SQLITE_ERROR if A is not positive
** definite (which a ridge term lambda > 0 rules out).
*/
int mlrecCholesky(double *A, int n){
  int i, j, k;
  for(j=0; j<n; j++){
    double *aj = A + (i64)j*n;
    double d = aj[j];
    for(k=0; k<j; k++) d -= aj[k]*aj[k];
    if( !(d>0.0) ) return SQLITE_ERROR;
    d = sqrt(d);
    aj[j] = d;
    for(i=j+1; i<n; i++){
      double *ai = A + (i64)i*n;
      double s = ai[j];
      for(k=0; k<j; k++) s -= ai[k]*aj[k];
      ai[j] = s/d;
    }
  }
  return SQLITE_OK;
}

/* Solve L L' x = b in place (b becomes x), L from mlrecCholesky(). */
void mlrecCholeskySolve(const double *L, int n, double *b){
  int i, k;
  for(i=0; i<n; i++){
    const double *li = L + (i64)i*n;
    double s = b[i];
    for(k=0; k<i; k++) s -= li[k]*b[k];
    b[i] = s/li[i];
  }
  for(i=n-1; i>=0; i--){
    double s = b[i];
    for(k=i+1; k<n; k++) s -= L[(i64)k*n+i]*b[k];
    b[i] = s/L[(i64)i*n+i];
  }
}

/* A += w y y' on the lower triangle; y has n floats. */
void mlrecAddOuter(double *A, int n, double w, const float *y){
  int i, k;
  for(i=0; i<n; i++){
    double wy = w*y[i];
    double *ai = A + (i64)i*n;
    for(k=0; k<=i; k++) ai[k] += wy*y[k];
  }
}
