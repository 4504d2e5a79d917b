# Mica -- top-level Makefile: a thin wrapper over CMake.
#
#   make build   release build (-O2) into build/, binaries in build/bin/
#   make run     install deps, release build, start micad on 127.0.0.1:27017 (data in ./data)
#   make replset release build, a three-member replica set on 27017-27019 (./data/rs{0,1,2})
#   make test    lint, install deps, test build (ASan+UBSan, -Werror) into build/test, run ctest
#                (every test but the long runs)
#   make test-long  the test build, then only the long runs (suites marked "mica-test: long")
#   make bench   release build, run the benchmarks under bench/
#   make fuzz    build the libFuzzer targets and run each for FUZZ_SECONDS
#   make format  clang-format every C source in place
#   make lint    check formatting (and warnings through the test build)

JOBS        ?= $(shell nproc)
BUILD_DIR   ?= build
TEST_DIR    ?= build/test
FUZZ_SECONDS ?= 60
# The test build prefers clang: it can build the libFuzzer targets alongside the
# sanitizer build, so the fuzz smoke runs are part of `make test`.
TEST_CC     ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo cc)
SOURCES      = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps build run replset cluster test test-long test-build bench fuzz format lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p data
	./$(BUILD_DIR)/bin/micad --port 27017 --bind_ip 127.0.0.1 --dbpath ./data

replset: build
	@bash scripts/replset.sh $(BUILD_DIR)/bin/micad

test-build: deps
	@CC=$(TEST_CC) cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Test >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)

# The formatting check runs first so that it cannot rot: an unformatted tree
# fails `make test` before anything is built.
test:
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-build
	@cd $(TEST_DIR) && ctest --no-tests=error --output-on-failure -j $(JOBS) -LE long

# Long runs (several failovers under load, ...): a suite is one when its source has a line
# "mica-test: long" (tests/integration/CMakeLists.txt labels it "long").
test-long:
	@$(MAKE) --no-print-directory test-build
	@cd $(TEST_DIR) && ctest --no-tests=error --output-on-failure -L long

bench: build
	@bash bench/run.sh $(BUILD_DIR)

fuzz: deps
	@CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Test >/dev/null
	@cmake --build build/fuzz -j $(JOBS)
	@for f in build/fuzz/bin/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p build/fuzz/corpus/$$name; \
	  echo "== $$name ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

format:
	@clang-format -i $(SOURCES)

lint:
	@clang-format --dry-run --Werror $(SOURCES)
	@echo "lint: $(words $(SOURCES)) files formatted"


clean:
	rm -rf build
