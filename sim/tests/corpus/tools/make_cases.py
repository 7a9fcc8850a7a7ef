#!/usr/bin/env python3
"""Writes sim/tests/corpus/cases/ and cases.toml from base.toml (rerun after editing).

Each case is base.toml with one change (or a data file beside it), the command to run, the
exit code and message fragments the fixed `sim` must give. `todo` marks a case today's code
still gets wrong (issue 14's item); the corpus test skips those and `--ignored` lists them.
"""
import os, json

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = os.path.join(ROOT, "cases")
BASE = open(os.path.join(ROOT, "base.toml"), "rb").read()

cases = []

def case(name, item, content=None, args=("run", "{file}", "-q"), exit=2, contains=(),
         excludes=(), todo=None, data=None, seconds=10, ext="toml", replace=None,
         max_stderr=20000):
    if replace is not None:
        text = BASE
        for old, new in replace:
            old, new = old.encode(), (new.encode() if isinstance(new, str) else new)
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        content = text
    file = None
    if content is not None:
        file = f"{name}.{ext}"
        with open(os.path.join(CASES, file), "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
    # "@needle" stands for "FILE:LINE:" of the first line holding needle.
    def at(fragment):
        if not fragment.startswith("@"):
            return fragment
        if "|" in fragment:
            shown, needle = fragment[1:].split("|", 1)
            where = data[shown]
        else:
            shown, needle, where = file, fragment[1:], content
        where = where if isinstance(where, bytes) else where.encode()
        line = where[: where.index(needle.encode())].count(b"\n") + 1
        return f"{shown}:{line}:"
    contains = [at(c) for c in contains]
    for dname, dbytes in (data or {}).items():
        with open(os.path.join(CASES, dname), "wb") as f:
            f.write(dbytes if isinstance(dbytes, bytes) else dbytes.encode())
    cases.append(dict(name=name, item=item, file=file, args=list(args), exit=exit,
                      contains=list(contains), excludes=list(excludes), todo=todo,
                      seconds=seconds, max_stderr=max_stderr))

RUN = ("run", "{file}", "-q")
CHECK = ("check", "{file}")
STEPS = 'steps = [{ cpu = "100us" }, { io = "1ms" }]'
LOAD = 'rate = 1000\nrequests = 10000'

# The base itself runs.
case("base-runs", 0, BASE, exit=0, contains=["loop"])

# 1. parallel ignores --max-events.
case("01-parallel-huge", 1, replace=[(STEPS, 'steps = [{ io = "exp(1ms)", parallel = 4294967295 }]'),
     (LOAD, 'rate = 1\nrequests = 10')], args=("run", "{file}", "-q", "--max-events", "1000"),
     contains=["@parallel", "parallel", "1000000"])
case("01-parallel-over-cap", 1, replace=[(STEPS, 'steps = [{ io = "1ms", parallel = 1000001 }]')],
     args=CHECK, contains=["@parallel", "parallel", "1000000"])
case("01-parallel-zero", 1, replace=[(STEPS, 'steps = [{ io = "1ms", parallel = 0 }]')],
     args=CHECK, contains=["@parallel", "parallel"])
case("01-parallel-counts-events", 1,
     replace=[(STEPS, 'steps = [{ io = "exp(1ms)", parallel = 500 }]'), (LOAD, 'rate = 1\nrequests = 10')],
     args=("run", "{file}", "-q", "--max-events", "1000"), exit=1, contains=["1000", "event"])

# 2. --replications.
for n, v in [("huge", "4294967295"), ("u64-max", "18446744073709551615"), ("ten-million", "10000000")]:
    case(f"02-replications-{n}", 2, args=("run", "base.toml", "-q", "--replications", v),
         contains=["--replications", "100000"])
case("02-replications-zero", 2, args=("run", "base.toml", "-q", "--replications", "0"),
     contains=["--replications"])
case("02-replications-negative", 2, args=("run", "base.toml", "-q", "--replications=-1"),
     contains=["--replications"])

# 3. Clock saturation.
case("03-rate-tiny", 3, replace=[("rate = 1000", "rate = 1e-9")], args=RUN,
     contains=["@rate", "rate", "584"])
case("03-rate-denormal", 3, replace=[("rate = 1000", "rate = 5e-324")], args=CHECK,
     contains=["@rate", "rate"])
case("03-trace-offset-max", 3,
     replace=[('kind = "open"\n' + LOAD, 'kind = "trace"\nfile = "03-trace-offset-max.csv"')],
     data={"03-trace-offset-max.csv": "0\n18446744073709551615\n"}, args=RUN,
     contains=["@03-trace-offset-max.csv|18446744073709551615", "584"])
case("03-duration-too-long", 3, replace=[("requests = 10000", 'duration = "1000y"')], args=CHECK,
     contains=["@duration", "duration"])

# 4. Special files.
case("04-costs-dev-zero", 4, args=("run", "base.toml", "-q", "--costs", "/dev/zero"),
     contains=["/dev/zero", "character device"], seconds=10)
case("04-pricing-dev-zero", 4, args=("run", "base.toml", "-q", "--pricing", "/dev/zero"),
     contains=["/dev/zero", "character device"])
case("04-samples-dev-zero", 4, replace=[(STEPS, 'steps = [{ cpu = "empirical(/dev/zero)" }]')],
     args=RUN, contains=["/dev/zero", "character device"])
case("04-trace-dev-zero", 4,
     replace=[('kind = "open"\n' + LOAD, 'kind = "trace"\nfile = "/dev/zero"')],
     args=RUN, contains=["/dev/zero", "character device"])
case("04-scenario-dev-zero", 4, args=("run", "/dev/zero", "-q"),
     contains=["/dev/zero", "character device"])

# 6. requests far beyond --max-events.
case("06-requests-1e12", 6, replace=[("requests = 10000", "requests = 1000000000000")],
     args=("run", "{file}", "-q"), contains=["requests", "--max-events"])
case("06-event-limit-names-bound", 6, args=("run", "base.toml", "-q", "--max-events", "5000"),
     exit=1, contains=["5000"], excludes=["exceed capacity"])

# 7. Empty messages from the TOML parser.
case("07-no-value-eof", 7, BASE + b"requests =", args=CHECK,
     contains=["07-no-value-eof.toml:", "no value"])
case("07-no-value-tab", 7, BASE + b"x = \t", args=CHECK, contains=["07-no-value-tab.toml:"])
case("07-no-value-quoted", 7, BASE + b'"x" =', args=CHECK, contains=["07-no-value-quoted.toml:"])
case("07-open-inline-table", 7, BASE + b"x = { y = { z = ", args=CHECK,
     contains=["07-open-inline-table.toml:"])
case("07-open-steps", 7, BASE.replace(STEPS.encode(), b"steps = [ { cpu = "), args=CHECK,
     contains=["07-open-steps.toml:"])
case("07-control-in-comment", 7, b"# a\x01\n" + BASE, args=CHECK,
     contains=["@# a", "U+0001"])
case("07-bare-cr-line", 7, BASE.replace(b"\n[machine]", b"\n\r[machine]"), args=CHECK,
     contains=["07-bare-cr-line.toml:", "carriage return"])
case("07-crlf-cr-eof", 7, BASE + b"\r\n\r", args=CHECK,
     contains=["07-crlf-cr-eof.toml:", "carriage return"])
case("07-control-after-value", 7, BASE.replace(b"cores = 2", b"cores = 2\x02"), args=CHECK,
     contains=["@cores = 2", "U+0002"])
case("07-no-value-newline", 7, replace=[("requests = 10000", "requests =")], args=CHECK,
     contains=["@requests ="], excludes=["invalid string"])
case("07-tru", 7, replace=[("requests = 10000", "requests = tru")], args=CHECK,
     contains=["@requests = tru"], excludes=["invalid string"])

# 8. Engine limits at their key, in plain words.
case("08-loops-huge", 8, replace=[("loops = 2", "loops = 1000000000")], args=CHECK,
     contains=["@loops", "loops", "between"])
case("08-loops-float", 8, replace=[("loops = 2", "loops = 1e9")], args=CHECK,
     contains=["@loops", "loops", "whole number"], excludes=["invalid type"])
case("08-seed-float", 8, replace=[("seed = 1", "seed = 1.5")], args=CHECK,
     contains=["@seed", "seed"], excludes=["invalid type"])
case("08-cores-string", 8, replace=[("cores = 2", 'cores = "4"')], args=CHECK,
     contains=["@cores", "cores"], excludes=["invalid type"])
case("08-threads-huge", 8, replace=[('model = "cooperative"\nloops = 2', 'model = "thread_per_request"\nthreads = 1000000000')],
     args=CHECK, contains=["@threads", "threads"])
case("08-workers-huge", 8, replace=[('model = "cooperative"\nloops = 2', 'model = "preemptive"\nworkers = 1000000000')],
     args=CHECK, contains=["@workers", "workers"], excludes=["at least 1"])
case("08-loops-zero", 8, replace=[("loops = 2", "loops = 0")], args=CHECK, contains=["loops"])

# 9. Invalid UTF-8.
case("09-utf8-scenario", 9, replace=[("A 2-core", b"A 2-c\xe9re")], args=CHECK,
     contains=["@description", "0xE9", "UTF-8"])
case("09-utf8-trace", 9, replace=[('kind = "open"\n' + LOAD, 'kind = "trace"\nfile = "09-utf8-trace.csv"')],
     data={"09-utf8-trace.csv": b"0\n1\xe9\n"}, args=RUN,
     contains=["@09-utf8-trace.csv|1", "0xE9"], excludes=["relative to the scenario"])
case("09-utf8-samples", 9, replace=[(STEPS, 'steps = [{ cpu = "empirical(09-utf8-samples.csv)" }]')],
     data={"09-utf8-samples.csv": b"1ms\n2m\xe9\n"}, args=RUN,
     contains=["@09-utf8-samples.csv|2m", "0xE9"])
case("09-utf8-costs", 9, args=("run", "base.toml", "-q", "--costs", "cases/09-utf8-costs.toml"),
     data={"09-utf8-costs.toml": b"[costs]\n# caf\xe9\nthread_switch = \"1us\"\n"},
     contains=["@09-utf8-costs.toml|# caf", "0xE9"])

# 10. A directory as the scenario.
case("10-directory", 10, args=("run", "cases", "-q"), contains=["cases", "directory"],
     excludes=["no such file"])
case("10-missing", 10, args=("run", "cases/no-such-file.toml", "-q"), contains=["no-such-file.toml"])

# 11. A long line: the snippet is a window.
case("11-long-line", 11, BASE.replace(b'name = "base"', b'name = "' + b"x" * 200_000 + b'" ]'),
     args=CHECK, contains=["@name"], max_stderr=4000)

# 12. The option of the subcommand in use.
case("12-concurrency-on-open", 12, args=("run", "base.toml", "-q", "--concurrency", "5"),
     contains=["--rate"], excludes=["--rates"])

# 13. More machines than requests; open-loop throughput.
case("13-machines-over-requests", 13,
     replace=[('loops = 2', 'loops = 2\nmachines = 1000'), ("requests = 10000", "requests = 10")],
     args=CHECK, contains=["@machines", "machines"])

case("13-one-request-rate-1", 13, args=("run", "base.toml", "-q", "--json", "--requests", "1", "--rate", "1"),
     exit=0, contains=["\"throughput_rps\": 1.0,"])
case("13-open-loop-not-above-rate", 13, args=("run", "base.toml", "-q", "--json"),
     exit=0, contains=["\"throughput_rps\": 1000.0,"])

# 14. broadcast_at after duration.
case("14-broadcast-after-duration", 14,
     replace=[('kind = "open"\n' + LOAD, 'kind = "connections"\nconnections = 10\ninterval = "exp(1s)"\nbroadcast_at = "10s"\nduration = "5s"')],
     args=CHECK, contains=["@broadcast_at", "broadcast_at"])

case("14-nothing-completes", 14,
     replace=[('kind = "open"\n' + LOAD, 'kind = "connections"\nconnections = 10\ninterval = "exp(100s)"\nduration = "1s"')],
     args=RUN, exit=0, contains=["completed no request"])
case("14-nothing-completes-json", 14,
     replace=[('kind = "open"\n' + LOAD, 'kind = "connections"\nconnections = 10\ninterval = "exp(100s)"\nduration = "1s"')],
     args=("run", "{file}", "-q", "--json"), exit=0,
     contains=["completed no request", '"p99": null', '"mean": null'], excludes=['"p99": 0'])

# 15. Latencies beyond the histogram.
case("15-rtt-huge", 15, replace=[("requests = 10000", 'requests = 10\nrtt = "200000s"')],
     args=("run", "{file}", "-q", "--json"), exit=0, contains=["\"max\": 2001"])

# 16. keepalive_requests without keepalive.
case("16-keepalive-requests-alone", 16,
     replace=[('model = "cooperative"\nloops = 2', 'model = "thread_per_request"\nthreads = 8\nkeepalive_requests = 100')],
     args=CHECK, contains=["@keepalive_requests", "keepalive"])

# 17. Header detection in samples and traces.
for n, first in [("negative", "-3ms"), ("float", "1.5"), ("exp", "1e6"), ("hex", "0x10")]:
    case(f"17-samples-first-line-{n}", 17,
         replace=[(STEPS, f'steps = [{{ cpu = "empirical(17-samples-first-line-{n}.csv)" }}]')],
         data={f"17-samples-first-line-{n}.csv": f"{first}\n1ms\n2ms\n"}, args=RUN,
         contains=[f"@17-samples-first-line-{n}.csv|{first}"])
case("17-trace-nan", 17, replace=[('kind = "open"\n' + LOAD, 'kind = "trace"\nfile = "17-trace-nan.csv"')],
     data={"17-trace-nan.csv": "nan\n0\n1000\n"}, args=RUN, contains=["@17-trace-nan.csv|nan"])

# 18. Finite published values, bounded prices.
case("18-published-nan", 18, replace=[("loops = 2", "loops = 2\npublished = { rps = nan }")],
     args=CHECK, contains=["@published", "rps"])
case("18-price-huge", 18, BASE + b"\n[pricing]\n2 = 1e300\n", args=CHECK,
     contains=["@1e300", "1e12"])
case("18-rate-huge", 18, replace=[("rate = 1000", "rate = 1e300")], args=CHECK,
     contains=["@rate", "rate"])

# Already handled on main: kept so they stay fixed.
case("ok-negative-duration", 0, replace=[('cpu = "100us"', 'cpu = "-100us"')], args=CHECK,
     contains=["@-100us"])
case("ok-nan-rate", 0, replace=[("rate = 1000", "rate = nan")], args=CHECK,
     contains=["@rate", "rate"])
case("ok-unknown-model", 0, replace=[('model = "cooperative"', 'model = "fibers"')], args=CHECK,
     contains=["@fibers"])
case("ok-duplicate-key", 0, replace=[("cores = 2", "cores = 2\ncores = 3")], args=CHECK,
     contains=["@cores = 3"])
case("ok-empty-file", 0, b"", args=CHECK, contains=["ok-empty-file.toml"])
case("ok-bom-crlf", 0, b"\xef\xbb\xbf" + BASE.replace(b"\n", b"\r\n"), args=CHECK, exit=0,
     contains=["ok"])
case("ok-deep-nesting", 0, BASE + b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", args=CHECK,
     contains=["ok-deep-nesting.toml:"])
case("ok-unknown-key", 0, replace=[("cores = 2", "cores = 2\ncorez = 3")], args=CHECK,
     contains=["@corez", "corez"])

with open(os.path.join(ROOT, "cases.toml"), "w") as f:
    f.write("# Generated by tools/make_cases.py from base.toml; see that script for each case's change.\n")
    f.write("# args: `{file}` is the case's file; paths are relative to this directory.\n")
    for c in cases:
        f.write("\n[[case]]\n")
        for k in ["name", "item", "file", "args", "exit", "contains", "excludes", "todo", "seconds", "max_stderr"]:
            v = c[k]
            if v is None or v == [] and k == "excludes":
                continue
            f.write(f"{k} = {json.dumps(v)}\n")
print(len(cases), "cases")
