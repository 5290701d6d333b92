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
LDLIBS   = -lm -pthread

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

.PHONY: all deps demo test clean

# Debian packages: compiler, SQLite and its shell, Tcl with its SQLite binding (the test
# harness), scikit-learn (the notebook's kNN, checked against), curl/unzip (MovieLens download).
DEB_PACKAGES = build-essential libsqlite3-dev sqlite3 tcl libsqlite3-tcl \
  python3 python3-numpy python3-scipy python3-sklearn curl unzip ca-certificates

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

$(DB): sql/load_movielens.sql data/movielens.sh
	rm -f $@.tmp
	cd "$$(bash data/movielens.sh)" && sqlite3 "$(CURDIR)/$@.tmp" < "$(CURDIR)/sql/load_movielens.sql"
	mv $@.tmp $@

demo: $(LIB) $(DB)
	sqlite3 $(DB) < sql/demo.sql

test: $(LIB) build/asan/mlrec.so build/oom $(DB)
	bash tests/run

clean:
	rm -f mlrec.so mlrec.dylib mlrec.dll $(DB) $(DB).tmp
	rm -rf build tests/tmp
