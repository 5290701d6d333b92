#!/usr/bin/env bash
# learning_curve.sh: draws docs/train_mf.md's learning curve (docs/learning_curve.svg) from the training
# log of mlrec: train_mf() with 10% of the ratings held out, then gnuplot (Debian: gnuplot-nox)
# plots mlrec_training_log: training loss and held-out RMSE by epoch, and the best epoch, the
# one early stopping ("patience") would keep.
#   bash docs/learning_curve.sh [movielens.db] [out.svg|out.png]     (or: make learning-curve)
set -eu
cd "$(dirname "$0")/.."
db=${1:-movielens.db}
out=${2:-docs/learning_curve.svg}
options='{"epochs": 60, "validation": 0.1, "seed": 42}'
case "$out" in
  *.png) terminal='png size 720,420 font "sans,11"' ;;
  *)     terminal='svg size 720,420 dynamic font "sans,13" background "white"' ;;
esac
data=$(mktemp)
trap 'rm -f "$data"' EXIT

sqlite3 -bail -separator ' ' "$db" ".load ./mlrec" ".output /dev/null" \
  "SELECT train_mf('$options');" ".output stdout" \
  "SELECT epoch, train_rmse, validation_rmse FROM mlrec_training_log ORDER BY epoch;" > "$data"
best=$(sort -k3 -g "$data" | head -n 1)
read -r best_epoch _ best_rmse <<< "$best"

gnuplot <<GNUPLOT
set terminal $terminal
set output "$out"
set title 'train_mf() on MovieLens ml-latest-small, 10% of the ratings held out' noenhanced
set xlabel "epoch"
set ylabel "RMSE"
set key bottom left
set grid ytics lc rgb "#dddddd"
set xrange [0:*]
set arrow from $best_epoch, graph 0 to $best_epoch, graph 1 nohead dashtype 2 lc rgb "#888888"
set label sprintf("best epoch %d: %.4f", $best_epoch, $best_rmse) at $best_epoch, graph 0.6 right offset -1,0
plot "$data" using 1:2 with lines lw 2 lc rgb "#1f77b4" title 'training loss (train_rmse)' noenhanced, \
     "$data" using 1:3 with lines lw 2 lc rgb "#d62728" title 'held-out RMSE (validation_rmse)' noenhanced
GNUPLOT
echo "wrote $out (best epoch $best_epoch, held-out RMSE $best_rmse)"
