# Plots a `dllmem-stress --report DIR` run: gnuplot -e "dir='DIR'" tools/report/stress.gp
# writes DIR/stress-rates.png (children/s and reads/s over time),
# DIR/stress-events.png (runner kills, kills inside a write window, repairs)
# and DIR/stress-attach.png (histogram of attach latency, log-spaced bins).
if (!exists("dir")) dir = "."
tl = dir."/timeline.tsv"
set terminal pngcairo size 900,420 noenhanced font "sans,10"
set grid
set key top left
set xlabel "seconds into the run"

set output dir."/stress-rates.png"
set title "dllmem-stress: throughput over time"
set ylabel "children/s"
set y2label "reads/s"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
# Row 1 has no interval before it: rates start at row 2.
plot tl every ::1 using 1:9 with linespoints lw 2 title "children finished/s" axes x1y1, \
     tl every ::1 using 1:10 with linespoints lw 2 title "reads/s (readers' Gets)" axes x1y2
unset y2tics
unset y2label

set output dir."/stress-events.png"
set title "dllmem-stress: kills and repairs (cumulative)"
set ylabel "count"
plot tl using 1:4 with steps lw 2 title "children killed by the runner", \
     tl using 1:5 with steps lw 2 title "writers killed inside their write window", \
     tl using 1:6 with steps lw 2 dt 2 title "windows repaired by the next writer"

set output dir."/stress-attach.png"
set title "dllmem-stress: attach latency (load + attach, one per child)"
set xlabel "attach latency (us, log scale)"
set ylabel "children"
set logscale x
set boxwidth 0.9 relative
set style fill solid 0.5
# Ten bins a decade; each count drawn at its bin's geometric centre.
bin(x) = 10 ** ((floor(log10(x > 0.1 ? x : 0.1) * 10) + 0.5) / 10.0)
set xrange [*:*]
plot dir."/attach_us.tsv" using (bin($1)):(1.0) smooth frequency with boxes title "children per bin"
