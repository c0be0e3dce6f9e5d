// A forecast from a series' own history, for plans that reach past its end: a seasonal profile
// (the same time of week when there are at least two weeks of history, else the same time of day),
// and how good it was when backtested on the same series.
#pragma once

#include "carbonmeter/result.hpp"
#include "plan/planner.hpp"

namespace carbonmeter {

struct ForecastQuality {
  std::string method;          // "weekly-profile" or "daily-profile"
  double backtest_mape = 0.0;  // mean absolute percentage error, 0.25 = 25 %
  double backtest_days = 0.0;  // how much history the backtest covered
};

struct ExtendedSeries {
  StepSeries series;                       // the history, then forecast steps (flagged) up to `until`
  std::optional<ForecastQuality> quality;  // set when a forecast was added
};

// Extends `history` to `until_unix_s` with forecast steps of the history's median step; unchanged
// when it already reaches that far. Needs at least one day of known history to forecast.
Result<ExtendedSeries> extend_with_forecast(const StepSeries& history, double until_unix_s);

}  // namespace carbonmeter
