/* A fake librocm_smi64.so for the tests: the ROCm SMI functions carbonmeter uses, answering from
 * the scripted state in fake_gpu_state.h (energy_mj, power_mw, counter=0 for no energy counter). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fake_gpu_state.h"

typedef int rsmi_status_t;
enum { RSMI_STATUS_SUCCESS = 0, RSMI_STATUS_INVALID_ARGS = 1, RSMI_STATUS_NOT_SUPPORTED = 2 };
static const float kResolutionUj = 15.259f;

static const struct fake_gpu* gpu_at(uint32_t index) {
  const struct fake_state* state = fake_state_get();
  if (index >= (uint32_t)state->gpus || state->gpu[index].lost) return NULL;
  return &state->gpu[index];
}

rsmi_status_t rsmi_init(uint64_t flags) {
  (void)flags;
  return RSMI_STATUS_SUCCESS;
}
rsmi_status_t rsmi_shut_down(void) { return RSMI_STATUS_SUCCESS; }

rsmi_status_t rsmi_status_string(rsmi_status_t status, const char** text) {
  *text = status == RSMI_STATUS_SUCCESS ? "RSMI_STATUS_SUCCESS"
          : status == RSMI_STATUS_NOT_SUPPORTED ? "RSMI_STATUS_NOT_SUPPORTED"
                                                : "RSMI_STATUS_INVALID_ARGS";
  return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_num_monitor_devices(uint32_t* count) {
  *count = (uint32_t)fake_state_get()->gpus;
  return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_name_get(uint32_t index, char* name, size_t length) {
  const struct fake_gpu* gpu = gpu_at(index);
  if (!gpu) return RSMI_STATUS_INVALID_ARGS;
  snprintf(name, length, "%s", gpu->name);
  return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_unique_id_get(uint32_t index, uint64_t* id) {
  const struct fake_gpu* gpu = gpu_at(index);
  if (!gpu) return RSMI_STATUS_INVALID_ARGS;
  *id = 0xA1D0000 + index;
  return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_energy_count_get(uint32_t index, uint64_t* counter, float* resolution, uint64_t* timestamp) {
  const struct fake_gpu* gpu = gpu_at(index);
  if (!gpu) return RSMI_STATUS_INVALID_ARGS;
  if (!gpu->counter) return RSMI_STATUS_NOT_SUPPORTED;
  *counter = (uint64_t)((double)gpu->energy_mj * 1000.0 / kResolutionUj);
  if (resolution) *resolution = kResolutionUj;
  *timestamp = 0;
  return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_power_ave_get(uint32_t index, uint32_t sensor, uint64_t* power_uw) {
  (void)sensor;
  const struct fake_gpu* gpu = gpu_at(index);
  if (!gpu) return RSMI_STATUS_INVALID_ARGS;
  *power_uw = (uint64_t)gpu->power_mw * 1000u;
  return RSMI_STATUS_SUCCESS;
}
