"""Checks and conversions of keyword arguments shared by the tracker and the calculators: each bad
value raises ValueError naming the keyword and saying what to give."""

from __future__ import annotations

import os

from . import _carbonmeter

TYPE_CHECKING = False  # typing is not imported at run time: it would slow `import carbonmeter`
if TYPE_CHECKING:
    from typing import Any, Optional, Union

    PathLike = Union[str, "os.PathLike[str]"]


def text(name: str, value: Any, what: str) -> Optional[str]:
    """``value`` as a string, or None when it is None; ValueError for anything else."""
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{name}={value!r}: give {what} (a string)")


def path(name: str, value: Any, what: str) -> Optional[str]:
    """A str or os.PathLike as a string, or None."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise ValueError(f"{name}={value!r}: give {what} (a path)")


def number(name: str, value: Any, what: str) -> Optional[float]:
    """An int or float (not a bool) as a float, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={value!r}: give {what} (a number)")
    return float(value)


def integer(name: str, value: Any, what: str) -> Optional[int]:
    """An int (not a bool), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r}: give {what} (a whole number)")
    return value


def seconds(name: str, value: Any) -> Optional[float]:
    """A duration: a string such as '8h', '3d4h', '1h30m' (as on the command line) or a
    datetime.timedelta, in seconds; None stays None. A bare number is refused: its unit would be a
    guess."""
    if value is None:
        return None
    if isinstance(value, str):
        return _carbonmeter.parse_duration_s(value, name)
    total_seconds = getattr(value, "total_seconds", None)
    if callable(total_seconds):
        return float(total_seconds())
    raise ValueError(f"{name}={value!r}: give a duration such as '8h', '90m', '3d4h' or a datetime.timedelta")


def timestamp(name: str, value: Any) -> Optional[float]:
    """A time: an aware datetime.datetime, an ISO 8601 string with an offset, or Unix seconds (a
    number or its text); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = _carbonmeter.parse_timestamp(value)
        if parsed is None:
            raise ValueError(
                f"{name}={value!r} is not a time: give ISO 8601 with an offset "
                "(2026-01-01T08:00:00+01:00), Unix seconds, or an aware datetime"
            )
        return parsed
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "utcoffset") and hasattr(value, "timestamp"):
        if value.utcoffset() is None:
            raise ValueError(f"{name}={value!r} has no time zone: give an aware datetime (its zone would be a guess)")
        return float(value.timestamp())
    raise ValueError(f"{name}={value!r}: give an aware datetime, an ISO 8601 string with an offset or Unix seconds")


def location(
    *,
    country: Any = None,
    zone: Any = None,
    cloud: Any = None,
    carbon_intensity: Any = None,
    intensity_series: Any = None,
    pue: Any = None,
    wue: Any = None,
    marginal: Any = False,
) -> _carbonmeter.Location:
    """The location keywords resolved as the command line resolves its flags: these keywords,
    then CARBONMETER_* variables, then carbonmeter.toml, then a guess that says so."""
    if not isinstance(marginal, bool):
        raise ValueError(f"marginal={marginal!r}: give True or False")
    return _carbonmeter.resolve_location(
        country=text("country", country, "an ISO 3166 code such as 'FRA' or 'FR'"),
        zone=text("zone", zone, "a grid zone such as 'SE3' or 'US-CAL-CISO'"),
        cloud=text("cloud", cloud, "PROVIDER:REGION such as 'gcp:us-central1'"),
        carbon_intensity=number("carbon_intensity", carbon_intensity, "gCO2e/kWh"),
        intensity_series=path("intensity_series", intensity_series, "a CSV file, FILE or FILE:COLUMN"),
        pue=number("pue", pue, "the power usage effectiveness, 1 to 5"),
        wue=number("wue", wue, "litres per kWh"),
        marginal=marginal,
    )


__all__ = ["text", "path", "number", "integer", "seconds", "timestamp", "location"]
