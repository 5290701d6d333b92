# mlrec: a movie recommender as a SQLite loadable extension.
#   make deps     install the Debian/Ubuntu packages the build, demo and tests need (as root)
#   make          build ./mlrec.so (warnings are errors)
#   make demo     build, load MovieLens ml-latest-small into movielens.db, run the demo
#   make test     every test suite (Tcl, SQL scripts, sanitizers)
#   make clean

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror
PIC      = -fPIC
LDLIBS   = -lm

SRC  = $(wildcard ext/*.c)
HDR  = $(wildcard ext/*.h)

UNAME_S := $(shell uname -s 2>/dev/null)
ifeq ($(OS),Windows_NT)
  SOEXT = dll
else ifeq ($(UNAME_S),Darwin)
  SOEXT = dylib
else
  SOEXT = so
endif
LIB = mlrec.$(SOEXT)

DB ?= movielens.db

.PHONY: all deps demo test clean bench-interrupt fuzz

# Debian packages: compiler, SQLite and its shell, Tcl with its SQLite binding (the test
# harness), scikit-learn (the notebook's kNN, checked against), curl/unzip (MovieLens download),
# valgrind (tests/threads.c), clang and its sanitizer runtimes (libFuzzer, tests/fuzz).
DEB_PACKAGES = build-essential libsqlite3-dev sqlite3 tcl libsqlite3-tcl \
  python3 python3-numpy python3-scipy python3-sklearn curl unzip ca-certificates valgrind \
  clang libclang-rt-dev

all: $(LIB)

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)

$(LIB): $(SRC) $(HDR)
	$(CC) $(CFLAGS) $(WARN) $(PIC) -shared -o $@ $(SRC) $(LDLIBS)

# The same library with AddressSanitizer and UndefinedBehaviorSanitizer, for tests.
build/asan/mlrec.so: $(SRC) $(HDR)
	mkdir -p build/asan
	$(CC) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined $(WARN) $(PIC) -shared -o $@ $(SRC) $(LDLIBS)

# C test programs: the extension compiled in (-DSQLITE_CORE) and linked against libsqlite3,
# with AddressSanitizer, LeakSanitizer and UBSan.
TEST_CFLAGS = -DSQLITE_CORE -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined $(WARN)

build/oom: tests/oom.c $(SRC) $(HDR)
	mkdir -p build
	$(CC) $(TEST_CFLAGS) -o $@ tests/oom.c $(SRC) -lsqlite3 $(LDLIBS)

build/threads: tests/threads.c $(SRC) $(HDR)
	mkdir -p build
	$(CC) -DSQLITE_CORE -O2 -g -pthread $(WARN) -o $@ tests/threads.c $(SRC) -lsqlite3 $(LDLIBS)

build/threads-tsan: tests/threads.c $(SRC) $(HDR)
	mkdir -p build
	$(CC) -DSQLITE_CORE -O1 -g -fsanitize=thread -pthread $(WARN) -o $@ tests/threads.c $(SRC) \
	  -lsqlite3 $(LDLIBS)

# Fuzzing (tests/fuzz/fuzz.c): `make fuzz FUZZ_SECONDS=300` runs libFuzzer on the committed
# seeds and corpus, keeps what it finds in build/fuzz-corpus and crashes in build/fuzz-crashes/.
# build/fuzz-replay runs every committed input once (make test).
FUZZ_SECONDS ?= 60
FUZZ_INPUTS = tests/fuzz/seeds tests/fuzz/corpus tests/fuzz/regress

build/fuzz: tests/fuzz/fuzz.c $(SRC) $(HDR)
	mkdir -p build
	clang -DSQLITE_CORE -O1 -g -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined $(WARN) -o $@ tests/fuzz/fuzz.c $(SRC) -lsqlite3 $(LDLIBS)

build/fuzz-replay: tests/fuzz/fuzz.c $(SRC) $(HDR)
	mkdir -p build
	$(CC) -DMLREC_FUZZ_REPLAY $(TEST_CFLAGS) -o $@ tests/fuzz/fuzz.c $(SRC) -lsqlite3 $(LDLIBS)

fuzz: build/fuzz
	mkdir -p build/fuzz-corpus build/fuzz-crashes
	build/fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -timeout=20 -rss_limit_mb=2048 \
	  -print_final_stats=1 -artifact_prefix=build/fuzz-crashes/ build/fuzz-corpus $(FUZZ_INPUTS)

# sqlite3_interrupt() latency of train_mf() and the index build on 25M synthetic ratings (the
# size of MovieLens 25M; generated once into tests/tmp, about 1 GB): at most 100 ms.
bench-interrupt: build/threads
	mkdir -p tests/tmp
	build/threads -ratings 25000000 -points 8 -max-ms 100 interrupt

$(DB): sql/load_movielens.sql data/movielens.sh
	rm -f $@.tmp
	cd "$$(bash data/movielens.sh)" && sqlite3 "$(CURDIR)/$@.tmp" < "$(CURDIR)/sql/load_movielens.sql"
	mv $@.tmp $@

demo: $(LIB) $(DB)
	sqlite3 $(DB) < sql/demo.sql

test: $(LIB) build/asan/mlrec.so build/oom build/threads build/threads-tsan build/fuzz-replay \
  build/fuzz $(DB)
	bash tests/run

clean:
	rm -f mlrec.so mlrec.dylib mlrec.dll $(DB) $(DB).tmp
	rm -rf build tests/tmp
