# mlrec: a movie recommender as a SQLite loadable extension.
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

.PHONY: all demo test clean

all: $(LIB)

$(LIB): $(SRC) $(HDR)
	$(CC) $(CFLAGS) $(WARN) $(PIC) -shared -o $@ $(SRC) $(LDLIBS)

# The same library with AddressSanitizer and UndefinedBehaviorSanitizer, for tests.
mlrec-asan.so: $(SRC) $(HDR)
	$(CC) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined $(WARN) $(PIC) -shared -o $@ $(SRC) $(LDLIBS)

$(DB): sql/load_movielens.sql data/movielens.sh
	rm -f $@.tmp
	cd "$$(bash data/movielens.sh)" && sqlite3 "$(CURDIR)/$@.tmp" < "$(CURDIR)/sql/load_movielens.sql"
	mv $@.tmp $@

demo: $(LIB) $(DB)
	sqlite3 $(DB) < sql/demo.sql

test: $(LIB) mlrec-asan.so
	bash tests/run

clean:
	rm -f mlrec.so mlrec.dylib mlrec.dll mlrec-asan.so $(DB) $(DB).tmp
	rm -rf tests/tmp
