# rshm: RSocket over shared memory.
#
#   make demo   show the shared-memory path working on this machine
#   make test   everything CI runs: gofmt, vet, staticcheck, race, tests, short fuzz runs
#   make bench  the benchmark suites of package bench

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30000x
PKGS        := ./...

.PHONY: all demo bench-table test fmt-check vet staticcheck cross race unit fuzz interop-deps bench build clean-shm

all: build

build: grpc-bench kafka-bench
	$(GO) build -o bin/rshm ./cmd/rshm

.PHONY: grpc-bench grpc-check otel-check

# rshm-grpc, the gRPC-go baseline rshm bench runs (it looks for it next to
# bin/rshm), built from its own module so that gRPC is no dependency of the
# library.
grpc-bench:
	cd bench/grpcbench && $(GO) build -o ../../bin/rshm-grpc .

# The nested module bench/grpcbench, which the ./... of the other targets
# does not reach: vet, gofmt, staticcheck and its tests.
grpc-check:
	cd bench/grpcbench && $(GO) vet ./...
	@out=$$(cd bench/grpcbench && gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needs to be run on (bench/grpcbench):"; echo "$$out"; exit 1; fi
	cd bench/grpcbench && $(GO) run $(STATICCHECK) ./...
	cd bench/grpcbench && $(GO) test -count=1 ./...

# The nested module otelrshm (OpenTelemetry interceptors, a module of its
# own so that OpenTelemetry is no dependency of the library): vet, gofmt,
# staticcheck and its tests, under the race detector too.
otel-check:
	cd otelrshm && $(GO) vet ./...
	@out=$$(cd otelrshm && gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needs to be run on (otelrshm):"; echo "$$out"; exit 1; fi
	cd otelrshm && $(GO) run $(STATICCHECK) ./...
	cd otelrshm && $(GO) test -race -count=1 ./...
	cd otelrshm && $(GO) test -count=1 ./...

.PHONY: kafka-bench kafka-check

# rshm-kafka, which rshm runs for kafka:// addresses and for the Kafka rows
# of rshm bench (it looks for it next to bin/rshm), built from the nested
# module kafkatransport so that the Kafka client is no dependency of the
# library.
kafka-bench:
	cd kafkatransport && $(GO) build -o ../bin/rshm-kafka ./cmd/rshm-kafka

# The nested module kafkatransport: vet, gofmt, staticcheck and its tests
# (against franz-go's in-process kfake cluster; a real cluster too when
# KAFKA_BROKERS is set), under the race detector and without it.
kafka-check:
	cd kafkatransport && $(GO) vet ./...
	@out=$$(cd kafkatransport && gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needs to be run on (kafkatransport):"; echo "$$out"; exit 1; fi
	cd kafkatransport && $(GO) run $(STATICCHECK) ./...
	cd kafkatransport && $(GO) test -race -count=1 -timeout 5m ./...
	cd kafkatransport && $(GO) test -count=1 -timeout 5m ./...

# The README's first command: RSocket over shared memory and over TCP side by
# side on this machine, against raw TCP and Unix sockets (under a minute).
demo: build
	./bin/rshm bench --quick

# The benchmark suites of package bench with the ratios the targets are
# stated in (each against a baseline measured in the same run).
bench-table:
	$(GO) test ./bench -run '^$$' -bench '^Benchmark(Ring|TCP|RSocket|Resume)$$' -count 1 -timeout 20m | tee /dev/stderr | $(GO) run ./internal/benchfmt/benchtable

test: fmt-check vet staticcheck cross interop-deps race unit fuzz grpc-check otel-check kafka-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^$$') 2>&1); \
	if [ -n "$$out" ]; then echo "gofmt needs to be run on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# The module keeps building for macOS and Windows (a Linux-only call slips in easily).
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

# The interop tests drive rsocket-js 0.0.27 from the committed lock file.
interop-deps:
	@if [ -f rsocket/internal/interop/testdata/js/package-lock.json ]; then \
		cd rsocket/internal/interop/testdata/js && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# Everything that runs in one process, under the race detector. -short skips
# the multi-process soak tests, which run in the plain pass below.
race:
	$(GO) test -race -short -count=1 -timeout 10m $(PKGS)

unit:
	$(GO) test -count=1 -timeout 10m $(PKGS)

# A short run of every fuzz target in the tree: an iteration budget rather
# than a time (a time-based -fuzztime can end with the coordinator's own
# "context deadline exceeded", a toolchain flake, not a finding). A run that
# fails only that way is repeated once; a real crasher is saved under
# testdata/fuzz and fails the repeat too. Each runs from its package's
# directory, so that the targets of the nested modules (kafkatransport) run
# in their own module.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . ); do \
		dir=$$(dirname $$f); \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "fuzz $$dir $$t"; \
			if ! (cd $$dir && $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) .) > fuzz.out 2>&1; then \
				cat fuzz.out; \
				grep -q 'context deadline exceeded' fuzz.out || { rm -f fuzz.out; exit 1; }; \
				echo "fuzz $$dir $$t: retrying after a coordinator timeout"; \
				(cd $$dir && $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) .) || { rm -f fuzz.out; exit 1; }; \
			fi; \
		done; \
	done; rm -f fuzz.out

bench:
	$(GO) test ./bench -run '^$$' -bench . -count 1 -timeout 30m

clean-shm:
	$(GO) run ./cmd/rshm doctor --clean
