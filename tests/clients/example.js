// example.js: the notebook's answers from Node.js, with better-sqlite3 (version 12).
//
//   npm ci --prefix tests/clients && node tests/clients/example.js [movielens.db] [./mlrec]
//
// Movies similar to Star Wars, a model trained on the ratings, then user 1's predicted rating
// for Star Wars and the ten movies recommended to user 1.  better-sqlite3 binds every JavaScript
// number as a REAL; mlrec accepts a REAL id when its value is an integer.
'use strict';
const Database = require('better-sqlite3');

const dbPath = process.argv[2] || 'movielens.db';
const extension = process.argv[3] || './mlrec';

const db = new Database(dbPath);
db.loadExtension(extension);
console.log('mlrec', db.prepare('SELECT mlrec_version()').pluck().get());

const movie = 260, user = 1;
const title = db.prepare('SELECT title FROM movies WHERE movieId = ?').pluck().get(movie);
console.log(`Movies like ${title}:`);
const similar = db.prepare(
  'SELECT s.rank, s.score, m.title FROM similar_movies(?, 10) s JOIN movies m USING (movieId)');
for (const row of similar.iterate(movie)) {
  console.log(`${String(row.rank).padStart(2)}  ${row.score.toFixed(4)}  ${row.title}`);
}

const trained = db.prepare(
  `SELECT s ->> 'ratings' AS ratings, s ->> 'rmse' AS rmse FROM (SELECT train_mf(?) AS s)`
).get(JSON.stringify({ seed: 42 }));
console.log(`Model trained on ${trained.ratings} ratings, training RMSE ${trained.rmse.toFixed(4)}`);
const rating = db.prepare('SELECT predict(?, ?)').pluck().get(user, movie);
console.log(`User ${user} would rate ${title} ${rating.toFixed(2)}`);

console.log(`Recommended for user ${user}:`);
const recommended = db.prepare(
  'SELECT r.rank, r.score, m.title FROM recommend(?, 10) r JOIN movies m USING (movieId)');
for (const row of recommended.iterate(user)) {
  console.log(`${String(row.rank).padStart(2)}  ${row.score.toFixed(2)}  ${row.title}`);
}
db.close();
