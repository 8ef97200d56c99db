/*
 * Diagnosis only (docs/benchmarks.md, "Sixth round: archive memory (archmem3)"); not part of any
 * image. Which allocations make glibc's main heap (brk) grow: interposes malloc, calloc, realloc
 * and the aligned forms; after each, if the program break moved, records the request's size, how
 * far the break moved and a backtrace; writes them to $BENCH_MALLOC_PROBE/<pid>.growth every 5 s
 * and at exit. Symbolise the node frames with `addr2line -f -C -e $(which node) <address - 1>`.
 *
 *   gcc -O1 -shared -fPIC -o /tmp/heap-growth.so bench/malloc-probe/heap-growth.c -lpthread
 *   LD_PRELOAD=/tmp/heap-growth.so BENCH_MALLOC_PROBE=<dir> npm run bench:gateway -- ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
extern void *__libc_malloc(size_t); extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t); extern void *__libc_memalign(size_t, size_t);
#define MAXEV 20000
struct ev { size_t req; long grew; int depth; void *bt[10]; double t; };
static struct ev evs[MAXEV]; static int nev; static char *last;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; static __thread int inside;
#include <time.h>
static double t0;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void note(size_t req) {
  char *cur = sbrk(0);
  if (cur <= last || inside) return;
  inside = 1;
  pthread_mutex_lock(&mu);
  if (cur > last) {
    if (last && nev < MAXEV) { struct ev *e = &evs[nev++]; e->req = req; e->grew = cur - last; e->t = now() - t0; e->depth = backtrace(e->bt, 10); }
    last = cur;
  }
  pthread_mutex_unlock(&mu);
  inside = 0;
}
void *malloc(size_t n) { void *p = __libc_malloc(n); note(n); return p; }
void *calloc(size_t a, size_t b) { void *p = __libc_calloc(a, b); note(a * b); return p; }
void *realloc(void *q, size_t n) { void *p = __libc_realloc(q, n); note(n); return p; }
int posix_memalign(void **r, size_t al, size_t n) { *r = __libc_memalign(al, n); note(n); return *r ? 0 : 12; }
void *aligned_alloc(size_t al, size_t n) { void *p = __libc_memalign(al, n); note(n); return p; }
void *memalign(size_t al, size_t n) { void *p = __libc_memalign(al, n); note(n); return p; }
static void dump(void) {
  const char *d = getenv("BENCH_MALLOC_PROBE"); if (!d) return; char out[512]; snprintf(out, sizeof out, "%s/%d.growth", d, getpid());
  inside = 1;
  FILE *o = fopen(out, "w"); if (!o) { inside = 0; return; }
  pthread_mutex_lock(&mu);
  int n = nev;
  for (int i = 0; i < n; i++) {
    fprintf(o, "%.3f req %zu grew %ld :", evs[i].t, evs[i].req, evs[i].grew);
    for (int j = 1; j < evs[i].depth; j++) fprintf(o, " %p", evs[i].bt[j]);
    fprintf(o, "\n");
  }
  pthread_mutex_unlock(&mu);
  fclose(o); inside = 0;
}
static void *loop(void *a) { (void)a; for (;;) { sleep(5); dump(); } return NULL; }
__attribute__((constructor)) static void start(void) {
  t0 = now(); last = sbrk(0);
  inside = 1; void *bt[2]; backtrace(bt, 2); inside = 0;
  pthread_t t; pthread_create(&t, NULL, loop, NULL); pthread_detach(t);
  atexit(dump);
}
