// mlrec: a movie recommender inside SQLite, as a Node.js package.
//
// The package carries the compiled extension (mlrec.so, copied in by `make node`) and loads it
// into a better-sqlite3 connection (version 12 on Node.js 20):
//
//   const Database = require('better-sqlite3');
//   const mlrec = require('mlrec');
//   const db = new Database('movielens.db');
//   mlrec.load(db);
//   db.prepare('SELECT * FROM similar_movies(260, 3)').all();
//
// getLoadablePath() is the path of the library, for any other driver.  Documentation:
// docs/node.md of the mlrec repository.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const SUFFIX = { darwin: 'dylib', win32: 'dll' }[process.platform] || 'so';

// The full path of the extension library installed with this package (mlrec.so on Linux).
function getLoadablePath() {
  const file = path.join(__dirname, `mlrec.${SUFFIX}`);
  if (!fs.existsSync(file)) {
    throw new Error(`mlrec: no extension library ${file}: this copy of the package was made ` +
      'without it. Run `make node` in the mlrec checkout, then install bindings/node or the ' +
      'tarball build/node/mlrec-*.tgz.');
  }
  return file;
}

// Load mlrec into db, a better-sqlite3 Database (or any connection with a loadExtension(path)
// method, such as Node.js 22's node:sqlite DatabaseSync opened with allowExtension: true).
function load(db) {
  if (db === null || typeof db !== 'object' || typeof db.loadExtension !== 'function') {
    throw new TypeError('mlrec.load: expected a better-sqlite3 Database (an object with a ' +
      `loadExtension method), got ${db === null ? 'null' : typeof db}`);
  }
  db.loadExtension(getLoadablePath());
}

module.exports = { load, getLoadablePath };
