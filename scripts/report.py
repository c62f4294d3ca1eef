#!/usr/bin/env python3
"""Judge a test guest's console log.

Reads the console log written by the guest (scripts/guest/init), prints one
line per test case result per suite, quotes every kernel splat, and prints the
closing line "N passed, N failed, N skipped". Exit status: 0 only when nothing
failed, every expected suite reported, and the console shows no splat.

Usage: report.py CONSOLE_LOG EXPECTED_SUITES [CORE_FILES_LINE]
       report.py --splats CONSOLE_LOG   (only the splat check, for `make run`)

KUnit's KTAP is read for dmabuf_rs_tests (from the guest's "@kt" copies of
the module's kernel messages) and for rust_doctests, the kernel crate's
doctests, which KUnit runs at boot before /init (from the console itself).
"""
import os
import re
import sys

# Upstream dmabuf_selftests suites, in the order selftests.h runs them.
SELFTEST_SUITES = ["sanitycheck", "dma_fence", "dma_fence_chain", "dma_fence_unwrap", "dma_resv"]

# Any of these on the console fails the run, even if every test passed.
SPLATS = [
    (r"WARNING: ", "warning (WARN, lockdep or RCU report)"),
    (r"\bBUG: ", "BUG (KASAN, sleeping in atomic, soft lockup, ...)"),
    (r"kernel BUG at", "BUG_ON"),
    (r"\bOops\b", "oops"),
    (r"general protection fault", "general protection fault"),
    (r"Kernel panic", "panic"),
    (r"INFO: task .* blocked for more than", "hung task"),
    (r"rcu: INFO: .* detected stalls", "RCU stall"),
    (r"INFO: trying to register non-static key", "lockdep: non-static key"),
    (r"unreferenced object 0x", "kmemleak: leaked object"),
    (r"UBSAN: ", "UBSAN report"),
    (r"(list_add|list_del) corruption", "list corruption"),
]
SPLAT_RE = re.compile("|".join(f"(?:{p})" for p, _ in SPLATS))
KMSG_RE = re.compile(r"^\[\s*\d+\.\d+\]")
TAP_RE = re.compile(r"^(not ok|ok) (\d+)\s*-?\s*(.*?)\s*$")


def tap_cases(lines, rc):
    """Cases of a kselftest's TAP output: [(status, name, why)]."""
    cases, plan, diag = [], None, []
    for line in lines:
        if m := re.match(r"^1\.\.(\d+)", line):
            plan = int(m.group(1))
        m = TAP_RE.match(line)
        if not m:
            # A case's diagnostics: the "# " lines since the previous result,
            # without the harness's RUN/OK/FAIL markers.
            d = line[1:].strip() if line.startswith("#") else ""
            if d and not re.match(r"^(RUN|OK|FAIL)\s", d):
                diag.append(d)
            continue
        why, diag = " / ".join(diag[-6:]), []
        ok, num, desc = m.groups()
        skip = re.search(r"#\s*SKIP\b\s*(.*)", desc, re.I)
        name = re.sub(r"\s*#.*$", "", desc).replace("[RUN]", "").strip() or f"case {num}"
        if skip:
            cases.append(("SKIP", name, skip.group(1).strip() or "skipped"))
        else:
            cases.append(("PASS", name, "") if ok == "ok" else ("FAIL", name, why or "not ok"))
    if plan is not None and len(cases) < plan:
        cases.append(("FAIL", f"{plan - len(cases)} planned case(s)", "never reported (crash?)"))
    if plan is None and not cases:
        bail = next((l for l in lines if l.startswith("Bail out!")), None)
        if rc == 4:  # KSFT_SKIP: the whole program skipped
            why = next((l for l in lines if "skip" in l.lower()), "skipped")
            cases.append(("SKIP", "all", why.strip()))
        elif bail:  # ksft_exit_fail_msg() before any case
            cases.append(("FAIL", "all", bail.strip()))
        else:
            cases.append(("FAIL", "all", f"no TAP output, exit status {rc}"))
    elif rc not in (0, 4) and not any(c[0] == "FAIL" for c in cases):
        cases.append(("FAIL", "exit status", f"exited {rc} with no failing case"))
    return cases


def selftest_cases(lines, rc):
    """Cases of dmabuf_selftests from its dmesg lines and insmod's status."""
    ran, failed = [], None
    # The guest copies the module's dmesg lines into the suite's output as "@st <line>".
    for line in (l[4:] for l in lines if l.startswith("@st ")):
        if m := re.search(r"dma-buf: Running (\S+)", line):
            # busybox insmod retries a failed finit_module with init_module:
            # count the first run only (each run starts with sanitycheck).
            if m.group(1) == SELFTEST_SUITES[0] and ran:
                break
            ran.append(m.group(1))
        if m := re.search(r"dma-buf/(\S+): (\S+) failed with error (-?\d+)", line):
            failed = (f"{m.group(1)}/{m.group(2)}", m.group(3))
    cases = []
    if rc != 0 and failed is None and ran:
        failed = (ran[-1], f"module load failed ({rc})")
    for name in ran:
        if failed and name == failed[0]:
            cases.append(("FAIL", name, f"error {failed[1]}"))
        elif failed and failed[0].startswith(name + "/"):
            cases.append(("FAIL", name, f"subtest {failed[0]} failed"))
        else:
            cases.append(("PASS", name, ""))
    top = {n for n in ran if "/" not in n}
    for suite in SELFTEST_SUITES:
        if suite not in top:
            cases.append(("FAIL", suite, "suite never ran"))
    if rc != 0 and not any(c[0] == "FAIL" for c in cases):
        cases.append(("FAIL", "insmod", f"exit status {rc}"))
    return cases


PRINTK_TIME_RE = re.compile(r"^\[\s*\d+\.\d+\] ?")
KTAP_RESULT_RE = re.compile(r"^(not ok|ok) (\d+)(?: -)?(?: (.*?))?\s*$")
# The suite of the Rust kernel crate's doctests, which KUnit runs at boot.
DOCTEST_SUITE = "rust_doctests_kernel"


class KtapNode:
    """A KTAP result line, with the results of its subtest (if any)."""

    def __init__(self, name, status):
        self.name, self.status = name, status  # status: "ok", "not ok", None (never finished)
        self.directive, self.plan, self.children, self.diag = "", None, [], []


def parse_ktap(lines):
    """Parses KTAP, KUnit's nested TAP, into a root node. Subtests are indented
    (four spaces a level): "KTAP version 1", "# Subtest: <name>", the plan
    "1..N", then the results, closed by the subtest's own result line one
    level up. Lines that are not KTAP (other kernel messages) are left out. A
    subtest still open at the end (a crash) gets the status None."""
    root = KtapNode("", None)
    stack = [(0, root)]  # (indent, node whose subtest is open)
    pending = []  # diagnostics since the last result, for the next result

    def close_deeper(indent):
        """Pops the subtests deeper than @indent; returns the innermost popped."""
        popped = None
        while stack[-1][0] > indent:
            _, node = stack.pop()
            if popped is not None:  # a subtest that never got its result line
                node.children.append(popped)
            popped = node
        return popped

    for raw in lines:
        line = raw.expandtabs(4)
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        body = body.rstrip()
        if body.startswith(("KTAP version", "TAP version")) or (
            m := re.match(r"^# Subtest: (\S+)", body)
        ):
            if indent > stack[-1][0]:
                stack.append((indent, KtapNode("", None)))
            if body.startswith("# Subtest:"):
                stack[-1][1].name = m.group(1)
            pending = []
        elif m := re.match(r"^1\.\.(\d+)", body):
            if indent > stack[-1][0]:
                stack.append((indent, KtapNode("", None)))
            stack[-1][1].plan = int(m.group(1))
        elif m := KTAP_RESULT_RE.match(body):
            status, _, desc = m.groups()
            desc = desc or ""
            sub = close_deeper(indent)
            if indent > stack[-1][0]:  # results without a header
                stack.append((indent, KtapNode("", None)))
            name, _, directive = desc.partition(" # ")
            node = sub if sub is not None else KtapNode(name.strip(), status)
            node.name, node.status, node.directive = name.strip() or node.name, status, directive.strip()
            node.diag, pending = pending, []
            stack[-1][1].children.append(node)
        elif body.startswith("#") and indent == stack[-1][0]:
            pending.append(body)
        elif body and pending and len(stack) > 1:
            pending.append(body)  # the next lines of a KUnit assertion message
    sub = close_deeper(0)
    if sub is not None:
        root.children.append(sub)
    return root


def ktap_leaf_cases(node, prefix=""):
    """Cases of a KTAP node's subtests, leaves only: [(status, name, why)]."""
    cases = []
    for child in node.children:
        name = prefix + child.name
        skip = re.match(r"SKIP\b\s*(.*)", child.directive, re.I)
        if child.children or child.plan:
            sub = ktap_leaf_cases(child, name + "/")
            cases += sub
            planned = child.plan is None or len(child.children) >= child.plan
            if child.status is None and planned:  # (a short plan already failed it)
                cases.append(("FAIL", name, "never finished (crash?)"))
            elif child.status == "not ok" and not any(c[0] == "FAIL" for c in sub):
                cases.append(("FAIL", name, "reported not ok"))
        elif child.status is None:
            cases.append(("FAIL", name, "never finished (crash?)"))
        elif skip:
            cases.append(("SKIP", name, skip.group(1).strip() or "skipped"))
        elif child.status == "ok":
            cases.append(("PASS", name, ""))
        else:
            diag = [re.sub(rf"^#\s*(?:{re.escape(child.name)}: )?", "", d) for d in child.diag[:4]]
            why = " / ".join(diag) or "not ok"
            cases.append(("FAIL", name, why))
    if node.plan is not None and len(node.children) < node.plan:
        what = prefix.rstrip("/") or "suites"
        cases.append(("FAIL", what, f"{node.plan - len(node.children)} planned case(s) never reported (crash?)"))
    return cases


def kunit_module_cases(lines, rc):
    """Cases of a KUnit test module (dmabuf_rs_tests) from its KTAP on the
    kernel log, which the guest copies into the suite's output as "@kt <line>"
    lines (printk timestamps cut off): each case of each suite is a case."""
    ktap = [l[4:] for l in lines if l.startswith("@kt ")]
    root = parse_ktap(ktap)
    if root.plan is None and not root.children:
        return [("FAIL", "all", f"no KTAP output, insmod exit status {rc}")]
    cases = ktap_leaf_cases(root)
    if rc != 0 and not any(c[0] == "FAIL" for c in cases):
        cases.append(("FAIL", "insmod", f"exit status {rc}"))
    return cases


def doctest_cases(lines):
    """Cases of the kernel crate's doctests: the KUnit suite rust_doctests_kernel,
    which runs at boot before /init, its KTAP on the console."""
    start = next((i for i, l in enumerate(lines) if re.match(rf"^\s*# Subtest: {DOCTEST_SUITE}\s*$", PRINTK_TIME_RE.sub("", l))), None)
    if start is None:
        return None
    block = []
    indent = None
    for line in lines[start:]:
        if line.startswith("@@@"):  # /init has started: boot-time KUnit is over
            break
        line = PRINTK_TIME_RE.sub("", line)
        block.append(line)
        body = line.lstrip(" ")
        if indent is None:
            indent = len(line) - len(body)
        elif len(line) - len(body) < indent and KTAP_RESULT_RE.match(body.rstrip()):
            break  # the suite's own result line
    root = parse_ktap(["KTAP version 1"] + [" " * 4 + l if indent == 0 else l for l in block])
    return ktap_leaf_cases(root)


def check_splats(lines):
    """Quotes every kernel splat on the console; returns the problem, if any."""
    splats = []
    for i, line in enumerate(lines):
        # "@st " and "@kt " lines are the guest's copies of dmesg lines already on the console.
        if SPLAT_RE.search(line) and not line.startswith(("@@@", "@st ", "@kt ")):
            kind = next(k for p, k in SPLATS if re.search(p, line))
            splats.append((kind, lines[i : i + 25]))
    if not splats:
        return []
    print(f"\nKernel reports on the console ({len(splats)}):")
    for kind, ctx in splats[:5]:
        print(f"  --- {kind} ---")
        for l in ctx:
            print(f"    {l}")
    return [f"{len(splats)} kernel report(s) on the console"]


def tally(suite, cases, totals):
    """Prints a suite's line and every case that did not pass; adds to @totals."""
    n = {k: sum(1 for c in cases if c[0] == k) for k in totals}
    for k in totals:
        totals[k] += n[k]
    print(f"  {suite:<22} {n['PASS']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
    for status, case, why in cases:
        if status != "PASS":
            print(f"      {status} {case}: {why}")


FUZZ_RE = re.compile(r"^(?:not ok|ok) \d+ fuzz seed (\d+): hash ([0-9a-f]+) calls (\d+)")
# The C core's fuzz hashes (make fuzz-golden), next to the fuzz program.
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "testing",
                      "selftests", "dma-buf", "fuzz.golden")


def fuzz_oracle(console_path):
    """The C core's hash of each (seed, calls): from fuzz.golden, then from
    the C core's last console next to this one (a `make test CORE=c` with
    the same seeds), which covers seed ranges beyond the golden file's."""
    oracle = {}
    c_console = os.path.join(os.path.dirname(console_path), "console-c.log")
    if os.path.abspath(c_console) != os.path.abspath(console_path) and os.path.exists(c_console):
        for line in open(c_console, errors="replace"):
            if m := FUZZ_RE.match(line.strip()):
                oracle[(m.group(1), m.group(3))] = (m.group(2), "the C core's last console")
    if os.path.exists(GOLDEN):
        for line in open(GOLDEN):
            f = line.split()
            if len(f) == 3 and not line.startswith("#"):
                oracle[(f[0], f[2])] = (f[1], "fuzz.golden")
    return oracle


def fuzz_cases(lines, rc, oracle, c_core=False):
    """Cases of the fuzz suite: each seed passes when its trace hash is the C
    core's; the other TAP cases (nothing left behind) as they are. On the C
    core (`c_core`) a seed beyond fuzz.golden passes unchecked: this run is
    the oracle that records it, for a run of the Rust core to compare with;
    seeds in fuzz.golden are still compared (the C core must repeat itself)."""
    cases = []
    for status, name, why in tap_cases(lines, rc):
        m = re.match(r"fuzz seed (\d+): hash ([0-9a-f]+) calls (\d+)", name)
        if not m or status != "PASS":
            cases.append((status, name, why))
            continue
        seed, h, calls = m.groups()
        want = oracle.get((seed, calls))
        label = f"fuzz seed {seed}"
        if want is None and c_core:
            cases.append(("PASS", label, ""))
        elif want is None:
            cases.append(("FAIL", label, "no C core hash for this seed: run it on the C core first "
                          "(make test CORE=c with the same seeds, or make fuzz-golden)"))
        elif want[0] != h:
            cases.append(("FAIL", label, f"trace differs from the C core's ({want[1]}): hash {h}, "
                          f"C core {want[0]}; compare `fuzz -t {seed} -c {calls}` on both cores"))
        else:
            cases.append(("PASS", label, ""))
    return cases


SWEEP_RE = re.compile(r"fault-sweep (\S+): (\d+) faults injected in (\d+) runs")


def reliability_figures(lines):
    """Prints what the reliability suites tried: fuzz seeds and calls, stress
    cases and their operations, the fault sweeps' paths, runs and injected
    faults (dma-buf/faults and dmabuf_rs_faults)."""
    sweeps, stress = {}, {}
    for line in lines:
        # The kernel's lines are on the console twice: as printed (skipped
        # here) and as the guest's "@kt" copies.
        if KMSG_RE.match(line):
            continue
        if m := SWEEP_RE.search(line):
            where = "kernel" if line.startswith("@kt ") else "uapi"
            sweeps[(where, m.group(1))] = (int(m.group(2)), int(m.group(3)))
        if m := re.search(r"stress (\S+): (\d+) (operations|rounds)", line):
            stress[m.group(1)] = (int(m.group(2)), m.group(3))
    seeds = [m for l in lines if (m := FUZZ_RE.match(l.strip()))]
    if seeds:
        calls = sum(int(m.group(3)) for m in seeds)
        print(f"\nfuzzing: {len(seeds)} seeds, {calls} calls, traces compared with the C core's")
    if stress:
        per = ", ".join(f"{k} {n} {u}" for k, (n, u) in sorted(stress.items()))
        print(f"stress: {len(stress)} cases ({per})")
    if sweeps:
        injected = sum(i for i, _ in sweeps.values())
        runs = sum(r for _, r in sweeps.values())
        kinds = {w for w, _ in sweeps}
        per = ", ".join(f"{sum(1 for k in sweeps if k[0] == w)} {w}" for w in sorted(kinds))
        print(f"fault injection: {len(sweeps)} paths ({per}), {runs} runs, {injected} faults injected")


def main():
    if sys.argv[1] == "--splats":
        lines = open(sys.argv[2], errors="replace").read().replace("\r", "").split("\n")
        problems = check_splats(lines)
        if problems:
            print("run FAILED: " + "; ".join(problems))
        sys.exit(1 if problems else 0)
    log_path, expected = sys.argv[1], sys.argv[2].split()
    core_line = sys.argv[3] if len(sys.argv) > 3 else ""
    text = open(log_path, errors="replace").read().replace("\r", "")
    lines = text.split("\n")

    suites, current, body = {}, None, []
    for line in lines:
        if m := re.match(r"^@@@ BEGIN (\S+)", line):
            current, body = m.group(1), []
        elif (m := re.match(r"^@@@ END (\S+) rc=(-?\d+)", line)) and current == m.group(1):
            suites[current] = (body, int(m.group(2)))
            current = None
        elif current is not None and not KMSG_RE.match(line):
            body.append(line)

    totals = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    problems = []
    for name in expected:
        if name == "rust_doctests":  # at boot, not between BEGIN and END markers
            cases = doctest_cases(lines)
            if cases is None:
                print(f"  {name:<22} FAIL (suite {DOCTEST_SUITE} never ran)")
                totals["FAIL"] += 1
                problems.append(f"suite {name} never ran")
                continue
            tally(name, cases, totals)
            continue
        matching = [s for s in suites if s == name or s.startswith(name + "/")]
        if not matching:
            why = "guest stopped inside it" if current and current.split("/")[0] == name else "never ran"
            print(f"  {name:<22} FAIL ({why})")
            totals["FAIL"] += 1
            problems.append(f"suite {name} {why}")
            continue
        for s in matching:
            body, rc = suites[s]
            if s == "dmabuf_selftests":
                cases = selftest_cases(body, rc)
            elif s == "dmabuf_rs_tests":
                cases = kunit_module_cases(body, rc)
            elif s == "fuzz":
                c_core = os.path.basename(log_path) == "console-c.log"
                cases = fuzz_cases(body, rc, fuzz_oracle(log_path), c_core)
            else:
                cases = tap_cases(body, rc)
            tally(s, cases, totals)

    # The guest loads the sample drivers before the suites; they are always built.
    for line in lines:
        if m := re.match(r"^@@@ INSMOD FAILED (\S+)", line):
            print(f"  {line[4:]}")
            problems.append(f"{m.group(1)} did not load")
    problems += check_splats(lines)
    reliability_figures(lines)

    if core_line:
        print(f"\n{core_line}")
    summary = f"{totals['PASS']} passed, {totals['FAIL']} failed, {totals['SKIP']} skipped"
    if problems:
        print("run FAILED: " + "; ".join(problems))
    print(summary)
    sys.exit(1 if totals["FAIL"] or problems else 0)


if __name__ == "__main__":
    main()
