// A known GPU load for scripts/gpu-check when PyTorch is missing: a busy FMA kernel for N seconds.
#include <chrono>
#include <cstdio>
#include <cstdlib>

__global__ void spin(float* out, int rounds) {
  float x = threadIdx.x * 0.001f, y = blockIdx.x * 0.002f;
  for (int i = 0; i < rounds; ++i) x = fmaf(x, 1.000001f, y);
  out[blockIdx.x * blockDim.x + threadIdx.x] = x;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 20.0;
  const int blocks = 4096, threads = 256;
  float* out = nullptr;
  cudaMalloc(&out, sizeof(float) * blocks * threads);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int launches = 0;
  while (std::chrono::steady_clock::now() < end) {
    spin<<<blocks, threads>>>(out, 100000);
    cudaDeviceSynchronize();
    ++launches;
  }
  cudaFree(out);
  std::printf("gpu_load: %d launches in %.0f s\n", launches, seconds);
  return 0;
}
