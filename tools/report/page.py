#!/usr/bin/env python3
"""Gathers the instruments' outputs under build/ into one page.

  page.py [--build build] [--out build/report] [--junit FILE]...

Each input has a known place (the ci/ stage that writes it is named on the
page). What is there is drawn (gnuplot, tools/report/*.gp), tabulated or
linked, and copied under OUT so the folder stands alone as a CI artifact;
what is missing is listed as "not run" with the command that makes it. An
input that is there but empty (a time series without rows, a fuzz log
without status lines, JSON that does not parse) is an error: exit 1, the
page is still written with the error shown. Exit 2 when gnuplot is missing.
"""
import argparse
import datetime
import glob
import html
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzzlog  # noqa: E402

CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f3f3f3; } .notrun { color: #8a5a00; } .error { color: #b00020; font-weight: bold; }
.pass { color: #0a7a2f; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; margin: .4em 0; } pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
code { background: #f3f3f3; padding: 0 .2em; }
"""


class Page:
    def __init__(self, build, out):
        self.build, self.out = build, out
        self.parts, self.toc = [], []
        self.errors, self.not_run, self.present = [], [], []

    def h2(self, anchor, title):
        self.toc.append((anchor, title))
        self.parts.append('<h2 id="%s">%s</h2>' % (anchor, html.escape(title)))

    def p(self, text, cls=None):
        c = ' class="%s"' % cls if cls else ""
        self.parts.append("<p%s>%s</p>" % (c, text))

    def notrun(self, what, cmd):
        self.not_run.append(what)
        self.p("not run: %s &mdash; <code>%s</code> makes it" % (html.escape(what), html.escape(cmd)),
               "notrun")

    def error(self, what):
        self.errors.append(what)
        self.p("error: " + html.escape(what), "error")

    def table(self, head, rows):
        h = "".join("<th>%s</th>" % html.escape(str(x)) for x in head)
        body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % c for c in r) for r in rows)
        self.parts.append("<table><tr>%s</tr>%s</table>" % (h, body))

    def copy(self, src, sub):
        """Copies src under OUT/sub; returns the page-relative link."""
        dest_dir = os.path.join(self.out, sub)
        os.makedirs(dest_dir, exist_ok=True)
        dest = os.path.join(dest_dir, os.path.basename(src))
        if os.path.isdir(src):
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(src, dest)
        else:
            shutil.copyfile(src, dest)
        return sub + "/" + os.path.basename(src)

    def img(self, link, alt):
        self.parts.append('<img src="%s" alt="%s">' % (html.escape(link), html.escape(alt)))

    def link(self, href, text):
        return '<a href="%s">%s</a>' % (html.escape(href), html.escape(text))


def gnuplot(args):
    p = subprocess.run(["gnuplot"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode == 0, p.stdout.decode("utf-8", "replace")


def data_rows(path):
    with open(path) as f:
        return [line for line in f if line.strip() and not line.startswith("#")]


def esc(x):
    return html.escape(str(x))


def stress_json_rows(path):
    with open(path) as f:
        r = json.load(f)
    att = r.get("attach_us", {})
    floor = r.get("attach_baseline_us") or {}  # --attach-baseline: an empty library's load
    return [esc(os.path.relpath(path)), '<span class="%s">%s</span>' % (
        "pass" if r.get("verdict") == "PASS" else "fail", esc(r.get("verdict"))),
        esc(r.get("finished")), esc(r.get("verified_reads")), esc(r.get("torn_reads")),
        esc(r.get("overlapped_reads")), esc(r.get("repairs")), esc(r.get("killed")),
        esc("%s / %s" % (att.get("p50"), att.get("p99"))),
        esc("%s / %s" % (floor.get("p50"), floor.get("p99")) if floor else "not run"),
        esc(r.get("ratio_to_baseline"))]


def section_stress(pg):
    pg.h2("stress", "Stress runs")
    d = os.path.join(pg.build, "release", "stress-report")
    if not os.path.isdir(d):
        pg.notrun("stress time series (%s)" % d, "ci/stress")
    else:
        pg.present.append("stress time series")
        tl, att = os.path.join(d, "timeline.tsv"), os.path.join(d, "attach_us.tsv")
        bad = [p for p in (tl, att) if not os.path.isfile(p) or not data_rows(p)]
        if bad:
            pg.error("empty or missing data series: " + ", ".join(bad))
        else:
            work = os.path.join(pg.out, "stress")
            os.makedirs(work, exist_ok=True)
            for p in (tl, att):
                shutil.copyfile(p, os.path.join(work, os.path.basename(p)))
            ok, log = gnuplot(["-e", "dir='%s'" % work, os.path.join(HERE, "stress.gp")])
            if not ok:
                pg.error("gnuplot failed on the stress data: " + log[-300:])
            else:
                pg.p("From <code>%s</code> (<code>dllmem-stress --report</code>): %d samples, "
                     "%d attach latencies. Data: %s, %s." % (
                         esc(d), len(data_rows(tl)), len(data_rows(att)),
                         pg.link("stress/timeline.tsv", "timeline.tsv"),
                         pg.link("stress/attach_us.tsv", "attach_us.tsv")))
                for png, alt in (("stress-rates.png", "children/s and reads/s over time"),
                                 ("stress-events.png", "kills and repairs over time"),
                                 ("stress-attach.png", "attach latency histogram")):
                    pg.img("stress/" + png, alt)
    rows = []
    for p in [os.path.join(pg.build, "release", n) for n in
              ("stress-report.json", "stress-canary-torn.json", "stress-canary-overlong.json")]:
        if not os.path.isfile(p):
            pg.notrun(os.path.basename(p), "ci/canary" if "canary" in p else "ci/stress")
            continue
        try:
            rows.append(stress_json_rows(p))
        except (ValueError, OSError) as e:
            pg.error("%s: %s" % (p, e))
    if rows:
        pg.p("The canary's runs must fail: they show the runner can see torn reads and crashes.")
        pg.table(["JSON", "verdict", "children", "verified reads", "torn", "overlapped",
                  "repairs", "killed", "attach p50/p99 us", "empty library's load p50/p99 us",
                  "children/s vs spawn"], rows)


def plot_fuzz_log(pg, log, sub, target, label):
    """A libFuzzer log -> OUT/sub/<target>.tsv and .png; False on error."""
    with open(log, errors="replace") as f:
        rows = fuzzlog.parse(f.read())
    if not rows:
        pg.error("%s: no libFuzzer status line (an empty series)" % log)
        return None
    work = os.path.join(pg.out, sub)
    os.makedirs(work, exist_ok=True)
    tsv, png = os.path.join(work, target + ".tsv"), os.path.join(work, target + ".png")
    with open(tsv, "w") as f:
        f.write("# t_s\texecs\tcov\tft\tcorpus\texec_s\toom_timeout_crash\n")
        for r in rows:
            f.write("%.0f\t%d\t%d\t%d\t%d\t%d\t%d\n" % r)
    ok, out = gnuplot(["-e", "tsv='%s'; out='%s'; target='%s (%s)'" % (tsv, png, target, label),
                       os.path.join(HERE, "fuzz.gp")])
    if not ok:
        pg.error("gnuplot failed on %s: %s" % (log, out[-300:]))
        return None
    return rows


def section_fuzz(pg):
    pg.h2("fuzz", "Fuzzing")
    for label, pattern, sub, cmd in (
            ("campaign", os.path.join(pg.build, "fuzz-campaign", "*.log"), "fuzz-campaign",
             "ci/fuzz campaign --minutes N"),
            ("smoke", os.path.join(pg.build, "fuzz", "smoke", "*.log"), "fuzz-smoke", "ci/fuzz")):
        logs = sorted(p for p in glob.glob(pattern)
                      if not p.endswith((".merge.log", "empty.log", "build-sh.log"))
                      and not os.path.basename(p).startswith("oss-"))
        if not logs:
            pg.notrun("fuzz %s logs (%s)" % (label, pattern), cmd)
            continue
        pg.present.append("fuzz " + label)
        table = []
        for log in logs:
            t = os.path.basename(log)[:-4]
            rows = plot_fuzz_log(pg, log, sub, t, label)
            if rows is None:
                continue
            last = rows[-1]
            table.append([esc(t), esc(int(last[0])), esc(last[1]), esc(last[2]), esc(last[3]),
                          esc(last[4]), esc(last[5]),
                          pg.link("%s/%s.tsv" % (sub, t), "data")])
            pg.img("%s/%s.png" % (sub, t), "fuzz %s %s: coverage, corpus, exec/s" % (label, t))
        if table:
            pg.p("Fuzz %s, from <code>%s</code>; the last status line of each target:" % (
                label, esc(pattern)))
            pg.table(["target", "seconds", "executions", "cov", "ft", "corpus", "exec/s", ""],
                     table)
    tri = os.path.join(pg.build, "fuzz-campaign", "triage")
    if not os.path.isfile(os.path.join(tri, "triage.json")):
        pg.notrun("crash triage (%s)" % tri, "ci/fuzz campaign --minutes N")
        return
    pg.present.append("crash triage")
    try:
        with open(os.path.join(tri, "triage.json")) as f:
            t = json.load(f)
    except ValueError as e:
        pg.error("triage.json: %s" % e)
        return
    links = [pg.link(pg.copy(os.path.join(tri, n), "triage"), n)
             for n in ("triage.md", "triage.sarif") if os.path.isfile(os.path.join(tri, n))]
    pg.p("Crash triage of the last campaign: <b>%d crashes, %d unique, %d new</b> (%s)." % (
        t["crashes"], t["unique"], t["new"], ", ".join(links)))
    if t["groups"]:
        pg.table(["target", "signature", "inputs", "new", "what it hit", "reproducer"],
                 [[esc(g["target"]), "<code>%s</code>" % esc(g["signature"]),
                   esc(len(g["inputs"])), esc("yes" if g["new"] else "no"), esc(g["what"]),
                   "<code>%s</code>" % esc(g["reproducer"])] for g in t["groups"]])


def flat(obj, prefix="", out=None, limit=40):
    out = [] if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            flat(v, prefix + ("." if prefix else "") + str(k), out, limit)
    elif isinstance(obj, list):
        out.append((prefix, "[%d items]" % len(obj)))
    else:
        out.append((prefix, obj))
    return out[:limit]


def section_bench(pg):
    pg.h2("bench", "Benchmarks (ratios to same-run baselines)")
    found = False
    for n in ("ratios.json", "callgrind.json"):
        p = os.path.join(pg.build, "bench", n)
        if not os.path.isfile(p):
            pg.notrun("bench/" + n, "ci/bench")
            continue
        found = True
        try:
            with open(p) as f:
                rows = flat(json.load(f))
        except ValueError as e:
            pg.error("%s: %s" % (p, e))
            continue
        if not rows:
            pg.error("%s holds no figure" % p)
            continue
        pg.p("%s (%s):" % (esc(n), pg.link(pg.copy(p, "bench"), "JSON")))
        pg.table(["figure", "value"], [[esc(k), esc(v)] for k, v in rows])
    if found:
        pg.present.append("bench")


def section_mutation(pg):
    pg.h2("mutation", "Mutation testing")
    p = next((q for q in (os.path.join(pg.build, "mutation-full", "report.json"),
                          os.path.join(pg.build, "mutation", "report.json")) if os.path.isfile(q)),
             None)
    if p is None:
        pg.notrun("mutation report (build/mutation/report.json)", "ci/mutation")
        return
    try:
        with open(p) as f:
            r = json.load(f)
        c = r["counts"]
    except (ValueError, KeyError) as e:
        pg.error("%s: %s" % (p, e))
        return
    if not c.get("run"):
        pg.error("%s: no mutant was run" % p)
        return
    pg.present.append("mutation")
    pg.p("From %s (%s mode): score %s against a gate of %s: <span class=\"%s\">%s</span>." % (
        pg.link(pg.copy(p, "mutation"), os.path.relpath(p)), esc(r.get("mode")), esc(r.get("score")),
        esc(r.get("gate")), "pass" if r.get("passed") else "fail",
        "passed" if r.get("passed") else "failed"))
    pg.table(["killed", "survived", "timeout", "no-compile", "equivalent", "run"],
             [[esc(c.get(k)) for k in ("killed", "survived", "timeout", "no-compile", "equivalent",
                                       "run")]])


def section_coverage(pg):
    pg.h2("coverage", "Coverage")
    p = os.path.join(pg.build, "coverage", "html")
    if not os.path.isfile(os.path.join(p, "index.html")):
        pg.notrun("coverage HTML (%s)" % p, "ci/coverage")
        return
    pg.present.append("coverage")
    link = pg.copy(p, ".")
    pg.p("llvm-cov's report of <code>dll/</code>: %s." % pg.link(link + "/index.html",
                                                              "coverage/index.html"))


def section_junit(pg, files):
    pg.h2("junit", "JUnit results")
    if not files:
        pg.notrun("JUnit XML (build/*/junit*.xml, or --junit FILE)",
                  "ctest --output-junit junit.xml in a build tree")
        return
    rows = []
    for p in files:
        try:
            root = ET.parse(p).getroot()
        except (ET.ParseError, OSError) as e:
            pg.error("%s: %s" % (p, e))
            continue
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        n = sum(int(s.get("tests", 0)) for s in suites)
        bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", s.get("disabled", 0))) for s in suites)
        if n == 0:
            pg.error("%s holds no test" % p)
            continue
        failed = [c.get("name") for c in root.iter("testcase")
                  if c.find("failure") is not None or c.find("error") is not None][:10]
        rows.append([pg.link(pg.copy(p, "junit"), os.path.relpath(p)), esc(n), esc(bad),
                     esc(skipped), esc(", ".join(failed) or "-")])
    if rows:
        pg.present.append("junit")
        pg.table(["file", "tests", "failed", "skipped", "failures (first 10)"], rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="build/report")
    ap.add_argument("--junit", action="append", default=[])
    args = ap.parse_args(argv)
    if shutil.which("gnuplot") is None:
        print("page: gnuplot is not installed", file=sys.stderr)
        return 2
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    pg = Page(args.build, args.out)
    junit = args.junit or sorted(set(glob.glob(os.path.join(args.build, "*", "junit*.xml")) +
                                     glob.glob(os.path.join(args.build, "junit*.xml"))))
    section_stress(pg)
    section_fuzz(pg)
    section_bench(pg)
    section_mutation(pg)
    section_coverage(pg)
    section_junit(pg, junit)
    status = ('<span class="fail">%d error(s)</span>' % len(pg.errors) if pg.errors
              else '<span class="pass">no error</span>')
    head = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>dllmem report</title><style>%s</style></head><body>" % CSS)
    intro = ["<h1>dllmem: instruments report</h1>",
             "<p>Written %s from <code>%s</code>: %s; %d input(s) present, %d not run.</p>" % (
                 datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), esc(os.path.abspath(args.build)),
                 status, len(pg.present), len(pg.not_run)),
             "<ul>%s</ul>" % "".join('<li><a href="#%s">%s</a></li>' % (a, esc(t))
                                     for a, t in pg.toc)]
    if pg.not_run:
        intro.append("<p class=\"notrun\">Not run: %s.</p>" % esc("; ".join(pg.not_run)))
    with open(os.path.join(args.out, "index.html"), "w") as f:
        f.write(head + "\n".join(intro + pg.parts) + "</body></html>\n")
    print("page: %s: %d present (%s), %d not run, %d error(s)" % (
        os.path.join(args.out, "index.html"), len(pg.present), ", ".join(pg.present),
        len(pg.not_run), len(pg.errors)))
    for e in pg.errors:
        print("page: error: " + e, file=sys.stderr)
    return 1 if pg.errors else 0


if __name__ == "__main__":
    sys.exit(main())
