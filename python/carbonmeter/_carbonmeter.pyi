"""Type hints of carbonmeter's C++ core (carbonmeter._carbonmeter); use the carbonmeter package."""

from typing import Any, Callable, Dict, List, Optional

__version__: str

class Measurement:
    """The energy of a window, or of the run so far, with how each number was obtained."""

    @property
    def name(self) -> str:
        """The window's name ('current' for Tracker.current())."""
    @property
    def start_unix_s(self) -> float:
        """When it began, in Unix seconds."""
    @property
    def duration_s(self) -> float:
        """How long it lasted, in seconds."""
    @property
    def energy_j(self) -> Dict[str, float]:
        """Joules per component: {'cpu', 'ram', 'gpu', 'total'} (the tracker's scope)."""
    @property
    def machine_energy_j(self) -> Dict[str, float]:
        """Joules per component of the whole machine over the same time."""
    @property
    def energy_kwh(self) -> float:
        """The total energy in kWh (before PUE)."""
    @property
    def power_w(self) -> Dict[str, float]:
        """Average power per component and in total ('total'), in W."""
    @property
    def methods(self) -> Dict[str, str]:
        """How each component was measured: 'rapl-powercap', 'nvml', 'cpu-estimate', 'none', ..."""
    @property
    def uncertainty_j(self) -> float:
        """Absolute uncertainty of the total energy, in J."""
    @property
    def emissions_g(self) -> Optional[float]:
        """Grams CO2e at the tracker's location (× PUE), or None when unknown."""
    def to_dict(self) -> Dict[str, Any]:
        """Every field as a dict of plain Python values."""

class Location:
    """Where the electricity comes from, resolved once."""

    @property
    def has_series(self) -> bool: ...
    @property
    def notes(self) -> List[str]: ...
    def intensity(self, at_unix_s: float) -> Dict[str, Any]:
        """The keys of `carbonmeter intensity --json`."""
    def emissions_g(self, energy_j: float, start_unix_s: float, duration_s: float) -> Optional[float]:
        """Grams CO2e of energy_j used over [start, start + duration], or None."""

def resolve_location(
    *,
    country: Optional[str] = None,
    zone: Optional[str] = None,
    cloud: Optional[str] = None,
    carbon_intensity: Optional[float] = None,
    intensity_series: Optional[str] = None,
    pue: Optional[float] = None,
    wue: Optional[float] = None,
    marginal: bool = False,
) -> Location:
    """Resolves the location keywords as the command line resolves its flags."""

class _Tracker:
    """The C++ tracker behind carbonmeter.Tracker."""

    def __init__(
        self,
        project_name: str,
        interval_s: float,
        scope: str,
        output_dir: str,
        gpu_ids: str,
        sync: Optional[Callable[[], Any]],
        location: Location,
    ) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> "tuple[Dict[str, Any], List[str]]": ...
    def begin_window(self, name: str) -> None: ...
    def end_window(self, name: str) -> Measurement: ...
    def cancel_window(self, name: str) -> None: ...
    def current(self) -> Measurement: ...
    @property
    def running(self) -> bool: ...
    @property
    def notes(self) -> List[str]: ...
    @property
    def journal_path(self) -> str: ...

def estimate(
    *,
    hardware: Optional[str],
    count: Optional[int],
    power_w: Optional[float],
    gpu_utilization: Optional[float],
    cpu: Optional[str],
    cores: Optional[int],
    cpu_utilization: Optional[float],
    memory_gb: Optional[float],
    hours: Optional[float],
    energy_kwh: Optional[float],
    start_unix_s: Optional[float],
    location: Location,
) -> Dict[str, Any]:
    """The keys of `carbonmeter estimate --json`."""

def plan(
    *,
    intensity_series: str,
    duration_s: float,
    strategy: str,
    window_s: Optional[float],
    not_before_unix_s: float,
    min_run_s: Optional[float],
    pause_cost_g: Optional[float],
    power_w: Optional[float],
) -> Dict[str, Any]:
    """The keys of `carbonmeter plan --json`."""

def model_card_text(card: bytes, report_json: str, training_type: str) -> bytes:
    """The card's new text with the run's co2_eq_emissions block; every other byte kept."""

def parse_duration_s(text: str, name: str) -> float:
    """Seconds in '48h', '3d4h', '1h30m', '90m'; ValueError naming `name` otherwise."""

def parse_timestamp(text: str) -> Optional[float]:
    """Unix seconds of an ISO 8601 time with an offset or of Unix seconds as text; None otherwise."""

def unix_now_s() -> float:
    """The time now in Unix seconds."""

class PowerLimitOptimizer:
    """The C++ PowerLimitOptimizer; carbonmeter.PowerLimitOptimizer wraps it."""
    def __init__(
        self,
        gpus: Optional[List[int]],
        objective: str,
        step_w: float,
        warmup_steps: int,
        profile_steps: int,
        profile_path: Optional[str],
        dry_run: bool,
        restore_on_signals: bool,
        log: Optional[Any],
    ) -> None: ...
    def on_step_begin(self) -> None: ...
    def on_step_end(self) -> None: ...
    def on_epoch_end(self) -> None: ...
    def restore(self) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def optimal_power_limit_w(self) -> Optional[float]: ...
    @property
    def power_limits_w(self) -> List[float]: ...
    @property
    def measurements(self) -> List[Dict[str, float]]: ...
    @property
    def decisions(self) -> List[str]: ...
