"""Prints {uuid: total energy in mJ} for every NVIDIA GPU, read through NVML with ctypes (an
independent reader for scripts/gpu-check; it changes nothing)."""
import ctypes
import json

nvml = ctypes.CDLL("libnvidia-ml.so.1")
assert nvml.nvmlInit_v2() == 0, "nvmlInit failed"
count = ctypes.c_uint()
nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
energies = {}
for i in range(count.value):
    handle = ctypes.c_void_p()
    nvml.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(handle))
    uuid = ctypes.create_string_buffer(96)
    nvml.nvmlDeviceGetUUID(handle, uuid, 96)
    energy = ctypes.c_ulonglong()
    if nvml.nvmlDeviceGetTotalEnergyConsumption(handle, ctypes.byref(energy)) == 0:
        energies[uuid.value.decode()] = energy.value
nvml.nvmlShutdown()
print(json.dumps(energies))
