# kuberay-c top-level commands. The two that matter:
#   make demo   set up everything missing, start the local control plane and the operator, run a
#               sample RayCluster (prints `ray status` from its head) and a RayJob on it (hack/demo.sh)
#   make test   build and run every test: C unit tests (CTest), integration tests, pytest end to end
# Everything downloaded or built outside the repo lives in $(KRC_CACHE) (default ~/.cache/kuberay-c).
SHELL := /bin/bash
.DEFAULT_GOAL := build

BUILD_DIR   ?= build/debug
RELEASE_DIR ?= build/release
GENERATOR   := -G Ninja

.PHONY: bench-informer bench-raycluster bench-node valgrind build release deps toolchain venv unit test test-unit test-integration demo format format-check clean cluster-up cluster-down

deps:
	@hack/deps.sh

# Debug build with AddressSanitizer + UndefinedBehaviorSanitizer: what the tests run.
build: deps
	@echo "[build] configuring $(BUILD_DIR) (Debug, ASan+UBSan)"
	@cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DKRC_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_DIR)

release: deps
	@echo "[build] configuring $(RELEASE_DIR) (Release)"
	@cmake -S . -B $(RELEASE_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DKRC_SANITIZE=OFF -DKRC_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR)

# Pinned upstream Kubernetes, etcd and kwok, built from Go modules into the cache.
toolchain:
	@hack/toolchain.sh all

# Python virtualenv with the pinned Ray, pytest and the kubernetes client, in the cache.
venv:
	@hack/venv.sh >/dev/null

# Every C unit test under valgrind memcheck (a separate non-sanitized build).
valgrind: deps
	@hack/valgrind.sh

unit: build
	@echo "[test] C unit tests"
	@ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure

test: build release toolchain venv
	@hack/test.sh $(BUILD_DIR)

demo: release toolchain venv
	@hack/demo.sh

# Benchmarks (not tests): numbers for the README. BENCH_PODS overrides the pod count.
bench-informer: release toolchain
	@hack/bench-informer.sh $(BENCH_PODS)

# BENCH_CLUSTERS overrides the RayCluster count (default 1000).
bench-raycluster: release toolchain
	@hack/bench-raycluster.sh $(BENCH_CLUSTERS)

# BENCH_NODE_PODS overrides the pod count (default 50).
bench-node: release toolchain
	@hack/bench-node.sh $(BENCH_NODE_PODS)

cluster-up: toolchain venv
	@hack/cluster.sh up
cluster-down:
	@hack/cluster.sh down

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h') && echo "[format] clean"

clean:
	rm -rf build
