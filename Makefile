# tern build. `make` builds bin/ and lib/; `make test` runs the unit and
# integration tests twice: as built, and under AddressSanitizer + UBSan.
# Variants build into their own tree: BUILD (objects), BIN (programs).

CC      ?= gcc
BUILD   ?= build/rel
BIN     ?= bin
SAN     ?=
PKGS    := libzmq libprotobuf-c hwloc sqlite3 jansson

CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -g -O2 \
               -I. -I$(BUILD)/gen -Iinclude
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
LDSAN       := -fsanitize=address,undefined
endif
CFLAGS  := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
# Evaluated when linking, after install-deps has put pkg-config and the
# libraries there.
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread -lm

GEN     := $(BUILD)/gen/proto/tern.pb-c.c
GENH    := $(BUILD)/gen/proto/tern.pb-c.h

COMMON_SRC := $(wildcard common/*.c)
SCHED_SRC  := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
WORKER_SRC := $(filter-out worker/main.c,$(wildcard worker/*.c))
CLI_SRC    := $(filter-out cli/main.c,$(wildcard cli/*.c))
UNIT_SRC   := $(wildcard tests/unit/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
BENCHLIB_SRC := $(wildcard bench/lib/*.c)
TESTBIN_SRC := $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJ := $(call obj,$(COMMON_SRC)) $(BUILD)/obj/gen/tern.pb-c.o
SCHED_OBJ  := $(call obj,$(SCHED_SRC))
WORKER_OBJ := $(call obj,$(WORKER_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))

PROGS := $(BIN)/ternd $(BIN)/tern-worker $(BIN)/tern
BENCHES := $(patsubst bench/%.c,$(BIN)/bench-%,$(BENCH_SRC))
TESTBINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(TESTBIN_SRC))
UNIT := $(BUILD)/tests/unit

.PHONY: all deps test test-unit test-integration test-asan demo bench clean fuzz
all: deps $(PROGS) $(BENCHES) $(TESTBINS)

deps: build/.deps
build/.deps: scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p build && touch $@

$(GEN) $(GENH): proto/tern.proto | build/.deps
	@mkdir -p $(BUILD)/gen
	@echo "  PROTOC  $<"
	@protoc-c --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/tern.pb-c.o: $(GEN)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(GENH)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BIN)/ternd: $(BUILD)/obj/scheduler/main.o $(SCHED_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BIN)/tern-worker: $(BUILD)/obj/worker/main.o $(WORKER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BIN)/tern: $(BUILD)/obj/cli/main.o $(CLI_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BIN)/bench-%: $(BUILD)/obj/bench/%.o $(call obj,$(BENCHLIB_SRC)) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/integration/%.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(UNIT): $(call obj,$(UNIT_SRC)) $(SCHED_OBJ) $(WORKER_OBJ) $(CLI_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) -lcunit

# ---- tests -----------------------------------------------------------------
test: all
	$(MAKE) --no-print-directory test-unit test-integration
	$(MAKE) --no-print-directory test-asan

test-unit: $(UNIT)
	$(UNIT)

test-integration: $(PROGS) $(TESTBINS)
	TERN_BIN=$(abspath $(BIN)) TERN_TESTBIN=$(abspath $(BUILD)/tests) \
	    tests/integration/run.sh

test-asan:
	$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/bin SAN=1 \
	    all test-unit test-integration

# ---- demo and benchmarks -----------------------------------------------------
demo: all
	scripts/demo.sh

bench: all
	@scripts/install-deps.sh --bench
	scripts/bench.sh

clean:
	rm -rf build bin lib

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
