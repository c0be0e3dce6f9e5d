"""Builds carbonmeter._carbonmeter with the project's CMake (the C++ core and the pybind11 module)
and installs it with the pure-Python files and the reference data (carbonmeter/data).

Run through pip from a checkout: `pip install ./python` (pip builds in place, so the repository
root, one folder up, is where CMake is run). Environment: CMAKE (the cmake to run),
CMAKE_BUILD_PARALLEL_LEVEL (jobs; default: the CPUs), CARBONMETER_CMAKE_ARGS (more -D options).
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def repository_root() -> str:
    if not (os.path.isfile(os.path.join(ROOT, "CMakeLists.txt")) and os.path.isdir(os.path.join(ROOT, "src"))):
        raise SystemExit(
            "carbonmeter: the Python package is built from a checkout of the repository (one folder above "
            f"{HERE}); run `pip install ./python` inside the checkout (pip >= 21.3 builds in place)"
        )
    return ROOT


def version() -> str:
    header = os.path.join(ROOT, "include", "carbonmeter", "version.hpp")
    with open(header, encoding="utf-8") as handle:
        found = re.search(r'kVersion\s*=\s*"([^"]+)"', handle.read())
    if not found:
        raise SystemExit(f"carbonmeter: no kVersion in {header}")
    return found.group(1)


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    """Configures the repository with CMake (tests and benchmarks off, the Python module on, for
    this interpreter), builds the module's target and copies it where setuptools expects it."""

    def build_extension(self, ext: Extension) -> None:
        root = repository_root()
        cmake = os.environ.get("CMAKE", "cmake")
        build_dir = os.path.join(os.path.abspath(self.build_temp), "cmake")
        configure = [
            cmake, "-S", root, "-B", build_dir,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCARBONMETER_BUILD_TESTS=OFF",
            "-DCARBONMETER_BUILD_BENCHMARKS=OFF",
            "-DCARBONMETER_BUILD_PYTHON=ON",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ] + shlex.split(os.environ.get("CARBONMETER_CMAKE_ARGS", ""))
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        build = [cmake, "--build", build_dir, "--target", "carbonmeter_python", "-j", jobs]
        for command in (configure, build):
            print("carbonmeter:", " ".join(shlex.quote(c) for c in command), flush=True)
            subprocess.run(command, check=True)
        built = glob.glob(os.path.join(build_dir, "python", "carbonmeter", "_carbonmeter*.so"))
        if len(built) != 1:
            raise SystemExit(f"carbonmeter: expected one built module in {build_dir}/python/carbonmeter, found {built}")
        target = os.path.abspath(self.get_ext_fullpath(ext.name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)
        shutil.copymode(built[0], target)


class BuildPyWithData(build_py):
    """Copies the repository's data/ (the reference tables) into the package as carbonmeter/data,
    where carbonmeter/__init__.py points CARBONMETER_DATA_DIR unless it is set."""

    def run(self) -> None:
        super().run()
        source = os.path.join(repository_root(), "data")
        target = os.path.join(self.build_lib, "carbonmeter", "data")
        if os.path.isdir(target):
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(
    version=version(),
    ext_modules=[CMakeExtension("carbonmeter._carbonmeter")],
    cmdclass={"build_ext": CMakeBuild, "build_py": BuildPyWithData},
    zip_safe=False,
)
