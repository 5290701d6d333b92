#!/usr/bin/python3
"""tests/fuzz/seeds.py: writes the hand-made seed inputs of the fuzzer into tests/fuzz/seeds/.

Each seed is a small program in the byte format that tests/fuzz/fuzz.c decodes (see the
functions of that file: createTables, runOps, bindValue, optionsText, appendJsonValue).  The
fuzzer starts from these and from tests/fuzz/corpus/ (inputs it found that reach new code).

    /usr/bin/python3 tests/fuzz/seeds.py
"""
import os
import struct

# ---- values (bindValue) --------------------------------------------------------------------
def null():            return bytes([0])
def small(v):          return bytes([1, v])            # 0..11
def neg(v):            return bytes([6, v])            # 0, -1, -2, -3
def i64(v):            return bytes([7]) + struct.pack(">q", v)
def special_int(i):    return bytes([8, i])            # index into aSpecialInt
def half(v):           return bytes([9, v])            # 0.5 * (v % 11)
def real(r):           return bytes([11]) + struct.pack(">d", r)
def special_real(i):   return bytes([12, i])           # index into aSpecialReal
def text(s):           b = s.encode(); return bytes([13, len(b)]) + b
def num_text(v):       return bytes([14, v])
def blob(b):           return bytes([15, len(b)]) + b

# ---- JSON values and options (appendJsonValue, optionsText) ----------------------------------
def j_int(v):          return bytes([0, v + 4])        # -4..35
def j_special(i):      return bytes([3, i])
def j_real(x):         return bytes([4, x])            # x / 64
def j_literal(i):      return bytes([5, i])            # 1e400, -0.0, 1e-7, 0.5, 2.5e-3, 1.5
def j_name(i):         return bytes([6, i])            # ratings, r0, su, si, userId, ...
def j_misc(i):         return bytes([8, i])            # null, true, [1], {}, "\u0000"

KEYS = ["factors", "epochs", "learning_rate", "regularization", "bias_regularization",
        "init_std", "seed", "ratings_table", "user_column", "movie_column", "rating_column",
        "factor", ""]

def options(*pairs):
    """A JSON object of at most 3 (key, json value) pairs."""
    assert len(pairs) <= 3
    b = bytes([len(pairs) if pairs else 4])   # k % 8 != 0, k % 4 = number of keys
    for key, value in pairs:
        b += bytes([KEYS.index(key)]) + value
    return b

def raw_options(s):
    b = s.encode()
    return bytes([0, len(b)]) + b

# ---- operations (runOps) -------------------------------------------------------------------
def similar(v):        return bytes([0]) + v
def similar_k(v, k):   return bytes([1]) + v + k
def recommend(v):      return bytes([2]) + v
def recommend_k(v, k): return bytes([3]) + v + k
def predict(u, m):     return bytes([4]) + u + m
def train(opts):       return bytes([5]) + opts
def train_value(v):    return bytes([6]) + v
def config(opts):      return bytes([7]) + opts
def models():          return bytes([8])
def similar_all():     return bytes([9])
def recommend_all():   return bytes([10])
def save(v):           return bytes([11]) + v
def load(v):           return bytes([12]) + v
def save_m():          return bytes([13])
def load_m():          return bytes([14])
def import_m():        return bytes([15, 1])
def factor_row(users, id_value, features):
    """features: a list of JSON values, or None for a raw value (then id_value, value)."""
    b = bytes([16, 1 if users else 0]) + id_value
    if features is None:
        return b + bytes([0]) + null()
    return b + bytes([1, len(features)]) + b"".join(features)
def insert(u, m, r):   return bytes([17, 0]) + u + m + r
def delete_user(u):    return bytes([17, 1]) + u
def set_rating(r, m):  return bytes([17, 2]) + r + m
def damage(k, *vals):  return bytes([18, k]) + b"".join(vals)
def txn(k):            return bytes([19, k])   # BEGIN COMMIT ROLLBACK SAVEPOINT ROLLBACK-TO RELEASE

def tables(rows, typed=True, view=False, factors=()):
    b = bytes([(1 if typed else 0) | (2 if view else 0), len(rows)])
    for u, m, r in rows:
        b += u + m + r
    b += bytes([len(factors)])
    for users, id_value, features in factors:
        b += factor_row(users, id_value, features)[1:]
    return b

# The fixture of data/fixture.sql, movies renumbered 1..7 (10 -> 1, ..., 70 -> 7).
FIXTURE = [(small(1), small(1), half(10)), (small(1), small(2), half(6)), (small(1), small(3), half(8)),
           (small(1), small(5), half(4)), (small(1), small(6), half(8)),
           (small(2), small(1), half(8)), (small(2), small(2), half(4)), (small(2), small(4), half(10)),
           (small(3), small(2), half(2)), (small(3), small(3), half(4)), (small(3), small(4), half(8))]
SPARK = [(True, small(1), [j_int(1), j_int(0)]), (True, small(2), [j_int(0), j_int(1)]),
         (False, small(1), [j_int(2), j_int(1)]), (False, small(2), [j_real(32), j_int(2)]),
         (False, small(3), [j_int(1), j_int(1)])]

SEEDS = {
    "basic": tables(FIXTURE) + similar_k(small(1), small(5)) + similar(small(4))
        + train(options(("factors", j_int(3)), ("epochs", j_int(5)))) + predict(small(1), small(4))
        + recommend_k(small(1), small(3)) + models(),
    "all_functions": tables(FIXTURE, factors=SPARK) + similar_all() + recommend_all()
        + save_m() + load_m() + import_m() + load(text("s")) + predict(small(2), small(3))
        + recommend(small(9)) + models(),
    "bad_arguments": tables(FIXTURE) + similar(text("1")) + similar_k(small(1), neg(1))
        + similar_k(small(1), real(2.5)) + similar(blob(b"\x01")) + predict(null(), small(1))
        + predict(text("x"), small(1)) + recommend_k(small(1), null()) + similar(special_int(3))
        + similar_k(special_int(4), special_int(3)) + similar(real(3.0)),
    "bad_rows": tables([(text("u1"), small(1), half(4)), (small(1), real(2.5), half(4)),
                        (small(2), small(1), special_real(4))], typed=False)
        + similar(small(1)) + train(options()) + delete_user(text("u1")) + similar(small(1)),
    "duplicates": tables(FIXTURE + [(small(1), small(1), half(2))]) + similar(small(1))
        + train(options()) + delete_user(small(1)) + similar(small(1)),
    "extremes": tables([(special_int(3), small(1), special_real(10)), (special_int(4), small(1), real(-1.5)),
                        (i64(-5), small(2), special_real(6)), (special_int(3), small(2), half(1)),
                        (small(0), special_int(3), special_real(11))])
        + similar_k(small(1), special_int(3)) + train(options(("factors", j_int(1))))
        + predict(special_int(3), small(2)) + recommend(special_int(4)) + similar(special_int(3)),
    "empty": tables([]) + similar(small(1)) + train(options()) + recommend(small(1)) + models()
        + save_m() + load_m(),
    "options": tables(FIXTURE) + train(options(("factor", j_int(3))))
        + train(options(("factors", j_int(0)))) + train(options(("learning_rate", j_literal(0))))
        + train(options(("factors", j_int(3)), ("factors", j_int(4))))
        + train(raw_options("[1,2]")) + train(raw_options("{\"epochs\":")) + train_value(small(3))
        + train(options(("learning_rate", j_int(1)), ("epochs", j_int(30))))
        + train(options(("seed", j_special(3)), ("init_std", j_real(100)))),
    "config": tables(FIXTURE, view=True) + similar(small(1))
        + config(options(("ratings_table", j_name(1)))) + similar(small(1))
        + config(options(("user_column", j_name(5)), ("movie_column", j_name(4))))
        + similar(small(1)) + config(options(("ratings_table", j_name(7))))
        + similar(small(1)) + config(options(("rating_column", j_misc(0)))),
    "changes": tables(FIXTURE) + similar(small(4)) + insert(small(1), small(4), half(6))
        + similar(small(4)) + txn(0) + set_rating(half(2), small(4)) + similar(small(4))
        + txn(3) + delete_user(small(2)) + similar(small(4)) + txn(4) + similar(small(4))
        + txn(2) + similar(small(4)) + train(options()) + insert(small(9), small(9), half(3))
        + recommend(small(9)) + models(),
    "saved_damage": tables(FIXTURE) + train(options(("factors", j_int(2)))) + save_m()
        + damage(0, blob(b"\x00\x00\xc0\x7f"), small(1)) + load_m()
        + save_m() + damage(3, small(2)) + load_m() + save_m() + damage(4, small(7)) + load_m()
        + save_m() + damage(10, text("{")) + load_m() + save(null()) + load(small(3))
        + save(text("")) + load(text("nope")),
    "spark": tables(FIXTURE, factors=SPARK + [(True, small(1), [j_int(3), j_int(3)]),
                                              (False, text("9"), [j_int(1)])])
        + import_m() + load_m() + predict(small(1), small(2)) + recommend(small(2)),
    "spark_bad": tables(FIXTURE, factors=[(True, small(1), [j_misc(2), j_int(1)]),
                                          (False, small(1), None), (True, small(2), [])])
        + import_m() + load_m(),
}

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

if __name__ == "__main__":
    main()
