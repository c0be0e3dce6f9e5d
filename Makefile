# The two commands of the README's Quick start: `make demo` and `make test`.
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
RELEASE_DIR := build/release
TEST_DIR := build/test

.PHONY: demo test test-asan test-tsan build bootstrap bench format clean

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCARBONMETER_BUILD_TESTS=OFF -DCARBONMETER_BUILD_BENCHMARKS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

# Builds in Release and measures the bundled demo workload (CPU + memory, about 10 s).
demo: build
	@mkdir -p $(RELEASE_DIR)/demo
	@$(RELEASE_DIR)/carbonmeter run --output-dir $(RELEASE_DIR)/demo --json $(RELEASE_DIR)/demo/report.json -- $(RELEASE_DIR)/carbonmeter-demo-workload 10
	@echo "report: $(RELEASE_DIR)/demo/report.json"

# Builds everything (warnings are errors), starts the services the tests use (PostgreSQL:
# scripts/test_services) and runs the whole test suite.
test: bootstrap
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARBONMETER_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	@services="$$(scripts/test_services)" && eval "$$services" && cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)

# The sanitizer builds (cmake/sanitizers.cmake, docs/reliability.md), with ccache, both at -O0 with
# line tables only (-g1): with UBSan, -O2 -g compiles four times slower (docs/reliability.md has the
# figures) and the suite's run time is bound by processes and I/O, not by the code's speed. A
# finding fails its test: ASan/UBSan abort, TSan halts.
ASAN_DIR := build/asan
TSAN_DIR := build/tsan
SANITIZE_CONFIGURE := -DCARBONMETER_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1 \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache
# The tests test-tsan runs: the sampler through the trackers, the Prometheus feed the sampler's
# listener drives, the power-limit restorer's signal handler and thread, every test of
# carbonmeter_server_tests (its suites: Backends/..., ApiKey, OpenStorage, PostgresStorage,
# RunRecords, ServerUrl, SpoolTest) and the Python binding tests.
TSAN_TESTS := ^(Tracker|UnprivilegedTracker|CgroupTrackerTest|SampleSeries|Sampler|PowerLimitOptimizer|LiveMetrics|MetricsPublisher|ApiKey|OpenStorage|PostgresStorage|RunRecords|ServerUrl|SpoolTest)\.|^Backends/|^python_tests$$

# AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer), the whole test suite. A test that
# fails is run once more (the instrumented program starts several times slower, and some tests
# time child processes), but any sanitizer report in the log fails the target, rerun or not.
test-asan: bootstrap
	@cmake -S . -B $(ASAN_DIR) $(SANITIZE_CONFIGURE) -DCARBONMETER_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@services="$$(scripts/test_services)" && eval "$$services" && cd $(ASAN_DIR) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --repeat until-pass:2 >ctest.log 2>&1; status=$$?; \
	  cat ctest.log; \
	  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' ctest.log; then \
	    echo "test-asan: a sanitizer finding (above), even where a rerun passed" >&2; exit 1; fi; \
	  exit $$status

# ThreadSanitizer: the multi-threaded parts (TSAN_TESTS above).
test-tsan: bootstrap
	@cmake -S . -B $(TSAN_DIR) $(SANITIZE_CONFIGURE) -DCARBONMETER_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS)
	@services="$$(scripts/test_services)" && eval "$$services" && cd $(TSAN_DIR) && \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp \
	  ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

bench: bootstrap
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCARBONMETER_BUILD_BENCHMARKS=ON -DCARBONMETER_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)
	@bench/run_all.sh $(RELEASE_DIR)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
