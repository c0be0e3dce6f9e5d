"""carbonmeter.PowerLimitOptimizer against the fake NVML library's power-limit model: the GPU
draws min(limit, 280 W) and each step here takes longer at lower limits, so the optimum is known."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import carbonmeter

FAKE_NVML = os.environ.get("CARBONMETER_TEST_FAKE_NVML")
pytestmark = pytest.mark.skipif(not FAKE_NVML, reason="CARBONMETER_TEST_FAKE_NVML is not set (run through ctest)")

# Relative step time per limit; energy (P x t): 280, 250, 200, 180, 300. eta 0.5 (0.5 E + 150 t):
# 290, 275, 250, 270, 600 -> 200 W; max slowdown 1.3 -> 150 W (the least energy within 1.3 x).
TIME_FACTOR = {300: 1.0, 250: 1.0, 200: 1.0, 150: 1.2, 100: 3.0}
BASE_STEP_S = 0.025


class FakeGpu:
    def __init__(self, folder: pathlib.Path, permission: bool = True, limit_mw: int = 270000):
        self.state = folder / "state"
        self.state.write_text(
            f"gpu index=0 uuid=GPU-0 energy_mj=1000 power_mw=100000 min_limit_mw=100000 max_limit_mw=300000 "
            f"default_limit_mw=300000 limit_mw={limit_mw} perm={int(permission)} demand_mw=280000 name=Fake H100\n"
        )

    @property
    def limits(self) -> pathlib.Path:
        return pathlib.Path(str(self.state) + ".limits")

    def limit_w(self, original_w: float = 270.0) -> float:
        if not self.limits.exists():
            return original_w
        for line in self.limits.read_text().split("\n"):
            if line.startswith("0 "):
                return int(line.split()[1]) / 1000
        return original_w


@pytest.fixture
def fake_gpu(tmp_path, monkeypatch):
    gpu = FakeGpu(tmp_path)
    monkeypatch.setenv("CARBONMETER_NVML_LIBRARY", FAKE_NVML)
    monkeypatch.setenv("CARBONMETER_FAKE_GPU_STATE", str(gpu.state))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return gpu


def train(optimizer, gpu, max_steps=200):
    for _ in range(max_steps):
        if optimizer.state == "done":
            return
        optimizer.on_step_begin()
        limit_w = gpu.limit_w()
        time.sleep(BASE_STEP_S * TIME_FACTOR[max(w for w in TIME_FACTOR if w <= limit_w)])
        optimizer.on_step_end()


def test_profiles_applies_the_optimum_saves_the_profile_and_restores(fake_gpu, tmp_path):
    profile = tmp_path / "profile.json"
    lines = []
    with carbonmeter.PowerLimitOptimizer(
        eta=0.5, step_w=50, warmup_steps=2, profile_steps=8, profile_path=str(profile), log=lines.append
    ) as optimizer:
        assert optimizer.power_limits_w == [300, 250, 200, 150, 100]
        train(optimizer, fake_gpu)
        assert optimizer.state == "done"
        # The C++ tests check the optimum itself (run alone); here, that the binding applies it.
        assert optimizer.optimal_power_limit_w in (250, 200, 150)
        assert fake_gpu.limit_w() == optimizer.optimal_power_limit_w
        assert [m["power_limit"] for m in optimizer.measurements] == [300, 250, 200, 150, 100]
        for m in optimizer.measurements:
            assert m["energy"] / m["time"] == pytest.approx(min(m["power_limit"], 280), rel=0.1)
    assert fake_gpu.limit_w() == 270  # restored at the end of the block
    assert any("profile written" in line for line in lines)
    import json

    saved = json.loads(profile.read_text())
    assert [m["power_limit"] for m in saved["measurements"]] == [300, 250, 200, 150, 100]
    # Reused: no profiling, another objective chosen from it at once.
    with carbonmeter.PowerLimitOptimizer(objective="energy", profile_path=str(profile), log=lines.append) as reused:
        assert reused.state == "done"
        least_energy = min(saved["measurements"], key=lambda m: m["energy"])["power_limit"]
        assert reused.optimal_power_limit_w == least_energy
        assert fake_gpu.limit_w() == least_energy
    assert fake_gpu.limit_w() == 270


def test_dry_run_never_changes_the_gpu(fake_gpu):
    optimizer = carbonmeter.PowerLimitOptimizer(
        objective="eta:0.5", dry_run=True, step_w=50, warmup_steps=1, profile_steps=4, log=lambda line: None
    )
    train(optimizer, fake_gpu)
    assert optimizer.state == "done"
    assert len(optimizer.measurements) == 1
    assert "dry run: would set GPU 0" in optimizer.decisions[-1]
    optimizer.restore()
    assert not fake_gpu.limits.exists()


def test_without_the_privilege_the_error_names_the_capability(tmp_path, monkeypatch):
    gpu = FakeGpu(tmp_path, permission=False)
    monkeypatch.setenv("CARBONMETER_NVML_LIBRARY", FAKE_NVML)
    monkeypatch.setenv("CARBONMETER_FAKE_GPU_STATE", str(gpu.state))
    with pytest.raises(RuntimeError, match="CAP_SYS_ADMIN"):
        carbonmeter.PowerLimitOptimizer(eta=0.5)
    with pytest.raises(ValueError, match="between 0"):
        carbonmeter.PowerLimitOptimizer(eta=2)
    with pytest.raises(ValueError, match="not eta and max_slowdown"):
        carbonmeter.PowerLimitOptimizer(eta=0.5, max_slowdown=1.1)
    with pytest.raises(ValueError, match="not objective and eta"):
        carbonmeter.PowerLimitOptimizer(objective="energy", eta=0.5)
    assert not gpu.limits.exists()


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_puts_the_original_limit_back(fake_gpu, signal_number):
    # The child's own handler ends it with 7: the restorer must restore, then chain to it (a plain
    # KeyboardInterrupt would let the atexit hook restore instead, hiding a broken signal path).
    script = textwrap.dedent(
        """
        import os, signal, sys, time, carbonmeter
        signal.signal(SIGNAL, lambda *args: os._exit(7))
        optimizer = carbonmeter.PowerLimitOptimizer(eta=0.5, step_w=50, warmup_steps=2, profile_steps=5,
                                                    log=lambda line: None)
        for _ in range(10):
            optimizer.on_step_begin()
        print("changed", flush=True)
        time.sleep(60)
        """
    )
    script = script.replace("SIGNAL", str(int(signal_number)))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout.readline().strip() == "changed"
    assert fake_gpu.limit_w() == 250
    child.send_signal(signal_number)
    child.wait(timeout=30)
    assert child.returncode == 7
    assert fake_gpu.limit_w() == 270
