"""The package itself: what `import carbonmeter` loads, its version, its documentation and hints."""

import inspect
import os
import subprocess
import sys

import carbonmeter

PUBLIC = [
    "Measurement",
    "PowerLimitOptimizer",
    "Prediction",
    "RunResult",
    "Tracker",
    "Window",
    "estimate",
    "intensity",
    "plan",
    "track",
    "update_model_card",
]


def test_import_loads_neither_torch_nor_transformers():
    code = (
        "import sys, carbonmeter\n"
        "heavy = [m for m in ('torch', 'transformers', 'numpy', 'typing') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=os.environ)
    assert out.stdout.strip() == ""


def test_version_is_the_core_version():
    assert carbonmeter.__version__ == carbonmeter._carbonmeter.__version__
    assert carbonmeter.__version__.count(".") == 2


def test_public_names_are_exported_and_documented():
    assert sorted(set(PUBLIC) | {"__version__"}) == sorted(carbonmeter.__all__)
    assert carbonmeter.__doc__
    for name in PUBLIC:
        value = getattr(carbonmeter, name)
        assert inspect.getdoc(value), f"carbonmeter.{name} has no docstring"
        if inspect.isclass(value):
            for member_name, member in vars(value).items():
                if member_name.startswith("_"):
                    continue
                if callable(member) or isinstance(member, property) or type(member).__name__ == "property":
                    assert inspect.getdoc(getattr(value, member_name)), f"{name}.{member_name} has no docstring"


def test_type_hints_ship_with_the_package():
    folder = os.path.dirname(carbonmeter.__file__)
    assert os.path.exists(os.path.join(folder, "py.typed"))
    assert os.path.exists(os.path.join(folder, "_carbonmeter.pyi"))
    hints = inspect.signature(carbonmeter.Tracker.__init__).parameters
    for keyword in ("project_name", "country", "zone", "cloud", "carbon_intensity", "intensity_series", "pue",
                    "wue", "output_dir", "interval_s", "scope", "sync", "gpu_ids"):
        assert keyword in hints
        assert hints[keyword].annotation is not inspect.Parameter.empty


def test_the_contract_signatures():
    plan = inspect.signature(carbonmeter.plan).parameters
    assert list(plan)[:2] == ["intensity_series", "duration"]
    assert plan["strategy"].default == "flexible-start" and plan["power_w"].default == 1000.0
    estimate = inspect.signature(carbonmeter.estimate).parameters
    for keyword in ("hardware", "count", "power_w", "gpu_utilization", "cpu", "cores", "cpu_utilization",
                    "memory_gb", "hours", "duration", "energy_kwh", "start", "country", "zone", "cloud",
                    "carbon_intensity", "intensity_series", "pue", "wue"):
        assert keyword in estimate
    assert list(inspect.signature(carbonmeter.update_model_card).parameters) == [
        "path", "result_or_report", "training_type"]
