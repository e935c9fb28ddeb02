# The two commands of the README: `make demo` and `make test`. Both bootstrap first.
JOBS ?= $(shell nproc)
BUILD := build

.PHONY: all bootstrap build test test-asan demo bench fuzz format format-check clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j$(JOBS)

test: build
	@scripts/check-pure
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Every test again under AddressSanitizer and UBSan (Debug).
test-asan: bootstrap
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j$(JOBS)
	@# check_printf=0: ASan's printf interceptor overflows the small stacks civetweb (prometheus-cpp's
	@# HTTP server, Debian build) gives its worker threads when a test scrapes /metrics.
	@cd build-debug && ASAN_OPTIONS=check_printf=0 ctest --output-on-failure -j$(JOBS) --timeout 1200

demo: build
	@scripts/demo

bench: build
	@for b in $(BUILD)/bin/*_bench; do echo "== $$b"; $$b --benchmark_min_time=0.5; done

fuzz:
	@CHAINWATCH_BOOTSTRAP_FUZZ=1 scripts/bootstrap
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j$(JOBS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build build-debug build-fuzz
