"""A known GPU load for scripts/gpu-check: bf16 matrix multiplications on every visible GPU for
the given number of seconds."""
import sys
import time

import torch

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
devices = [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
matrices = [(torch.randn(8192, 8192, device=d, dtype=torch.bfloat16),
             torch.randn(8192, 8192, device=d, dtype=torch.bfloat16)) for d in devices]
end = time.monotonic() + seconds
rounds = 0
while time.monotonic() < end:
    for a, b in matrices:
        torch.matmul(a, b)
    rounds += 1
    if rounds % 20 == 0:
        torch.cuda.synchronize()
torch.cuda.synchronize()
print(f"gpu_load: {rounds} rounds of 8192x8192 bf16 matmul on {len(devices)} GPU(s) in {seconds:.0f} s")
