"""carbonmeter: the energy and CO2e of a computation, measured by carbonmeter's C++ core.

Measure a block, a function, or parts of a run::

    import carbonmeter

    with carbonmeter.Tracker(country="FRA") as tracker:
        with tracker.window("epoch-1") as epoch:
            train_one_epoch()
        print(epoch.result.energy_kwh, epoch.result.emissions_g)
    print(tracker.result.emissions_g, tracker.result.methods)

    @carbonmeter.track(country="FRA", output_dir="runs")
    def train(): ...

Calculate without measuring: :func:`estimate`, :func:`intensity`, :func:`plan` (the same figures
as ``carbonmeter estimate|intensity|plan --json``). Write a Hugging Face model card's
``co2_eq_emissions``: :func:`update_model_card`. Tune GPU power limits from the training loop:
:class:`PowerLimitOptimizer` (``dry_run=True`` changes nothing).

Importing this package imports neither torch nor transformers.
"""

import os as _os

# An installed package (pip install ./python) carries the reference data in carbonmeter/data;
# the core finds it through CARBONMETER_DATA_DIR unless the caller set that already.
_PACKAGED_DATA = _os.path.join(_os.path.dirname(__file__), "data")
if not _os.environ.get("CARBONMETER_DATA_DIR") and _os.path.isfile(_os.path.join(_PACKAGED_DATA, "cpu_tdp.csv")):
    _os.environ["CARBONMETER_DATA_DIR"] = _PACKAGED_DATA

from . import _carbonmeter
from ._calculators import estimate, intensity, plan, update_model_card
from ._power_limit import PowerLimitOptimizer
from ._tracker import Prediction, RunResult, Tracker, Window, track

#: The version of carbonmeter (the C++ core's and this package's).
__version__: str = _carbonmeter.__version__

#: The energy of a window or of the run so far (``Tracker.end_window``, ``Tracker.current``):
#: ``name``, ``duration_s``, ``energy_j`` (dict cpu/ram/gpu/total), ``energy_kwh``, ``power_w``,
#: ``methods``, ``uncertainty_j``, ``emissions_g`` (None when unknown), ``to_dict()``.
Measurement = _carbonmeter.Measurement

__all__ = [
    "Measurement",
    "PowerLimitOptimizer",
    "Prediction",
    "RunResult",
    "Tracker",
    "Window",
    "__version__",
    "estimate",
    "intensity",
    "plan",
    "track",
    "update_model_card",
]
