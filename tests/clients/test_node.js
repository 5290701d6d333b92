// test_node.js: mlrec through Node.js and better-sqlite3 12 (installed by tests/run with
// npm ci --prefix tests/clients).
//
// Checks that example.js prints exactly what the sqlite3 shell prints for example.sql, then what
// a Node application meets: numbers bound as REAL, BigInt ids (safeIntegers), errors thrown as
// SqliteError with mlrec's message, iterators abandoned half-way, rollbacks seen by the next
// query, separate state per connection.  better-sqlite3 brings its own SQLite (3.5x), so this
// also runs mlrec on a newer SQLite than Debian's.
// Prints "clients/test_node.js: N passed, N failed"; exits 1 on any failure.
// Usage (from the repository root): node tests/clients/test_node.js [movielens.db]
'use strict';
const assert = require('node:assert');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const Database = require('better-sqlite3');

const root = path.resolve(__dirname, '..', '..');
const dbPath = process.argv[2] || path.join(root, 'movielens.db');
const extension = process.env.MLREC_LIB || path.join(root, 'mlrec');
let passed = 0, failed = 0;

function check(name, got, expected) {
  try {
    assert.deepStrictEqual(got, expected);
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL test_node.js ${name}\n  expected: ${JSON.stringify(expected)}\n` +
                `  got:      ${JSON.stringify(got)}`);
  }
}

// The message of the error fn throws, or null.
function errorOf(fn) {
  try {
    fn();
  } catch (e) {
    return e instanceof Database.SqliteError ? e.message : `not a SqliteError: ${e}`;
  }
  return null;
}

function open(file) {
  const db = new Database(file);
  db.loadExtension(extension);
  return db;
}

if (!fs.existsSync(dbPath)) {
  console.log(`FAIL test_node.js: MovieLens database ${dbPath} is missing (make movielens.db)`);
  console.log('clients/test_node.js: 0 passed, 1 failed');
  process.exit(1);
}

// 1. docs/clients.md's example prints what the sqlite3 shell prints.
const shell = execFileSync('sqlite3', [dbPath],
  { input: fs.readFileSync(path.join(root, 'tests/clients/example.sql')), cwd: root }).toString();
const example = spawnSync(process.execPath, ['tests/clients/example.js', dbPath, extension],
  { cwd: root, encoding: 'utf8' });
check('1.1 example.js runs', [example.status, example.stderr], [0, '']);
check('1.2 example.js prints what the shell prints', example.stdout, shell);

// 2. Loading.
let db = new Database(':memory:');
check('2.1 missing file',
      /no_such_extension/.test(errorOf(() => db.loadExtension('./no_such_extension'))), true);
db.loadExtension(extension);
check('2.2 loaded', db.prepare('SELECT mlrec_version() IS NOT NULL').pluck().get(), 1);
check('2.3 newer SQLite', db.prepare("SELECT sqlite_version() >= '3.39.0'").pluck().get(), 1);
db.close();

// 3. Parameters as better-sqlite3 binds them.
db = open(dbPath);
const similar = db.prepare('SELECT movieId FROM similar_movies(?, ?)').pluck();
check('3.1 numbers (bound as REAL)', similar.all(260, 3), [1196, 1210, 1198]);
check('3.2 BigInt', similar.all(260n, 3n), [1196, 1210, 1198]);
check('3.3 safeIntegers', db.prepare('SELECT movieId FROM similar_movies(?, 1)').pluck()
  .safeIntegers(true).get(260n), 1196n);
check('3.4 fraction', errorOf(() => similar.all(260.5, 3)),
      'similar_movies: movie_id must be an integer id, not a real');
check('3.5 string', errorOf(() => similar.all('260', 3)),
      "similar_movies: movie_id must be an integer id, not text '260' (use CAST(... AS INTEGER))");
check('3.6 null', db.prepare('SELECT predict(?, 260)').pluck().get(null), null);
check('3.7 named', db.prepare('SELECT movieId FROM similar_movies WHERE movie_id = @m AND k = @k')
  .pluck().all({ m: 260, k: 2 }), [1196, 1210]);
check('3.8 columns', db.prepare('SELECT * FROM recommend(1, 1)').columns().map(c => c.name),
      ['movieId', 'score', 'rank', 'because', 'personal']);

// 4. Errors are SqliteError with mlrec's message.
check('4.1 bad option', errorOf(() => db.prepare('SELECT train_mf(?)').get('{"factors": 0}')),
      'train_mf: option "factors" must be an integer in [1, 1024], got 0');
check('4.2 not JSON',
      /^train_mf: /.test(errorOf(() => db.prepare('SELECT train_mf(?)').get('factors=3'))), true);
check('4.3 usable after errors', similar.all(260, 1), [1196]);

// 5. An iterator abandoned half-way, then the same statement again.
const iter = db.prepare('SELECT movieId FROM similar_movies(260, 10)').pluck().iterate();
check('5.1 first row', iter.next().value, 1196);
iter.return();
check('5.2 statement reusable', similar.all(260, 2), [1196, 1210]);
db.close();

// 6. A rating written in a transaction counts at once, and not after the rollback.
db = open(':memory:');
db.exec(fs.readFileSync(path.join(root, 'data/fixture.sql'), 'utf8'));
const neighbours = db.prepare('SELECT group_concat(movieId) FROM similar_movies(50, 5)').pluck();
const before = neighbours.get();
const rollback = new Error('rollback');
const attempt = db.transaction(() => {
  db.prepare('INSERT INTO ratings(userId, movieId, rating) VALUES (3, 50, 5)').run();
  check('6.1 seen inside the transaction', neighbours.get() !== before, true);
  throw rollback;
});
let thrown = null;
try { attempt(); } catch (e) { thrown = e; }
check('6.2 rolled back by the exception', thrown === rollback, true);
check('6.3 after the rollback', neighbours.get(), before);

// 7. Each connection has its own model.
const other = open(':memory:');
other.exec(fs.readFileSync(path.join(root, 'data/fixture.sql'), 'utf8'));
db.prepare(`SELECT train_mf('{"factors": 2, "epochs": 1}')`).get();
other.prepare(`SELECT train_mf('{"factors": 3, "epochs": 1}')`).get();
const factors = "SELECT options ->> 'factors' FROM mlrec_models WHERE model = 'mf'";
check('7.1 separate models',
      [db.prepare(factors).pluck().get(), other.prepare(factors).pluck().get()], [2, 3]);
db.close();
check('7.2 other connection lives on', other.prepare(factors).pluck().get(), 3);
other.close();

console.log(`clients/test_node.js: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
