# The two commands of the README's Quick start: `make demo` and `make test`.
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
RELEASE_DIR := build/release
TEST_DIR := build/test

.PHONY: demo test build bootstrap bench format clean

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

bench: bootstrap
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCARBONMETER_BUILD_BENCHMARKS=ON -DCARBONMETER_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)
	@bench/run_all.sh $(RELEASE_DIR)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
