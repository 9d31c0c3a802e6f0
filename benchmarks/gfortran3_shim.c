/* The five libgfortran.so.3 (GFORTRAN_1.0) entry points that the prebuilt glmnet
   Fortran library shipped in the glmnet_py wheel needs, for gfortran's pre-8 array
   descriptor (base, offset, dtype = rank | type << 3 | size << 6, then per dimension
   stride, lbound, ubound). Built by benchmarks/glmnet_fortran.py; benchmarks only. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

typedef struct { ptrdiff_t stride, lbound, ubound; } dim_t;
typedef struct { char *base; size_t offset; ptrdiff_t dtype; dim_t dim[7]; } desc_t;

static int shape(const desc_t *d, ptrdiff_t *ext, size_t *n) {
  int rank = (int)(d->dtype & 7);
  *n = 1;
  for (int i = 0; i < rank; i++) {
    ptrdiff_t e = d->dim[i].ubound - d->dim[i].lbound + 1;
    ext[i] = e < 0 ? 0 : e;
    *n *= (size_t)ext[i];
  }
  return rank;
}

static int contiguous(const desc_t *d, const ptrdiff_t *ext, int rank) {
  ptrdiff_t want = 1;
  for (int i = 0; i < rank; i++) {
    if (ext[i] > 1 && d->dim[i].stride != want) return 0;
    want *= ext[i];
  }
  return 1;
}

static void walk(desc_t *d, char *packed, int to_packed) {
  ptrdiff_t ext[7], idx[7] = {0};
  size_t n, size = (size_t)(d->dtype >> 6);
  int rank = shape(d, ext, &n);
  for (size_t k = 0; k < n; k++) {
    ptrdiff_t off = 0;
    for (int i = 0; i < rank; i++) off += idx[i] * d->dim[i].stride;
    char *src = d->base + off * (ptrdiff_t)size;
    if (to_packed) memcpy(packed + k * size, src, size);
    else memcpy(src, packed + k * size, size);
    for (int i = 0; i < rank; i++) { if (++idx[i] < ext[i]) break; idx[i] = 0; }
  }
}

void *_gfortran_internal_pack(desc_t *d) {
  ptrdiff_t ext[7]; size_t n;
  int rank = shape(d, ext, &n);
  if (n == 0 || contiguous(d, ext, rank)) return d->base;
  char *packed = malloc(n * (size_t)(d->dtype >> 6));
  if (!packed) { fputs("internal_pack: out of memory\n", stderr); abort(); }
  walk(d, packed, 1);
  return packed;
}

void _gfortran_internal_unpack(desc_t *d, void *packed) {
  if (packed == (void *)d->base) return;
  walk(d, packed, 0);
}

void _gfortran_os_error(const char *msg) { fprintf(stderr, "glmnet: %s\n", msg); abort(); }

void _gfortran_runtime_error(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt); vfprintf(stderr, fmt, ap); va_end(ap); abort();
}

void _gfortran_runtime_error_at(const char *where, const char *fmt, ...) {
  va_list ap; fprintf(stderr, "%s: ", where); va_start(ap, fmt); vfprintf(stderr, fmt, ap);
  va_end(ap); abort();
}
