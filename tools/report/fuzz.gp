# Plots one fuzz target's campaign, the way afl-plot draws AFL's plot_data:
#   gnuplot -e "tsv='T.tsv'; out='T.png'; target='NAME'" tools/report/fuzz.gp
# T.tsv comes from tools/report/fuzzlog.py. Three panels over time: coverage
# (edges and features), corpus size, executions per second.
set terminal pngcairo size 900,780 noenhanced font "sans,10"
set output out
set multiplot layout 3,1 title "fuzzing: ".target
set grid
set key top left
set xlabel "seconds into the run"
set yrange [0:*]
set ylabel "count"
set title "coverage"
plot tsv using 1:3 with linespoints lw 2 title "cov (edges)", \
     tsv using 1:4 with linespoints lw 2 title "ft (features)"
set title "corpus"
set ylabel "inputs"
plot tsv using 1:5 with linespoints lw 2 title "corpus size"
set title "speed"
set ylabel "exec/s"
plot tsv using 1:6 with linespoints lw 2 title "executions per second"
unset multiplot
