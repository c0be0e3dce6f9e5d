/* A fake libnvidia-ml.so for the tests: the few NVML functions carbonmeter uses, with NVML's C ABI,
 * answering from the scripted state in fake_gpu_state.h. Compiled three times: complete, without
 * nvmlDeviceGetTotalEnergyConsumption (FAKE_NVML_NO_ENERGY) and without nvmlInit_v2
 * (FAKE_NVML_NO_INIT). */
#include <stdio.h>
#include <string.h>

#include "fake_gpu_state.h"

typedef int nvmlReturn_t;
typedef struct fake_device* nvmlDevice_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_GPU_IS_LOST = 15
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
static char handles[2 * FAKE_MAX_GPUS];  /* [FAKE_MAX_GPUS + i]: the MIG instance on GPU i */
#define HANDLE(i) ((nvmlDevice_t)(void*)&handles[i])
#define INDEX_OF(device) ((int)((char*)(void*)(device) - handles))

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

#define GPU_OR_RETURN(device)                   \
  nvmlReturn_t error = NVML_SUCCESS;            \
  const struct fake_gpu* gpu = gpu_of(device, &error); \
  if (!gpu) return error;

#ifndef FAKE_NVML_NO_INIT
nvmlReturn_t nvmlInit_v2(void) { return NVML_SUCCESS; }
#endif
nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }

const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    default: return "Unknown Error";
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

#ifndef FAKE_NVML_NO_ENERGY
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* energy_mj) {
  GPU_OR_RETURN(device);
  if (!gpu->counter) return NVML_ERROR_NOT_SUPPORTED;
  *energy_mj = gpu->energy_mj;
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power_mw) {
  GPU_OR_RETURN(device);
  *power_mw = gpu->power_mw;
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
