# tern build. `make` builds bin/ and lib/; `make test` runs the unit and
# integration tests twice: as built, and under AddressSanitizer + UBSan.
# Variants build into their own tree: BUILD (objects), BIN (programs).

CC      ?= gcc
BUILD   ?= build/rel
BIN     ?= bin
LIB     ?= lib
SAN     ?=
CUDA_HOME ?= /usr/local/cuda
PKGS    := libzmq libprotobuf-c hwloc sqlite3 jansson libxxhash libsodium

CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -g -O2 -fPIC \
               -I. -I$(BUILD)/gen -Iinclude
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
LDSAN       := -fsanitize=address,undefined
endif
# The fuzzing tree (make fuzz): clang's coverage for libFuzzer, ASan, UBSan.
ifeq ($(SAN),fuzz)
CFLAGS_BASE += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
LDSAN       := -fsanitize=fuzzer,address,undefined
endif
CFLAGS   = $(CFLAGS_BASE) $(EXTRA_CFLAGS)
# Evaluated when linking, after install-deps has put pkg-config and the
# libraries there.
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread -lm
# libcurl (the spot-notice watcher) for tern-worker alone: the other
# programs start faster without it and what it loads.
CURL_LIBS = $(shell pkg-config --libs libcurl 2>/dev/null)
# libmicrohttpd (the /metrics endpoint) likewise, for ternd and tern-worker.
MHD_LIBS = $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

GEN     := $(BUILD)/gen/proto/tern.pb-c.c
GENH    := $(BUILD)/gen/proto/tern.pb-c.h

COMMON_SRC := $(filter-out common/promhttp.c,$(wildcard common/*.c))
SCHED_SRC  := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
WORKER_SRC := $(filter-out worker/main.c,$(wildcard worker/*.c))
CLI_SRC    := $(filter-out cli/main.c,$(wildcard cli/*.c))
COLL_SRC   := $(filter-out collectives/plugin_%.c,$(wildcard collectives/*.c))
CKPT_SRC   := $(wildcard checkpoint/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
BENCHLIB_SRC := $(wildcard bench/lib/*.c)
TESTBIN_SRC := $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJ := $(call obj,$(COMMON_SRC)) $(BUILD)/obj/gen/tern.pb-c.o
SCHED_OBJ  := $(call obj,$(SCHED_SRC))
WORKER_OBJ := $(call obj,$(WORKER_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))
HTTP_OBJ   := $(call obj,common/promhttp.c)
# libtern: collectives, checkpoints, and the few common pieces they use.
LIBTERN_OBJ := $(call obj,$(COLL_SRC) $(CKPT_SRC) common/netaddr.c common/proc.c common/clock.c \
                 common/strmap.c common/parse.c common/fsutil.c common/curve.c common/zap.c \
                 common/grow.c common/zframes.c)
LIBTERN    := $(LIB)/libtern.so
# libtern exports its API alone (TERN_API in include/tern/tern.h): what it
# is made of is hidden, so a training program's own parse_u32 or
# strmap_get never meets ours. Programs of this tree that test or measure
# those pieces link the objects themselves (LIBTERN_PARTS).
LIBTERN_PARTS := $(call obj,$(COLL_SRC) $(CKPT_SRC))
$(LIBTERN_OBJ): EXTRA_CFLAGS += -fvisibility=hidden
RPATH      := -Wl,-rpath,'$$ORIGIN/../lib' -Wl,-rpath,$(abspath $(LIB))
TERNLIB    := -L$(LIB) -ltern $(RPATH)

# Plugins, built where their toolchains are: NCCL (CUDA toolkit), MPI (mpicc).
HAVE_NCCL  := $(wildcard $(CUDA_HOME)/include/nccl.h)
HAVE_MPI   := $(shell command -v mpicc 2>/dev/null)
PLUGINS    := $(if $(HAVE_NCCL),$(LIB)/libtern-nccl.so) $(if $(HAVE_MPI),$(LIB)/libtern-mpi.so)
GPUTESTS   := $(if $(HAVE_NCCL),$(BUILD)/tests/gpu_check)
HAVE_NVCC  := $(wildcard $(CUDA_HOME)/bin/nvcc)
# (the CUDA trainer only in the plain build: it runs on the GPU machine alone)
EXAMPLES   := $(BIN)/train_mlp $(if $(and $(HAVE_NVCC),$(HAVE_NCCL),$(if $(SAN),,1)),$(BIN)/train_mlp_cuda)

PROGS := $(BIN)/ternd $(BIN)/tern-worker $(BIN)/tern
# srun and scontrol for batch scripts: links to tern, first on their PATH.
SHIMS := $(LIB)/tern/slurm/srun $(LIB)/tern/slurm/scontrol $(LIB)/tern/slurm/tern-rsh
PEERS := $(if $(HAVE_MPI),$(BIN)/peer-mpi-allreduce $(BUILD)/tests/mpi_hello)
BENCHES := $(patsubst bench/%.c,$(BIN)/bench-%,$(BENCH_SRC))
TESTBINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(TESTBIN_SRC))
UNIT := $(BUILD)/tests/unit

.PHONY: all build deps test test-unit test-integration test-asan demo bench clean fuzz \
        fuzz-build fuzz-seeds test-fuzz
# Compiling uses every CPU (make JOBS=1 for one at a time).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

# Packages first, then a fresh make: what is built depends on the tools the
# packages bring (mpicc), which a make that started without them cannot see.
# `make` installs only what compiling needs; test, demo and bench add theirs
# (scripts/install-deps.sh --build, --test, --demo, --bench).
all: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build

build: $(PROGS) $(SHIMS) $(LIBTERN) $(PLUGINS) $(BENCHES) $(PEERS) $(TESTBINS) $(GPUTESTS) $(EXAMPLES)

deps: build/.deps
build/.deps: scripts/install-deps.sh
	@scripts/install-deps.sh --build
	@mkdir -p build && touch $@
build/.deps-%: scripts/install-deps.sh
	@scripts/install-deps.sh --$*
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

$(BIN)/ternd: $(BUILD)/obj/scheduler/main.o $(SCHED_OBJ) $(HTTP_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(MHD_LIBS)

$(BIN)/tern-worker: $(BUILD)/obj/worker/main.o $(WORKER_OBJ) $(HTTP_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(CURL_LIBS) $(MHD_LIBS)

$(BIN)/tern: $(BUILD)/obj/cli/main.o $(CLI_OBJ) $(COMMON_OBJ)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BIN)/bench-%: $(BUILD)/obj/bench/%.o $(call obj,$(BENCHLIB_SRC)) $(COMMON_OBJ) $(LIBTERN)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(filter %.o,$^) $(TERNLIB) $(LDLIBS)

# coll_check compares with libtern's own half-precision conversions.
$(BUILD)/tests/coll_check: $(BUILD)/obj/collectives/reduce.o

# bench-sched-placement times the scheduler's own placement code in-process.
$(BIN)/bench-sched-placement: $(BUILD)/obj/scheduler/placement.o

$(BUILD)/tests/%: $(BUILD)/obj/tests/integration/%.o $(COMMON_OBJ) $(LIBTERN)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(filter %.o,$^) $(TERNLIB) $(LDLIBS)

# The reference trainers (examples/), linked like a user's program.
$(BIN)/train_mlp: $(BUILD)/obj/examples/train_mlp.o $(BUILD)/obj/examples/mlp.o $(LIBTERN)
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(filter %.o,$^) $(TERNLIB) -lxxhash -lm

$(BIN)/train_mlp_cuda: examples/train_mlp_cuda.cu examples/mlp.h $(BUILD)/obj/examples/mlp.o $(LIBTERN)
	@mkdir -p $(BIN)
	@echo "  NVCC    $@"
	@$(CUDA_HOME)/bin/nvcc -O2 -std=c++17 -I. -Iinclude -Xcompiler -Wall,-Wextra,-Werror \
	    -o $@ $< $(BUILD)/obj/examples/mlp.o \
	    -L$(LIB) -ltern -Xlinker -rpath,'$$ORIGIN/../lib' -Xlinker -rpath,$(abspath $(LIB)) \
	    -lcublas -lcudart -lxxhash

# The GPU checks (tests/gpu/run.sh runs them where a GPU is): built wherever
# the CUDA toolkit is, so that they always compile.
$(BUILD)/tests/gpu_check: tests/gpu/gpu_check.c $(LIBTERN)
	@mkdir -p $(dir $@)
	@echo "  CC/LD   $@"
	@$(CC) $(CFLAGS) -I$(CUDA_HOME)/include -o $@ $< $(LDSAN) $(TERNLIB) \
	    -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/lib -lcudart

# Peers the benchmarks measure against, built with the peer's own toolchain.
$(BIN)/peer-mpi-allreduce: bench/peers/mpi_allreduce.c
	@mkdir -p $(BIN)
	@echo "  MPICC   $@"
	@OMPI_CC=$(CC) mpicc -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

# The reduction kernels are the hot loop: vectorise them hard.
$(BUILD)/obj/collectives/reduce.o: EXTRA_CFLAGS += -O3

$(LIBTERN): $(LIBTERN_OBJ)
	@mkdir -p $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -shared -Wl,-soname,libtern.so -Wl,--no-undefined -o $@ $^ \
	    $(shell pkg-config --libs libzmq libxxhash 2>/dev/null) -ldl -lpthread

$(LIB)/libtern-nccl.so: collectives/plugin_nccl.c collectives/plugin.h include/tern/tern.h
	@mkdir -p $(LIB)
	@echo "  CC/LD   $@"
	@$(CC) $(CFLAGS) -fvisibility=hidden -I$(CUDA_HOME)/include -shared -o $@ $< $(LDSAN) \
	    -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/lib -lnccl -lcudart

$(LIB)/libtern-mpi.so: collectives/plugin_mpi.c collectives/plugin.h collectives/reduce.h \
                       include/tern/tern.h $(BUILD)/obj/collectives/reduce.o
	@mkdir -p $(LIB)
	@echo "  CC/LD   $@"
	@OMPI_CC=$(CC) mpicc $(CFLAGS) -fvisibility=hidden -shared -o $@ $< \
	    $(BUILD)/obj/collectives/reduce.o $(LDSAN)

# (the unit tests reach libtern's parts: its objects, not the library)
$(UNIT): $(call obj,$(UNIT_SRC)) $(SCHED_OBJ) $(WORKER_OBJ) $(CLI_OBJ) $(HTTP_OBJ) $(COMMON_OBJ) \
         $(LIBTERN_PARTS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(filter %.o,$^) $(LDLIBS) $(CURL_LIBS) $(MHD_LIBS) -lcunit

# ---- tests -----------------------------------------------------------------
# Everything, timed: the build, the unit tests and the scenarios, again
# under AddressSanitizer and UBSan, and the fuzzers' short run.
test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory build/.deps-test all && \
	$(MAKE) --no-print-directory -j$(JOBS) $(UNIT) && \
	$(MAKE) --no-print-directory test-unit test-integration && \
	$(MAKE) --no-print-directory test-asan && \
	$(MAKE) --no-print-directory test-fuzz; rc=$$?; t=$$(( $$(date +%s) - start )); \
	echo "make test: $$([ $$rc -eq 0 ] && echo passed || echo FAILED) in $$((t / 60)) min $$((t % 60)) s"; \
	exit $$rc

test-unit: $(UNIT)
	$(UNIT)

test-integration: $(PROGS) $(TESTBINS)
	TERN_BIN=$(abspath $(BIN)) TERN_TESTBIN=$(abspath $(BUILD)/tests) \
	    TERN_SANITIZED=$(SAN) tests/integration/run.sh

test-asan:
	$(MAKE) --no-print-directory -j$(JOBS) $(ASAN_VARS) build build/asan/tests/unit
	$(MAKE) --no-print-directory $(ASAN_VARS) test-unit test-integration
ASAN_VARS = BUILD=build/asan BIN=build/asan/bin LIB=build/asan/lib SAN=1

# ---- fuzzing -----------------------------------------------------------------
# libFuzzer targets, tests/fuzz/fuzz_NAME.c, built by clang in build/fuzz
# (SAN=fuzz). `make fuzz` runs each FUZZ_SECONDS from its committed corpus,
# tests/fuzz/corpus/NAME, which it only reads; `make test` runs each
# FUZZ_TEST_SECONDS. Any crash, leak or sanitizer report fails.
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 10
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: fuzz-build
	tests/fuzz/run.sh build/fuzz/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-build: build/.deps-test
	@$(MAKE) -s --no-print-directory -j$(JOBS) BUILD=build/fuzz SAN=fuzz CC=clang \
	    $(patsubst %,build/fuzz/fuzz/fuzz_%,$(FUZZ_NAMES))

test-fuzz:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(filter %.o,$^) $(LDLIBS)

# The envelope target's seeds, one message of each kind, written anew.
fuzz-seeds: build/.deps-test
	@$(MAKE) --no-print-directory BUILD=build/fuzz SAN=fuzz CC=clang \
	    build/fuzz/fuzz/seed_envelopes
	build/fuzz/fuzz/seed_envelopes tests/fuzz/corpus/envelope

$(BUILD)/fuzz/seed_envelopes: $(BUILD)/obj/tests/fuzz/seed_envelopes.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) -fsanitize=address,undefined -o $@ $(filter %.o,$^) $(LDLIBS)

# Configuration files go through the daemons' own option tables.
$(BUILD)/fuzz/fuzz_config: $(call obj,scheduler/options.c worker/options.c common/promhttp.c)
$(BUILD)/fuzz/fuzz_config: LDLIBS += $(MHD_LIBS)

# Script directives are parsed by the CLI's own code.
$(BUILD)/fuzz/fuzz_directives: $(call obj,cli/submit_opts.c cli/common.c cli/client.c)

# ---- demo and benchmarks -----------------------------------------------------
demo: build/.deps-demo all
	scripts/demo.sh

bench: build/.deps-bench all
	scripts/bench.sh

clean:
	rm -rf build bin lib

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:

$(SHIMS): | $(BIN)/tern
	@mkdir -p $(dir $@)
	@ln -sfn ../../../$(notdir $(BIN))/tern $@

$(BUILD)/tests/mpi_hello: tests/mpi/mpi_hello.c
	@mkdir -p $(dir $@)
	@echo "  MPICC   $<"
	@OMPI_CC=$(CC) mpicc -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<
