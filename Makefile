# Coalition Ledger — build. `make` builds bin/ledgerd, bin/ledgerctl, bin/ledger-verify.
# `make SANITIZE=address,undefined` builds the same tree with sanitizers (objects kept apart).
# `make run` / `make test` are the two set-up commands of the README.

CC ?= cc
SANITIZE ?=
VARIANT := $(if $(SANITIZE),san,release)
OBJ := build/$(VARIANT)
BIN := $(if $(SANITIZE),build/san/bin,bin)

WARNINGS := -Wall -Wextra -Werror -Wconversion -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_DEFAULT_SOURCE $(WARNINGS) -iquote $(OBJ) \
          -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) -pthread -MMD -MP
# libcurl: the webhook dispatcher's HTTP client (jobs/webhook_dispatch.c; README "Dependencies")
LDLIBS := -lpq -lmicrohttpd -ljansson -lcrypto -lsodium -lm -pthread $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# The layers, lowest first: each is a folder of src/ (and of include/), built whole. A layer may
# include the headers of layers below it only, and call their functions only (tools/check-layers.sh,
# tools/check-calls.sh, run by `make test`).
LAYERS := core verify store jobs service http
layer_objs = $(patsubst src/%.c,$(OBJ)/%.o,$(wildcard $(addprefix src/,$(addsuffix /*.c,$(1)))))
INCLUDES := $(addprefix -iquote include/,$(LAYERS) cmd)
CFLAGS += $(INCLUDES)

# Each program: the layers it stands on, its own main in src/cmd/, and the cmd/ parts it shares.
VERIFY_OBJS := $(call layer_objs,core verify)
CTL_OBJS := $(call layer_objs,core verify store jobs) $(OBJ)/cmd/config.o $(OBJ)/cmd/client.o $(OBJ)/migrations_embedded.o
SERVER_OBJS := $(call layer_objs,$(LAYERS)) $(OBJ)/cmd/config.o $(OBJ)/migrations_embedded.o $(OBJ)/openapi_embedded.o

BINARIES := $(BIN)/ledgerd $(BIN)/ledgerctl $(BIN)/ledger-verify
all: $(BINARIES)

$(BIN)/ledgerd: $(OBJ)/cmd/ledgerd.o $(SERVER_OBJS) | $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/ledgerctl: $(OBJ)/cmd/ledgerctl.o $(CTL_OBJS) | $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/ledger-verify: $(OBJ)/cmd/ledger-verify.o $(VERIFY_OBJS) | $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson -lcrypto -lsodium

$(OBJ)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(OBJ)/migrations_embedded.o: $(OBJ)/migrations_embedded.c
	$(CC) $(CFLAGS) -c -o $@ $<
$(OBJ)/migrations_embedded.c: tools/embed-migrations.sh $(wildcard migrations/*.sql) | $(OBJ)
	sh tools/embed-migrations.sh migrations > $@
# GET /openapi.json serves docs/openapi.json as it was at build time (README "The API document")
$(OBJ)/openapi_embedded.o: $(OBJ)/openapi_embedded.c
	$(CC) $(CFLAGS) -c -o $@ $<
$(OBJ)/openapi_embedded.c: tools/embed-openapi.sh docs/openapi.json | $(OBJ)
	sh tools/embed-openapi.sh docs/openapi.json > $@

bin/bench-expiry: tools/bench_expiry.c tools/bench_common.h $(CTL_OBJS) | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bin/bench-settlement: tools/bench_settlement.c tools/bench_common.h $(CTL_OBJS) | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bin/bench-export: tools/bench_export.c $(CTL_OBJS) | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bin/bench-load: tools/bench_load.c $(VERIFY_OBJS) $(OBJ)/cmd/client.o | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -ljansson -lcrypto -lsodium -pthread

bin/bench-receiver: tools/bench_receiver.c | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -lmicrohttpd -pthread

bin/bench-idle: tools/bench_idle.c | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^

bin/bench-verify: tools/bench_verify.c $(VERIFY_OBJS) | bin
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -ljansson -lcrypto -lsodium -pthread

# tools/ha-test.sh: the load through the balancer and the checks against the export (with
# SANITIZE, in build/san/bin: HA_TOOLS_DIR=build/san/bin tools/ha-test.sh runs those)
$(BIN)/ha-load: tools/ha_load.c $(VERIFY_OBJS) $(OBJ)/cmd/client.o | $(BIN)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -ljansson -lcrypto -lsodium -pthread

$(BIN)/ha-check: tools/ha_check.c $(VERIFY_OBJS) | $(BIN)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -ljansson -lcrypto -lsodium

# pg_auto_failover (monitor + two nodes), two ledgerd and haproxy on loopback, under failures;
# then the negative control, which must detect a lost acknowledged write (README "The failover test")
test-ha: all bin/ha-load bin/ha-check
	bash tools/ha-test.sh
	@rc=0; bash tools/ha-test.sh --negative-control || rc=$$?; \
	  if [ $$rc -eq 3 ]; then echo "test-ha: the negative control detected the lost write, as it must"; \
	  else echo "test-ha: FAILED: the negative control exited $$rc, not 3 (a lost write detected)"; exit 1; fi

bench: bin/bench-expiry bin/bench-settlement bin/bench-export bin/bench-load bin/bench-idle bin/bench-verify bin/bench-receiver

# Fuzzing (clang + libFuzzer): `make fuzz` builds, `make fuzz-run FUZZ_SECONDS=N` runs each harness.
FUZZ_SECONDS ?= 15
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -O1 $(INCLUDES) -fsanitize=fuzzer,address,undefined
FUZZ_CORE := $(wildcard src/core/*.c src/verify/*.c) src/http/router.c
FUZZERS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE) $(wildcard include/*/*.h)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_CORE) -ljansson -lcrypto -lsodium
fuzz: $(FUZZERS)
fuzz-run: fuzz
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=0 build/fuzz/corpus-$$n \
	    tests/fuzz/corpus/$${n#fuzz_} 2>build/fuzz/$$n.log || { tail -40 build/fuzz/$$n.log; exit 1; }; done

# Tests -------------------------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BIN)/test/unit_%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(BIN)/test/integration_%,$(wildcard tests/integration/test_*.c))
E2E_TESTS := $(patsubst tests/e2e/%.c,$(BIN)/test/e2e_%,$(wildcard tests/e2e/test_*.c))

# The pure parts of layers above verify (no libpq, libmicrohttpd or SQL) that unit tests link:
# each is tested without a database. Keep it to objects that include nothing impure.
UNIT_PURE_OBJS := $(OBJ)/store/pg_array.o $(OBJ)/service/service_group.o $(OBJ)/http/router.o $(OBJ)/http/ratelimit.o \
                  $(OBJ)/http/console.o
$(BIN)/test/unit_%: tests/unit/%.c $(VERIFY_OBJS) $(UNIT_PURE_OBJS) | $(BIN)/test
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka -ljansson -lcrypto -lsodium -lm -pthread
$(BIN)/test/integration_%: tests/integration/%.c tests/support.c $(SERVER_OBJS) $(OBJ)/cmd/client.o | $(BIN)/test
	$(CC) $(TEST_CFLAGS) -iquote tests $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)
$(BIN)/test/e2e_%: tests/e2e/%.c tests/support.c $(CTL_OBJS) | $(BIN)/test
	$(CC) $(TEST_CFLAGS) -iquote tests $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

TEST_CFLAGS = $(filter-out -MMD -MP,$(CFLAGS))
tests: $(UNIT_TESTS) $(INTEGRATION_TESTS) $(E2E_TESTS)

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t >/dev/null || { $$t; exit 1; }; done

soak: all tests fuzz
	FUZZ_SECONDS=600 $(MAKE) fuzz-run
	for i in 1 2 3 4 5; do bash tools/test.sh || exit 1; done

test:
	bash tools/test.sh

# docker/ built and run with Podman (whole stack, one signed earn through haproxy): README "Containers"
test-containers:
	bash tools/container-test.sh

# includes (source) and calls (the built objects): no upward dependency, no circle
check-layers: all
	bash tools/check-layers.sh
	bash tools/check-calls.sh

run:
	bash tools/run.sh

$(BIN) $(BIN)/test $(OBJ):
	mkdir -p $@

clean:
	rm -rf build bin

.PHONY: all test test-ha test-containers check-layers run unit tests clean bench fuzz fuzz-run soak
.SECONDARY:
-include $(wildcard $(OBJ)/*.d $(OBJ)/*/*.d)
