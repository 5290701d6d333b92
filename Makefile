# mlrec: a movie recommender as a SQLite loadable extension.
#   make deps     install the Debian/Ubuntu packages the build, demo and tests need
#                 (scripts/deps.sh: apt-get as root, through sudo as another user)
#   make          build ./mlrec.so (warnings are errors)
#   make demo     build, load MovieLens ml-latest-small into movielens.db (data/movielens.sh
#                 finds it), run the demo queries of sql/demo.sql
#   make test     every test suite (Tcl, SQL scripts, clients, sanitizers)
#   make bench    timings on ml-latest-small and a synthetic 2.5M-rating database, against
#                 scikit-learn (BENCH_25M=1 adds the 25M preset); prints a table, writes CSV
#   make generator  build/generate, the synthetic MovieLens-shaped database generator
#   make static   build/libmlrec.a, for programs that link mlrec in (header ext/mlrec_static.h)
#   make example  build/example: tests/clients/example.c linked statically
#   make dqlite   build/dqlite-node and build/dqlite-client, for tests/dqlite (libdqlite-dev)
#   make learning-curve  redraw docs/learning_curve.svg from the training log (gnuplot)
#   make eval     recommendation quality on MovieLens (sql/eval.sql): the README's numbers
#   make install  mlrec.so, libmlrec.a and mlrec_static.h under $(DESTDIR)$(PREFIX)/lib, /include
#   make fuzz     libFuzzer on every function for FUZZ_SECONDS (default 60)
#   make bench-interrupt  sqlite3_interrupt() latency on 25M synthetic ratings
#   make python   build/python/dist/mlrec-*.whl, the Python package (import mlrec; mlrec.load(conn))
#   make node     the Node.js package: bindings/node with mlrec.so, and build/node/mlrec-*.tgz
#   make serve    the web page (web/server.py) on http://127.0.0.1:8000/, ratings in web.db
#                 (WEB_DB, WEB_PORT, WEB_ARGS: e.g. make serve WEB_PORT=8080 WEB_ARGS='--user 7')
#   make uninstall, make clean

CC      ?= cc
AR      ?= ar
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror
PIC      = -fPIC
LDLIBS   = -lm -pthread
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

# The sources: the top floor in ext/, the core and the wings in ext/*/ (see ext/surface.h).
SRC  = $(wildcard ext/*.c ext/*/*.c)

UNAME_S := $(shell uname -s 2>/dev/null)
# The loadable module is mlrec.so on Linux, mlrec.dylib on macOS, mlrec.dll on Windows
# (MinGW); SQLite's load_extension('./mlrec') adds the right suffix itself.
ifeq ($(OS),Windows_NT)
  SOEXT = dll
  EXE = .exe
  PIC =
else ifeq ($(UNAME_S),Darwin)
  SOEXT = dylib
else
  SOEXT = so
endif
LIB = mlrec.$(SOEXT)
STATIC = build/libmlrec.a
EXAMPLE = build/example$(EXE)

# What mlrec_debug() reports: the git commit of the checkout ("unknown" in a tarball) and the
# compiler flags of each build ($(call buildinfo,FLAGS)), compiled into ext/version.c alone.
# build/commit is rewritten only when the commit changes, so that only version.c rebuilds.
GIT_COMMIT := $(or $(shell test -e .git && git describe --always --dirty --abbrev=12 \
  --exclude='*' 2>/dev/null),unknown)
buildinfo = -DMLREC_GIT_COMMIT='"$(GIT_COMMIT)"' \
  -DMLREC_BUILD_FLAGS='"$(strip $(subst ',,$(subst ",,$(1))))"'
$(shell mkdir -p build && (echo '$(GIT_COMMIT)' | cmp -s - build/commit || \
  echo '$(GIT_COMMIT)' > build/commit))

# $(call variant,NAME,COMPILE,REPORTED_FLAGS): every source of ext/ compiled once into
# build/obj/NAME/ (OBJ_NAME), one object per source, with the header dependencies the compiler
# finds (-MMD), so that `make -j` helps and a one-file change rebuilds one file.  Each build of
# mlrec (the loadable module, the static library, the sanitizer and test builds) is a variant.
define variant
OBJ_$(1) = $$(patsubst ext/%.c,build/obj/$(1)/%.o,$$(SRC))
build/obj/$(1)/%.o: ext/%.c
	@mkdir -p $$(@D)
	$(2) $$(XFLAGS) -MMD -MP -c -o $$@ $$<
build/obj/$(1)/version.o: build/commit
build/obj/$(1)/version.o: XFLAGS = $$(call buildinfo,$(3))
-include $$(patsubst ext/%.c,build/obj/$(1)/%.d,$$(SRC))
endef

DB ?= movielens.db
, := ,

.PHONY: all deps demo test bench generator static example dqlite install uninstall learning-curve \
  eval clean bench-interrupt fuzz python node serve

# Debian packages: compiler, SQLite and its shell, Tcl with its SQLite binding (the test
# harness), scikit-learn (the notebook's kNN, checked against), APSW (docs/clients.md's example
# for Pythons without extension loading), pip, setuptools, wheel and venv (make python builds the
# wheel offline; tests/packages installs it into a venv), curl/unzip (MovieLens download),
# gnuplot-nox (the learning curve of docs/learning_curve.sh), valgrind (tests/threads.c), clang
# and its sanitizer runtimes (libFuzzer, tests/fuzz), Chromium and ChromeDriver (tests/web: the
# web page in a headless browser), libdqlite-dev (tests/dqlite: replication on dqlite). scripts/deps.sh reads the list from here
# (it runs before make is installed): keep it one assignment, continued with backslashes.
DEB_PACKAGES = build-essential libsqlite3-dev sqlite3 tcl libsqlite3-tcl \
  python3 python3-numpy python3-scipy python3-sklearn python3-apsw python3-pip python3-setuptools \
  python3-wheel python3-venv curl unzip ca-certificates gnuplot-nox valgrind clang libclang-rt-dev \
  chromium chromium-driver libdqlite-dev

all: $(LIB)

deps:
	sh scripts/deps.sh

# The loadable module.
$(eval $(call variant,so,$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(PIC),$(CFLAGS)))
$(LIB): $(OBJ_so)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $(OBJ_so) $(LDLIBS)

# The same library with AddressSanitizer and UndefinedBehaviorSanitizer, for tests.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined
$(eval $(call variant,asan,$(CC) $(ASAN_FLAGS) $(WARN) $(PIC),$(ASAN_FLAGS)))
build/asan/mlrec.so: $(OBJ_asan)
	@mkdir -p build/asan
	$(CC) $(ASAN_FLAGS) -shared -o $@ $(OBJ_asan) $(LDLIBS)

# The static library: the same sources compiled with -DSQLITE_CORE, so that they call the
# SQLite library the program links with instead of the API table a loadable module gets.
$(eval $(call variant,static,$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -DSQLITE_CORE,$(CFLAGS) -DSQLITE_CORE))
$(STATIC): $(OBJ_static)
	rm -f $@
	$(AR) rcs $@ $(OBJ_static)

static: $(STATIC)

$(EXAMPLE): tests/clients/example.c ext/mlrec_static.h $(STATIC)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Iext $(LDFLAGS) -o $@ tests/clients/example.c \
	  $(STATIC) -lsqlite3 $(LDLIBS)

example: $(EXAMPLE)

# tests/dqlite (docs/persistence.md, "Replicated with dqlite"): a dqlite node with mlrec linked
# statically (Debian's libdqlite-dev), and a client of dqlite's wire protocol that also runs its
# commands on plain SQLite with mlrec linked in, to compare.
DQLITE = build/dqlite-node build/dqlite-client
build/dqlite-node: tests/dqlite/node.c ext/mlrec_static.h $(STATIC)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Iext $(LDFLAGS) -o $@ tests/dqlite/node.c \
	  $(STATIC) -ldqlite -lsqlite3 $(LDLIBS)
build/dqlite-client: tests/dqlite/client.c ext/mlrec_static.h $(STATIC)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Iext $(LDFLAGS) -o $@ tests/dqlite/client.c \
	  $(STATIC) -lsqlite3 $(LDLIBS)

dqlite: $(DQLITE)

install: $(LIB) $(STATIC)
	install -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)"
	install -m 755 $(LIB) "$(DESTDIR)$(LIBDIR)/$(LIB)"
	install -m 644 $(STATIC) "$(DESTDIR)$(LIBDIR)/libmlrec.a"
	install -m 644 ext/mlrec_static.h "$(DESTDIR)$(INCLUDEDIR)/mlrec_static.h"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/$(LIB)" "$(DESTDIR)$(LIBDIR)/libmlrec.a" \
	  "$(DESTDIR)$(INCLUDEDIR)/mlrec_static.h"

# C test programs: the extension compiled in (-DSQLITE_CORE) and linked against libsqlite3,
# with AddressSanitizer, LeakSanitizer and UBSan.
TEST_CFLAGS = -DSQLITE_CORE -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined $(WARN)

# The OOM and thread tests run every similar_movies() query and every chunk of a sweep as a job
# on the connection's pool of threads (ext/similar/knn.c, sweep.c), however small: their tables
# are.  So the pool's allocations fail too, and its threads meet every path.
POOL_ALWAYS = -DKNN_PARALLEL_PAIRS=0 -DKNN_SWEEP_POOL=0

$(eval $(call variant,oom,$(CC) $(TEST_CFLAGS) $(POOL_ALWAYS),$(TEST_CFLAGS) $(POOL_ALWAYS)))
build/oom: tests/oom.c $(OBJ_oom)
	$(CC) $(TEST_CFLAGS) -o $@ tests/oom.c $(OBJ_oom) -lsqlite3 $(LDLIBS)

THREADS_FLAGS = -DSQLITE_CORE $(POOL_ALWAYS) -pthread $(WARN)
$(eval $(call variant,threads,$(CC) -O2 -g $(THREADS_FLAGS),-O2 -g $(THREADS_FLAGS)))
build/threads: tests/threads.c $(OBJ_threads)
	$(CC) -O2 -g $(THREADS_FLAGS) -o $@ tests/threads.c $(OBJ_threads) -lsqlite3 $(LDLIBS)

TSAN_FLAGS = -O1 -g -fsanitize=thread $(THREADS_FLAGS)
$(eval $(call variant,tsan,$(CC) $(TSAN_FLAGS),$(TSAN_FLAGS)))
build/threads-tsan: tests/threads.c $(OBJ_tsan)
	$(CC) $(TSAN_FLAGS) -o $@ tests/threads.c $(OBJ_tsan) -lsqlite3 $(LDLIBS)

# Fuzzing (tests/fuzz/fuzz.c): `make fuzz FUZZ_SECONDS=300` runs libFuzzer on the committed
# seeds and corpus, keeps what it finds in build/fuzz-corpus and crashes in build/fuzz-crashes/.
# build/fuzz-replay runs every committed input once (make test), built with clang as well: its
# UBSan checks more (e.g. arithmetic on a NULL pointer) than gcc's.
FUZZ_SECONDS ?= 60
FUZZ_INPUTS = tests/fuzz/seeds tests/fuzz/corpus tests/fuzz/regress
FUZZ_FLAGS = -DSQLITE_CORE -O1 -g -fno-sanitize-recover=undefined $(WARN)

$(eval $(call variant,fuzz,clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link$(,)address$(,)undefined,$(FUZZ_FLAGS)))
build/fuzz: tests/fuzz/fuzz.c $(OBJ_fuzz)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz.c \
	  $(OBJ_fuzz) -lsqlite3 $(LDLIBS)

$(eval $(call variant,replay,clang $(TEST_CFLAGS),$(TEST_CFLAGS)))
build/fuzz-replay: tests/fuzz/fuzz.c $(OBJ_replay)
	clang -DMLREC_FUZZ_REPLAY $(TEST_CFLAGS) -o $@ tests/fuzz/fuzz.c $(OBJ_replay) \
	  -lsqlite3 $(LDLIBS)

fuzz: build/fuzz
	mkdir -p build/fuzz-corpus build/fuzz-crashes
	build/fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -timeout=20 -rss_limit_mb=2048 \
	  -print_final_stats=1 -artifact_prefix=build/fuzz-crashes/ build/fuzz-corpus $(FUZZ_INPUTS)

# sqlite3_interrupt() latency of every path on the pool of threads (train_mf(), train_ranker() with
# its sequence links, similar_movies() queries and the sweep) and of the index build on 25M
# synthetic ratings (the size of MovieLens 25M; generated once into tests/tmp, about 630 MB):
# at most 100 ms of CPU each.
bench-interrupt: build/threads
	mkdir -p tests/tmp
	build/threads -ratings 25000000 -points 8 -max-ms 100 interrupt

# data/movielens.sh finds the CSV files (or says, once, how to provide them); the database is
# built as $@.tmp and renamed when complete, and a failure leaves neither file.
$(DB): sql/load_movielens.sql data/movielens.sh
	@rm -f $@.tmp
	@dir=$$(bash data/movielens.sh) || exit 1; \
	  echo "loading MovieLens from $$dir into $@"; \
	  (cd "$$dir" && sqlite3 "$(CURDIR)/$@.tmp" < "$(CURDIR)/sql/load_movielens.sql") || \
	  { rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# docs/learning_curve.svg, the README's picture, from mlrec_training_log.
learning-curve: $(LIB) $(DB)
	bash docs/learning_curve.sh $(DB) docs/learning_curve.svg

demo: $(LIB) $(DB)
	sqlite3 $(DB) < sql/demo.sql

# Prints the tables of the README's "Recommendation quality" and a PASS/FAIL line per target;
# fails if a target is missed.
eval: $(LIB) $(DB)
	mkdir -p build
	sqlite3 $(DB) < sql/eval.sql > build/eval.txt; status=$$?; cat build/eval.txt; \
	  test $$status -eq 0 && ! grep -q '^FAIL' build/eval.txt

test: $(LIB) build/asan/mlrec.so build/oom build/threads build/threads-tsan build/fuzz-replay \
  build/fuzz $(DB) $(EXAMPLE) build/generate python node $(DQLITE)
	bash tests/run

# The packages (docs/python.md, docs/node.md) carry mlrec.so without its debug information.
PYTHON ?= /usr/bin/python3
STRIP_DEBUG ?= strip --strip-debug

# The Python package: bindings/python and mlrec.so staged in build/python/src (which is also
# what PYTHONPATH names for the docs and make serve), the wheel built from there offline with
# Debian's pip, setuptools and wheel into build/python/dist/mlrec-VERSION-py3-none-PLATFORM.whl.
PY_SOURCES = bindings/python/pyproject.toml bindings/python/setup.py \
  $(wildcard bindings/python/mlrec/*.py)
python: build/python/.built
build/python/.built: $(LIB) $(PY_SOURCES)
	rm -rf build/python
	mkdir -p build/python/src/mlrec build/python/dist
	cp bindings/python/pyproject.toml bindings/python/setup.py build/python/src/
	cp bindings/python/mlrec/*.py build/python/src/mlrec/
	cp $(LIB) build/python/src/mlrec/ && $(STRIP_DEBUG) build/python/src/mlrec/$(LIB)
	cd build/python && $(PYTHON) -m pip wheel --quiet --no-build-isolation --no-index --no-deps \
	  --wheel-dir dist ./src
	rm -rf build/python/src/build build/python/src/*.egg-info
	@ls build/python/dist/*.whl
	@touch $@

# The Node.js package: mlrec.so copied into bindings/node (ignored by git), so that
# `npm install /path/to/bindings/node` works, and packed into build/node/mlrec-VERSION.tgz; a copy
# in build/node/modules/mlrec is what NODE_PATH names for the docs.
NODE_SOURCES = bindings/node/package.json bindings/node/index.js bindings/node/index.d.ts
node: build/node/.built
build/node/.built: $(LIB) $(NODE_SOURCES)
	rm -rf build/node
	mkdir -p build/node/modules/mlrec
	cp $(LIB) bindings/node/ && $(STRIP_DEBUG) bindings/node/$(LIB)
	cp $(NODE_SOURCES) bindings/node/$(LIB) build/node/modules/mlrec/
	npm pack --silent --pack-destination build/node ./bindings/node >/dev/null
	@ls build/node/*.tgz
	@touch $@

# The web page (docs/web.md): your ratings go into WEB_DB, a copy of movielens.db made once.
WEB_DB ?= web.db
WEB_PORT ?= 8000
WEB_ARGS ?=
serve: python $(DB)
	@test -e $(WEB_DB) || { echo "copying $(DB) to $(WEB_DB): your ratings go there"; \
	  cp $(DB) $(WEB_DB); }
	PYTHONPATH=build/python/src $(PYTHON) web/server.py --db $(WEB_DB) --port $(WEB_PORT) $(WEB_ARGS)

# The synthetic data generator (data/generate.c) and its presets.
GEN = build/generate
generator: $(GEN)
$(GEN): data/generate.c
	mkdir -p build
	$(CC) $(CFLAGS) $(WARN) -o $@ data/generate.c -lsqlite3 -lm

build/bench/synth-%.db: $(GEN)
	mkdir -p build/bench
	$(GEN) --preset $* $@.tmp
	mv $@.tmp $@

# Benchmarks report, never fail on a time.  BENCH_25M=1 adds the ML-25M-shaped preset.
BENCH_DBS = ml-latest-small=$(DB) synth-2.5m=build/bench/synth-2.5m.db \
  $(if $(BENCH_25M),synth-25m=build/bench/synth-25m.db)
bench: $(LIB) $(DB) $(patsubst %,build/bench/synth-%.db,2.5m $(if $(BENCH_25M),25m))
	/usr/bin/python3 tests/bench/bench.py $(BENCH_DBS)

clean:
	rm -f mlrec.so mlrec.dylib mlrec.dll $(DB) $(DB).tmp $(WEB_DB) bindings/node/mlrec.*
	rm -rf build tests/tmp
