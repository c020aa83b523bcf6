#!/usr/bin/env python3
"""libFuzzer status lines -> a time series, for tools/report/fuzz.gp.

  fuzzlog.py LOG OUT.tsv

Reads both forms libFuzzer prints:
  -fork=N:  #71670: cov: 612 ft: 461 corp: 86 exec/s 7356 oom/timeout/crash: 0/0/0 time: 10s job: 3 ...
  plain:    #4096	NEW    cov: 12 ft: 13 corp: 5/20b lim: 4 exec/s: 2048 rss: 30Mb
A plain line carries no time; its exec/s is executions over whole seconds
since the start, so its time is executions / exec/s, to the second: of the
plain lines within one second only the last is kept. Writes one row per kept
status line:
t_s execs cov ft corpus exec_s crashes. Exit 1 when the log holds no status
line: an empty series is an error, never an empty plot.
"""
import re
import sys

STATUS = re.compile(r"^#(\d+):?\s+(?:[A-Za-z_]+\s+)?cov: (\d+) ft: (\d+) corp: (\d+)(?:/\S+)?\b(.*)$")
EPS = re.compile(r"exec/s:? (\d+)")
TIME = re.compile(r"\btime: (\d+)s")
CRASH = re.compile(r"oom/timeout/crash: (\d+)/(\d+)/(\d+)")


def parse(text):
    rows, plain_last = [], False
    for line in text.splitlines():
        m = STATUS.match(line)
        if not m:
            continue
        execs, cov, ft, corp, rest = int(m.group(1)), int(m.group(2)), int(m.group(3)), \
            int(m.group(4)), m.group(5)
        eps = EPS.search(rest)
        eps = int(eps.group(1)) if eps else 0
        t = TIME.search(rest)
        if t:
            secs = float(t.group(1))
        elif eps > 0:
            secs = execs / eps
        else:
            secs = 0.0
        c = CRASH.search(rest)
        crashes = sum(int(x) for x in c.groups()) if c else 0
        if not t:
            secs = float(round(secs))
        row = (secs, execs, cov, ft, corp, eps, crashes)
        if not t and plain_last and rows[-1][0] == secs:
            rows[-1] = row  # the same second: the later line wins
            continue
        plain_last = not t
        rows.append(row)
    return rows


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], errors="replace") as f:
        rows = parse(f.read())
    if not rows:
        print("fuzzlog: no libFuzzer status line in %s" % argv[1], file=sys.stderr)
        return 1
    with open(argv[2], "w") as f:
        f.write("# t_s\texecs\tcov\tft\tcorpus\texec_s\toom_timeout_crash\n")
        for r in rows:
            f.write("%.0f\t%d\t%d\t%d\t%d\t%d\t%d\n" % r)
    print("fuzzlog: %d status lines, last: %d s, cov %d, ft %d, corpus %d, %d exec/s" % (
        len(rows), rows[-1][0], rows[-1][2], rows[-1][3], rows[-1][4], rows[-1][5]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
