// libFuzzer target for journal recovery (src/core/journal.cpp, src/core/run_report.cpp): what
// `carbonmeter report --recover DIR` does with the newest carbonmeter-*.journal of DIR. Whatever
// the file holds (torn lines, hostile numbers, a forged header), the journal is found, and
// recovery gives a report or an error; a report it gives turns into the report JSON, and its
// header reads back.
//
// Input: the bytes of the journal file, written in a private temporary folder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/journal.hpp"
#include "core/run_report.hpp"
#include "fuzz_support.hpp"

using namespace carbonmeter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string written =
      fuzz::write_temp_file("carbonmeter-20260101T000000-42.journal", fuzz::as_text(data, size));
  auto path = newest_journal(fuzz::temp_dir());
  if (!path || path.value() != written) std::abort();
  auto report = recover_journal(path.value());
  if (!report) {
    if (report.error().message.empty()) std::abort();
    return 0;
  }
  // As `report --recover --json` writes it.
  const std::string json = dump_json(report_to_json(report.value()), 2);
  if (json.empty()) std::abort();
  (void)report_measurement(report.value());
  if (!header_from_json(header_to_json(report.value().header))) std::abort();
  return 0;
}
