// libFuzzer target for the server's request-body validation (src/server/api_validation.cpp, and
// the storage rules it leads to, src/server/storage_rules.cpp): the JSON bodies of POST /projects,
// POST /projects/{name}/tokens, POST /runs, POST /runs/{id}/samples and POST /runs/{id}/finish,
// and the query-string integers. Whatever the body, each parser accepts it or gives an error that
// names the field; never a crash or an uncaught exception.
//
// Input: the request body (every parser gets the same one, as if it were sent to each endpoint).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "server/api_validation.hpp"
#include "server/storage_rules.hpp"

using namespace carbonmeter;
using namespace carbonmeter::server;

namespace {

template <class T>
void expect_message(const Result<T>& result) {
  if (!result && result.error().message.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ApiLimits limits{
      .max_body_bytes = 4 * 1024 * 1024, .max_batch_samples = 50, .max_page_limit = 1000};
  const std::string body(fuzz::as_text(data, size));

  // The raw text where the API takes text: a path's run id, a query-string integer.
  if (body.size() <= 256) {
    expect_message(check_run_id(body));
    expect_message(parse_query_integer(body, "limit", 1, limits.max_page_limit));
    expect_message(parse_query_integer(body, "offset", 0, INT64_MAX));
  }

  auto parsed = parse_json_object(body);
  expect_message(parsed);
  if (!parsed) return 0;
  const nlohmann::json& json = parsed.value();

  expect_message(parse_project_request(json));
  expect_message(parse_token_request(json));
  expect_message(parse_finish_request(json));
  auto registration = parse_run_registration(json);
  expect_message(registration);
  if (registration) expect_message(validate_run(registration.value().run));
  auto samples = parse_sample_batch(json, limits);
  expect_message(samples);
  if (samples) {
    if (samples.value().size() > limits.max_batch_samples) std::abort();
    expect_message(validate_samples(samples.value()));
  }
  return 0;
}
