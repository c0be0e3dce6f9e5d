// The everyday equivalents of some emissions as an HTML table (the run report, the server's
// dashboard). Inline for the same reason as svg_chart.hpp.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "carbon/emissions.hpp"
#include "core/number_format.hpp"
#include "outputs/html_escape.hpp"

namespace carbonmeter {

// <table id="equivalents"> with each equivalent's amount, factor and source; "" when there are none.
inline std::string html_equivalents_table(const std::vector<Equivalent>& equivalents) {
  std::string rows;
  for (const Equivalent& e : equivalents)
    rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{} g per {}</td><td>{} ({})</td></tr>\n",
                        format_significant(e.amount, 3), html_escape(e.item),
                        format_significant(e.g_co2e_per_unit, 4), html_escape(e.unit), html_escape(e.source),
                        html_escape(e.vintage));
  if (rows.empty()) return "";
  return "<table id=\"equivalents\"><tr><th>about</th><th>unit</th><th>factor</th><th>source</th></tr>\n" +
         rows + "</table>\n";
}

}  // namespace carbonmeter
