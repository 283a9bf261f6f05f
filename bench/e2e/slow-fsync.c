/*
 * LD_PRELOAD shim for the e2e bench's "slower storage" rows: every fsync and
 * fdatasync of the process returns SYNCMUX_BENCH_FSYNC_DELAY_US microseconds
 * later than the disk did. Loaded into the replica's sync_server only, it
 * emulates a disk whose flushes are slower than this VM's, such as the one
 * the lab's stock baseline was recorded on. Concurrent flushes overlap, as
 * they do on a disk with a journal (group commit) or on network storage.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long delay_us(void) {
  static long delay = -1;
  if (delay < 0) {
    const char *value = getenv("SYNCMUX_BENCH_FSYNC_DELAY_US");
    delay = value ? atol(value) : 0;
  }
  return delay;
}

static void wait_delay(void) {
  long d = delay_us();
  if (d <= 0) return;
  struct timespec ts = { d / 1000000, (d % 1000000) * 1000 };
  while (nanosleep(&ts, &ts) != 0) {}
}

/* Calls the libc function `name` on fd, then waits: the one body of both wrappers. */
static int delayed(const char *name, int (**real)(int), int fd) {
  if (!*real) *real = (int (*)(int))dlsym(RTLD_NEXT, name);
  int r = (*real)(fd);
  wait_delay();
  return r;
}

int fsync(int fd) {
  static int (*real)(int);
  return delayed("fsync", &real, fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  return delayed("fdatasync", &real, fd);
}
