/* A fake libnvidia-ml.so for the tests: the few NVML functions carbonmeter uses, with NVML's C ABI,
 * answering from the scripted state in fake_gpu_state.h. Compiled three times: complete, without
 * nvmlDeviceGetTotalEnergyConsumption (FAKE_NVML_NO_ENERGY) and without nvmlInit_v2
 * (FAKE_NVML_NO_INIT). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fake_gpu_state.h"

typedef int nvmlReturn_t;
typedef struct fake_device* nvmlDevice_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_UNKNOWN = 999
};

typedef struct {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

/* A handle is a pointer into this table: handle i stands for the i-th GPU line. */
static char handles[2 * FAKE_MAX_GPUS]; /* [FAKE_MAX_GPUS + i]: the MIG instance on GPU i */
#define HANDLE(i) ((nvmlDevice_t)(void*)&handles[i])
#define INDEX_OF(device) ((int)((char*)(void*)(device)-handles))

static const struct fake_gpu* gpu_of(nvmlDevice_t device, nvmlReturn_t* error) {
  const struct fake_state* state = fake_state_get();
  int i = INDEX_OF(device);
  if (i < 0 || i >= state->gpus) {
    *error = NVML_ERROR_INVALID_ARGUMENT;
    return NULL;
  }
  if (state->gpu[i].lost) {
    *error = NVML_ERROR_GPU_IS_LOST;
    return NULL;
  }
  return &state->gpu[i];
}

#define GPU_OR_RETURN(device)                          \
  nvmlReturn_t error = NVML_SUCCESS;                   \
  const struct fake_gpu* gpu = gpu_of(device, &error); \
  if (!gpu) return error;

#ifndef FAKE_NVML_NO_INIT
nvmlReturn_t nvmlInit_v2(void) { return NVML_SUCCESS; }
#endif
nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }

const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    case NVML_ERROR_NOT_FOUND:
      return "Not Found";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    default:
      return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = (unsigned)fake_state_get()->gpus;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  const struct fake_state* state = fake_state_get();
  for (int i = 0; i < state->gpus; ++i)
    if (state->gpu[i].index == index) {
      *device = HANDLE(i);
      return NVML_SUCCESS;
    }
  return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  const struct fake_state* state = fake_state_get();
  for (int i = 0; i < state->gpus; ++i) {
    if (strcmp(state->gpu[i].uuid, uuid) == 0) {
      *device = HANDLE(i);
      return NVML_SUCCESS;
    }
    if (state->gpu[i].mig_uuid[0] && strcmp(state->gpu[i].mig_uuid, uuid) == 0) {
      *device = HANDLE(FAKE_MAX_GPUS + i);
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig, nvmlDevice_t* device) {
  int i = INDEX_OF(mig) - FAKE_MAX_GPUS;
  if (i < 0 || i >= fake_state_get()->gpus) return NVML_ERROR_INVALID_ARGUMENT;
  *device = HANDLE(i);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  GPU_OR_RETURN(device);
  *index = gpu->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  GPU_OR_RETURN(device);
  snprintf(name, length, "%s", gpu->name);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  GPU_OR_RETURN(device);
  snprintf(uuid, length, "%s", gpu->uuid);
  return NVML_SUCCESS;
}

/* The power-limit model (demand_mw=): the power drawn at the current limit, and the energy it
 * adds up over real time in this process. */
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
static double model_energy_mj[FAKE_MAX_GPUS];
static double model_last_s[FAKE_MAX_GPUS];
static unsigned model_last_power_mw[FAKE_MAX_GPUS];

static unsigned drawn_power_mw(int i, const struct fake_gpu* gpu) {
  if (!gpu->demand_mw) return gpu->power_mw;
  unsigned limit = fake_power_limit_mw(i);
  return limit && limit < gpu->demand_mw ? limit : gpu->demand_mw;
}

static double now_s(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* Adds the energy drawn since the last call, then notes the power drawn from now on. */
static void advance_model(int i, const struct fake_gpu* gpu) {
  pthread_mutex_lock(&model_lock);
  double now = now_s();
  if (model_last_s[i] > 0) model_energy_mj[i] += model_last_power_mw[i] * (now - model_last_s[i]);
  model_last_s[i] = now;
  model_last_power_mw[i] = drawn_power_mw(i, gpu);
  pthread_mutex_unlock(&model_lock);
}

#ifndef FAKE_NVML_NO_ENERGY
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* energy_mj) {
  GPU_OR_RETURN(device);
  if (!gpu->counter) return NVML_ERROR_NOT_SUPPORTED;
  *energy_mj = gpu->energy_mj;
  if (gpu->demand_mw) {
    int i = INDEX_OF(device);
    advance_model(i, gpu);
    pthread_mutex_lock(&model_lock);
    *energy_mj += (unsigned long long)model_energy_mj[i];
    pthread_mutex_unlock(&model_lock);
  }
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power_mw) {
  GPU_OR_RETURN(device);
  *power_mw = drawn_power_mw(INDEX_OF(device), gpu);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t device, unsigned int* min_mw,
                                                          unsigned int* max_mw) {
  GPU_OR_RETURN(device);
  if (!gpu->max_limit_mw) return NVML_ERROR_NOT_SUPPORTED;
  *min_mw = gpu->min_limit_mw;
  *max_mw = gpu->max_limit_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t device, unsigned int* limit_mw) {
  GPU_OR_RETURN(device);
  if (!gpu->max_limit_mw) return NVML_ERROR_NOT_SUPPORTED;
  *limit_mw = gpu->default_limit_mw ? gpu->default_limit_mw : gpu->max_limit_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* limit_mw) {
  GPU_OR_RETURN(device);
  if (!gpu->max_limit_mw) return NVML_ERROR_NOT_SUPPORTED;
  *limit_mw = fake_power_limit_mw(INDEX_OF(device));
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceSetPowerManagementLimit(nvmlDevice_t device, unsigned int limit_mw) {
  GPU_OR_RETURN(device);
  if (!gpu->max_limit_mw) return NVML_ERROR_NOT_SUPPORTED;
  if (!gpu->perm) return NVML_ERROR_NO_PERMISSION;
  if (limit_mw < gpu->min_limit_mw || limit_mw > gpu->max_limit_mw) return NVML_ERROR_INVALID_ARGUMENT;
  int i = INDEX_OF(device);
  if (gpu->demand_mw) advance_model(i, gpu);
  if (fake_set_power_limit_mw(i, limit_mw) != 0) return NVML_ERROR_UNKNOWN;
  if (gpu->demand_mw) advance_model(i, gpu);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  GPU_OR_RETURN(device);
  *current = *pending = (unsigned)gpu->mig;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  GPU_OR_RETURN(device);
  const struct fake_state* state = fake_state_get();
  unsigned n = 0;
  for (int i = 0; i < state->procs; ++i)
    if (state->proc[i].gpu == gpu->index) {
      if (infos && n < *count) {
        memset(&infos[n], 0, sizeof infos[n]);
        infos[n].pid = state->proc[i].pid;
      }
      ++n;
    }
  if (!infos || n > *count) {
    *count = n;
    return n == 0 && !infos ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
  }
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t* samples,
                                             unsigned int* count, unsigned long long last_seen) {
  (void)last_seen;
  GPU_OR_RETURN(device);
  if (!gpu->procutil) return NVML_ERROR_NOT_SUPPORTED;
  const struct fake_state* state = fake_state_get();
  unsigned n = 0;
  for (int i = 0; i < state->procs; ++i)
    if (state->proc[i].gpu == gpu->index) {
      if (samples && n < *count) {
        memset(&samples[n], 0, sizeof samples[n]);
        samples[n].pid = state->proc[i].pid;
        samples[n].smUtil = state->proc[i].sm;
        samples[n].timeStamp = 1;
      }
      ++n;
    }
  if (n == 0) return NVML_ERROR_NOT_FOUND;
  if (!samples || n > *count) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  *count = n;
  return NVML_SUCCESS;
}
