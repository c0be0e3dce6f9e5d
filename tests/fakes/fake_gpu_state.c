#include "fake_gpu_state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct fake_state state;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
/* Each calling thread gets its own copy: the sampler and power-polling threads call at once. */
static __thread struct fake_state thread_copy;
static struct timespec loaded_mtime;
static off_t loaded_size = -1;
static ino_t loaded_inode;

static void parse_gpu(char* line, struct fake_gpu* gpu) {
  memset(gpu, 0, sizeof *gpu);
  gpu->counter = 1;
  gpu->procutil = 1;
  gpu->perm = 1;
  strcpy(gpu->name, "Fake GPU");
  char* name = strstr(line, "name=");
  if (name) {
    *name = '\0';
    snprintf(gpu->name, sizeof gpu->name, "%s", name + 5);
    gpu->name[strcspn(gpu->name, "\n")] = '\0';
  }
  for (char* token = strtok(line, " \n"); token; token = strtok(NULL, " \n")) {
    if (sscanf(token, "index=%u", &gpu->index) == 1) continue;
    if (sscanf(token, "uuid=%95s", gpu->uuid) == 1) continue;
    if (sscanf(token, "mig_uuid=%95s", gpu->mig_uuid) == 1) continue;
    if (sscanf(token, "energy_mj=%llu", &gpu->energy_mj) == 1) continue;
    if (sscanf(token, "power_mw=%u", &gpu->power_mw) == 1) continue;
    if (sscanf(token, "counter=%d", &gpu->counter) == 1) continue;
    if (sscanf(token, "mig=%d", &gpu->mig) == 1) continue;
    if (sscanf(token, "lost=%d", &gpu->lost) == 1) continue;
    if (sscanf(token, "min_limit_mw=%u", &gpu->min_limit_mw) == 1) continue;
    if (sscanf(token, "max_limit_mw=%u", &gpu->max_limit_mw) == 1) continue;
    if (sscanf(token, "default_limit_mw=%u", &gpu->default_limit_mw) == 1) continue;
    if (sscanf(token, "limit_mw=%u", &gpu->limit_mw) == 1) continue;
    if (sscanf(token, "demand_mw=%u", &gpu->demand_mw) == 1) continue;
    if (sscanf(token, "perm=%d", &gpu->perm) == 1) continue;
    sscanf(token, "procutil=%d", &gpu->procutil);
  }
}

static void reload_locked(void);

const struct fake_state* fake_state_get(void) {
  pthread_mutex_lock(&state_lock);
  reload_locked();
  thread_copy = state;
  pthread_mutex_unlock(&state_lock);
  return &thread_copy;
}

static void reload_locked(void) {
  const char* path = getenv("CARBONMETER_FAKE_GPU_STATE");
  struct stat info;
  if (!path || stat(path, &info) != 0) {
    memset(&state, 0, sizeof state);
    loaded_size = -1;
    return;
  }
  if (info.st_size == loaded_size && info.st_ino == loaded_inode &&
      info.st_mtim.tv_sec == loaded_mtime.tv_sec && info.st_mtim.tv_nsec == loaded_mtime.tv_nsec)
    return;
  FILE* file = fopen(path, "r");
  if (!file) return;
  struct fake_state next;
  memset(&next, 0, sizeof next);
  char line[512];
  while (fgets(line, sizeof line, file)) {
    if (strncmp(line, "gpu ", 4) == 0 && next.gpus < FAKE_MAX_GPUS) {
      parse_gpu(line + 4, &next.gpu[next.gpus++]);
    } else if (strncmp(line, "proc ", 5) == 0 && next.procs < FAKE_MAX_PROCS) {
      struct fake_proc* proc = &next.proc[next.procs];
      if (sscanf(line + 5, "gpu=%u pid=%u sm=%u", &proc->gpu, &proc->pid, &proc->sm) == 3) ++next.procs;
    }
  }
  fclose(file);
  state = next;
  loaded_mtime = info.st_mtim;
  loaded_size = info.st_size;
  loaded_inode = info.st_ino;
  return;
}

static void limits_path(char* out, size_t size) {
  const char* path = getenv("CARBONMETER_FAKE_GPU_STATE");
  snprintf(out, size, "%s.limits", path ? path : "/nonexistent");
}

/* Reads STATE.limits into limits[] (0 where a GPU has no line). */
static void read_limits(unsigned limits[FAKE_MAX_GPUS]) {
  memset(limits, 0, sizeof(unsigned) * FAKE_MAX_GPUS);
  char path[4096];
  limits_path(path, sizeof path);
  FILE* file = fopen(path, "r");
  if (!file) return;
  int index;
  unsigned limit;
  while (fscanf(file, "%d %u", &index, &limit) == 2)
    if (index >= 0 && index < FAKE_MAX_GPUS) limits[index] = limit;
  fclose(file);
}

unsigned fake_power_limit_mw(int i) {
  unsigned limits[FAKE_MAX_GPUS];
  read_limits(limits);
  const struct fake_state* state = fake_state_get();
  if (i < 0 || i >= state->gpus) return 0;
  if (limits[i]) return limits[i];
  return state->gpu[i].limit_mw ? state->gpu[i].limit_mw : state->gpu[i].max_limit_mw;
}

int fake_set_power_limit_mw(int i, unsigned limit_mw) {
  pthread_mutex_lock(&state_lock);
  unsigned limits[FAKE_MAX_GPUS];
  read_limits(limits);
  if (i >= 0 && i < FAKE_MAX_GPUS) limits[i] = limit_mw;
  char path[4096], temporary[4200];
  limits_path(path, sizeof path);
  snprintf(temporary, sizeof temporary, "%s.%d.tmp", path, (int)getpid());
  FILE* file = fopen(temporary, "w");
  int failed = file == NULL;
  if (file) {
    for (int k = 0; k < FAKE_MAX_GPUS; ++k)
      if (limits[k]) fprintf(file, "%d %u\n", k, limits[k]);
    failed = fclose(file) != 0 || rename(temporary, path) != 0;
  }
  pthread_mutex_unlock(&state_lock);
  return failed;
}
