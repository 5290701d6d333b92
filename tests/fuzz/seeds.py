#!/usr/bin/python3
"""tests/fuzz/seeds.py: writes the hand-made inputs of the fuzzer: seeds into tests/fuzz/seeds/,
and the inputs that found bugs, as readable programs, into tests/fuzz/regress/.

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
NAMES = ["ratings", "r0", "su", "si", "userId", "movieId", "rating", "x", "",
         "mlrec_saved_models", "id", "features", "ranking", "rating", "popular",
         "content", "hybrid", "Drama", "embedding", "timestamp"]
def j_misc(i):         return bytes([8, i])            # null, true, [1], {}, "\u0000"

KEYS = ["factors", "epochs", "learning_rate", "regularization", "bias_regularization",
        "init_std", "seed", "ratings_table", "user_column", "movie_column", "rating_column",
        "factor", "", "threads", "validation", "patience", "knn_weight", "neighbors",
        "shrinkage", "iterations", "alpha", "recency", "window", "als_weight",
        "sequence_weight", "model", "genre", "movies", "include_rated", "method",
        "content", "content_weight", "k", "threshold", "time_column",
        "movies_table", "tags_table", "embeddings_table", "min_ratings"]

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
def similar_opts(v, k, opts):    return bytes([20]) + v + k + opts
def recommend_opts(v, k, opts):  return bytes([21]) + v + k + opts
def train_ranker(opts):          return bytes([22]) + opts
def evaluate(table, opts):       return bytes([23, table]) + opts   # ratings r0 su nope
def split_hash(a, b):            return bytes([24, 1]) + a + b
def similar_users(u, k):         return bytes([25, 1]) + u + k
def similar_users_all():         return bytes([25, 0])
def audience(v, k):              return bytes([25, 2, 0]) + v + k
def audience_opts(v, k, opts):   return bytes([25, 2, 1]) + v + k + opts
def audience_all():              return bytes([25, 3])

GENRES = ["Drama", "Comedy|Drama", "Horror", "", "(no genres listed)", "Comedy"]

CALLBACKS = ["predict", "similar_movies", "recommend", "mlrec_config", "train_mf",
             "mlrec_evaluate", "mlrec_models", "mlrec_split_hash", "train_ranker",
             "mlrec_save_model", "mlrec_load_model", "mlrec_training_log", "audience"]
VIEWS = {"ratings": 1, "movies": 2, "tags": 4, "embeddings": 8}

def tables(rows, typed=True, view=False, factors=(), genres=None, tags=(), callback=None,
           views=()):
    """genres: 12 indexes into GENRES for movies 0..11 (then a movies table is made),
    tags: (user value, movie value, tag index) rows; callback: a name of CALLBACKS that the
    tables named in views (keys of VIEWS) call on every row, being TEMP views."""
    flags = (1 if typed else 0) | (2 if view else 0) | (4 if genres else 0)
    b = bytes([flags | (8 if callback else 0)])
    if callback:
        b += bytes([CALLBACKS.index(callback), sum(VIEWS[v] for v in views)])
    b += bytes([len(rows)])
    if genres:
        b += bytes(genres) + bytes([len(tags)])
        for u, m, t in tags:
            b += u + m + bytes([t])
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
    "similar_users": tables(FIXTURE) + similar_users(small(1), small(5))
        + similar_users(text("1"), small(2)) + similar_users(small(2), neg(1))
        + similar_users_all() + insert(small(4), small(1), half(6)) + similar_users_all(),
    "audience": tables(FIXTURE) + audience(small(5), small(3)) + audience(small(2), small(0))
        + audience(text("5"), small(2)) + audience(small(5), neg(1)) + audience(null(), small(2))
        + audience_opts(small(4), small(5), options(("min_ratings", j_int(3))))
        + audience_opts(small(4), small(5), options(("min_ratings", j_int(0))))
        + audience_all() + insert(small(3), small(5), half(6)) + audience(small(5), small(5))
        + insert(small(1), small(11), half(4)) + audience(small(11), small(5)) + audience_all(),
    "spark": tables(FIXTURE, factors=SPARK + [(True, small(1), [j_int(3), j_int(3)]),
                                              (False, text("9"), [j_int(1)])])
        + import_m() + load_m() + predict(small(1), small(2)) + recommend(small(2)),
    "spark_bad": tables(FIXTURE, factors=[(True, small(1), [j_misc(2), j_int(1)]),
                                          (False, small(1), None), (True, small(2), [])])
        + import_m() + load_m(),
    "models_and_options": tables(FIXTURE, genres=[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5],
                                 tags=[(small(1), small(2), 0), (small(2), small(7), 1)])
        + train_ranker(options(("factors", j_int(2))))
        + recommend_opts(small(1), small(3), options(("model", j_name(NAMES.index("rating")))))
        + recommend_opts(small(2), small(5), options(("include_rated", j_misc(1))))
        + recommend_opts(small(2), small(5), options(("model", j_name(NAMES.index("popular")))))
        + similar_opts(small(1), small(3), options(("method", j_name(NAMES.index("content")))))
        + similar_opts(small(2), small(3), options(("genre", j_name(NAMES.index("Drama")))))
        + train(options(("knn_weight", j_literal(3)), ("neighbors", j_int(2))))
        + predict(small(1), small(4)) + train(options(("validation", j_literal(3))))
        + evaluate(0, options(("k", j_int(2)))) + split_hash(small(1), small(2))
        + save_m() + load_m() + recommend(small(3)) + models(),
}

# Inputs that found a bug, written out as programs (see tests/robust.test).
REGRESS = {
    # a rating too small for a float became 0: similar_movies() said 0 for a cosine of 1
    "tiny-rating-rounds-to-zero": tables([(small(3), small(3), half(4)),
                                          (small(3), small(5), real(2.26239394021168e-76))])
        + similar_k(small(5), real(5.0)),
    # recommend() for a user with no ratings: pointer arithmetic on NULL in the ranking model's
    # work space (clang's UBSan; make test's libFuzzer run replays this directory)
    "ranker-empty-history": tables([(small(6), real(4.0), half(4))]) + recommend(small(1)),
    # issue 11: SQL that mlrec runs calling back into it.  mlrec_config() in the embeddings view
    # freed the content cache being filled (use after free, then a double free)
    "callback-config-embeddings": tables(FIXTURE, callback="mlrec_config", views=["embeddings"])
        + similar_opts(small(1), small(5), options(("method", j_name(NAMES.index("content"))),
                                                   ("content", j_name(NAMES.index("embedding")))))
        + similar_opts(small(1), small(5), options(("method", j_name(NAMES.index("content"))),
                                                   ("content", j_name(NAMES.index("embedding"))))),
    # ... and in the movies and tags views
    "callback-config-movies": tables(FIXTURE, genres=[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5],
                                     tags=[(small(1), small(2), 0)], callback="mlrec_config",
                                     views=["movies", "tags"])
        + similar_opts(small(1), small(3), options(("method", j_name(NAMES.index("content")))))
        + recommend_opts(small(1), small(3), options(("genre", j_name(NAMES.index("Drama"))))),
    # predict() of a new user in the ratings view freed the fold-in of the outer predict()
    "callback-predict-foldin": tables(FIXTURE, callback="predict", views=["ratings"])
        + train(options(("factors", j_int(2)))) + insert(small(9), small(1), half(8))
        + predict(small(9), small(3)),
    # unbounded recursion: a ratings view calling similar_movies(), train_ranker(), ...
    "callback-similar-recursion": tables(FIXTURE, callback="similar_movies", views=["ratings"])
        + similar(small(1)) + recommend(small(1)) + train(options()) + models(),
    "callback-evaluate-recursion": tables(FIXTURE, callback="mlrec_evaluate", views=["ratings"])
        + evaluate(1, options()) + similar(small(1)),
    "callback-ranker": tables(FIXTURE, callback="train_ranker", views=["ratings"])
        + recommend(small(1)) + train_ranker(options()),
    "callback-split-hash": tables(FIXTURE, callback="mlrec_split_hash", views=["ratings"])
        + similar_k(small(1), small(3)) + train(options(("factors", j_int(2))))
        + predict(small(1), small(4)),
}

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for sub, inputs in (("seeds", SEEDS), ("regress", REGRESS)):
        os.makedirs(os.path.join(here, sub), exist_ok=True)
        for name, data in inputs.items():
            with open(os.path.join(here, sub, name), "wb") as f:
                f.write(data)

if __name__ == "__main__":
    main()
