"""mlrec: a movie recommender inside SQLite, as a Python package.

The package carries the compiled extension (mlrec.so) and loads it into a connection:

    import sqlite3, mlrec
    db = sqlite3.connect("movielens.db")
    mlrec.load(db)
    db.execute("SELECT * FROM similar_movies(260, 3)").fetchall()

load() takes a connection of Python's sqlite3 module or of APSW; loadable_path() is the path of
the library, for any other driver.  Documentation: docs/python.md of the mlrec repository.
"""
import os

__version__ = "0.1.0"
__all__ = ["load", "loadable_path", "LoadError", "__version__"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAMES = ("mlrec.so", "mlrec.dylib", "mlrec.dll")


class LoadError(RuntimeError):
    """The extension cannot be loaded into this connection; the message says why and what to do."""


def loadable_path():
    """The full path of the extension library installed with this package (mlrec.so on Linux)."""
    for name in _NAMES:
        path = os.path.join(_HERE, name)
        if os.path.isfile(path):
            return path
    raise LoadError(
        f"mlrec: no extension library ({', '.join(_NAMES)}) in {_HERE}: this copy of the package "
        "was made without it. Install the wheel that `make python` builds "
        "(build/python/dist/mlrec-*.whl), not the bare sources of bindings/python.")


_NO_LOADING = (
    "mlrec.load: this Python's sqlite3 module cannot load extensions: sqlite3.Connection has no "
    "enable_load_extension, because this Python ({executable}, {version}) was built without "
    "--enable-loadable-sqlite-extensions (pyenv builds Python that way by default, and a venv "
    "made from such a Python inherits it). Three ways out: (1) use Debian's or Ubuntu's "
    "/usr/bin/python3, or a venv made from it (/usr/bin/python3 -m venv .venv); (2) rebuild "
    "this Python with extension loading, with pyenv: "
    "PYTHON_CONFIGURE_OPTS=\"--enable-loadable-sqlite-extensions\" pyenv install --force "
    "{version}; (3) use APSW (pip install apsw, or Debian's python3-apsw), whose connections "
    "mlrec.load() takes too: mlrec.load(apsw.Connection(path)).")


def load(conn):
    """Load mlrec into conn, a sqlite3.Connection (or an apsw.Connection).

    Extension loading is switched on for the load only and switched off again, so that no SQL
    run on the connection afterwards can load an extension.  Raises LoadError when the
    connection cannot load extensions at all (a Python built without extension loading),
    TypeError when conn is not a connection, and the driver's own error
    (sqlite3.OperationalError) when SQLite refuses the library.
    """
    import sqlite3
    if hasattr(conn, "enable_load_extension") and hasattr(conn, "load_extension"):
        enable, load_ = conn.enable_load_extension, conn.load_extension     # sqlite3, APSW >= 3.41
    elif hasattr(conn, "enableloadextension") and hasattr(conn, "loadextension"):
        enable, load_ = conn.enableloadextension, conn.loadextension        # APSW before 3.41
    elif isinstance(conn, sqlite3.Connection):
        import platform
        import sys
        raise LoadError(_NO_LOADING.format(executable=sys.executable,
                                           version=platform.python_version()))
    else:
        raise TypeError("mlrec.load: expected a sqlite3.Connection or an apsw.Connection, got "
                        f"{type(conn).__module__}.{type(conn).__qualname__}")
    path = loadable_path()
    enable(True)
    try:
        load_(path)
    finally:
        enable(False)
