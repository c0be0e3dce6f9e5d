"""Shared fixtures of the Python tests (run by ctest's python_tests with the built package on
PYTHONPATH: see python/CMakeLists.txt). None is autouse: a test asks for what it needs."""

import os
import pathlib
import shutil

import pytest

LOCATION_VARIABLES = (
    "CARBONMETER_COUNTRY",
    "CARBONMETER_ZONE",
    "CARBONMETER_CLOUD",
    "CARBONMETER_CARBON_INTENSITY",
    "CARBONMETER_INTENSITY_SERIES",
    "CARBONMETER_PUE",
    "CARBONMETER_WUE",
)

FIXTURES = pathlib.Path(
    os.environ.get("CARBONMETER_TEST_FIXTURES", pathlib.Path(__file__).resolve().parents[1] / "fixtures")
)


@pytest.fixture
def no_location_settings(tmp_path, monkeypatch):
    """No CARBONMETER_* location variables and no carbonmeter.toml: the working directory is an
    empty temporary folder and the user's config folder is not read (XDG_CONFIG_HOME and HOME
    point at empty folders)."""
    for name in LOCATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


class FakeRapl:
    """A writable copy of tests/fixtures/intel_server_1s (one socket: package, core, uncore, dram)
    with CARBONMETER_SYSFS_ROOT, CARBONMETER_PROCFS_ROOT and CARBONMETER_DEV_ROOT pointed at it,
    as tests/support/fake_root.cpp does for the C++ tests. Counters move only when a test says."""

    PACKAGE = "intel-rapl:0"
    DRAM = "intel-rapl:0:2"

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.energy_uj = {}
        for zone in (self.PACKAGE, self.DRAM):
            self.energy_uj[zone] = int(self.zone_file(zone, "energy_uj").read_text().strip())

    def zone_file(self, zone: str, name: str) -> pathlib.Path:
        return self.root / "sys" / "class" / "powercap" / zone / name

    def add_j(self, zone: str, joules: float) -> None:
        """Advances a zone's counter by `joules` (rewritten in place, as the kernel regenerates it)."""
        self.energy_uj[zone] += int(round(joules * 1_000_000))
        with open(self.zone_file(zone, "energy_uj"), "w") as out:
            out.write(f"{self.energy_uj[zone]}\n")


@pytest.fixture
def fake_rapl(tmp_path, monkeypatch):
    """A fake machine with RAPL counters (see FakeRapl); use it with scope='machine'."""
    root = tmp_path / "fake-root"
    shutil.copytree(FIXTURES / "intel_server_1s", root)
    for folder in ("sys/class/powercap", "proc", "dev/cpu"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CARBONMETER_SYSFS_ROOT", str(root / "sys"))
    monkeypatch.setenv("CARBONMETER_PROCFS_ROOT", str(root / "proc"))
    monkeypatch.setenv("CARBONMETER_DEV_ROOT", str(root / "dev"))
    return FakeRapl(root)
