/*
 * Diagnosis only (docs/benchmarks.md, "Sixth round: archive memory (archmem3)"); not part of any
 * image. Preloaded into a process under test of bench/audio-gateway.ts:
 *
 *   gcc -O1 -shared -fPIC -o /tmp/malloc-probe.so bench/malloc-probe/malloc-probe.c -lpthread
 *   LD_PRELOAD=/tmp/malloc-probe.so BENCH_MALLOC_PROBE=<dir> BENCH_MEM_DETAIL=1 npm run bench:gateway -- ...
 *
 * - When <dir>/<pid>.go appears (bench/audio-gateway-target.ts writes it after its report), appends
 *   glibc's mallinfo2() and malloc_info() and what malloc_trim(0) gives back to <dir>/<pid>.out,
 *   then removes the .go file.
 * - MALLOC_PROBE_TRIM_MS=<n>: a thread calls malloc_trim(0) every n ms and writes how long the
 *   calls took to <dir>/<pid>.trim.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, strlen(field))) v = atol(line + strlen(field));
  fclose(f);
  return v;
}

/* RSS of the [heap] mapping (glibc's main arena, grown with brk). */
static long heap_rss_kb(void) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  long v = 0;
  int in_heap = 0;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long start, end;
    char c;
    if (sscanf(line, "%lx-%lx %c", &start, &end, &c) == 3) in_heap = strstr(line, "[heap]") != NULL;
    else if (in_heap && !strncmp(line, "Rss:", 4)) v += atol(line + 4);
  }
  fclose(f);
  return v;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *watch(void *arg) {
  (void)arg;
  char go[512], out[512];
  snprintf(go, sizeof go, "%s/%d.go", dir, getpid());
  snprintf(out, sizeof out, "%s/%d.out", dir, getpid());
  for (;;) {
    usleep(20000);
    if (access(go, F_OK) != 0) continue;
    FILE *o = fopen(out, "a");
    if (!o) continue;
    struct mallinfo2 mi = mallinfo2();
    long anon0 = status_kb("RssAnon:"), heap0 = heap_rss_kb();
    fprintf(o,
            "before trim: RssAnon %ld kB, [heap] rss %ld kB; from the system (non-mmapped) %zu, in use %zu, "
            "free %zu, top's trimmable %zu, mmapped %zu in %zu chunks\n",
            anon0, heap0, mi.arena, mi.uordblks, mi.fordblks, mi.keepcost, mi.hblkhd, mi.hblks);
    malloc_info(0, o);
    fflush(o);
    double t0 = now_ms();
    int released = malloc_trim(0);
    double took = now_ms() - t0;
    long anon1 = status_kb("RssAnon:"), heap1 = heap_rss_kb();
    fprintf(o, "after trim (%d, %.2f ms): RssAnon %ld kB (-%ld), [heap] rss %ld kB (-%ld)\n", released, took,
            anon1, anon0 - anon1, heap1, heap0 - heap1);
    fclose(o);
    unlink(go);
  }
  return NULL;
}

static void *trim_every(void *arg) {
  long every = (long)arg, n = 0;
  double total = 0, max = 0;
  char out[512];
  snprintf(out, sizeof out, "%s/%d.trim", dir, getpid());
  for (;;) {
    usleep(every * 1000);
    double t0 = now_ms();
    malloc_trim(0);
    double took = now_ms() - t0;
    total += took;
    if (took > max) max = took;
    if (++n % 5 == 0) {
      FILE *o = fopen(out, "w");
      if (o) {
        fprintf(o, "trims %ld total %.1f ms max %.2f ms\n", n, total, max);
        fclose(o);
      }
    }
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  dir = getenv("BENCH_MALLOC_PROBE");
  if (!dir) return;
  pthread_t t;
  if (pthread_create(&t, NULL, watch, NULL) == 0) pthread_detach(t);
  const char *every = getenv("MALLOC_PROBE_TRIM_MS");
  if (every && atol(every) > 0 && pthread_create(&t, NULL, trim_every, (void *)atol(every)) == 0) pthread_detach(t);
}
