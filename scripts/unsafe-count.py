#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The unsafe surface of the Rust core (`make unsafe-count`).

Counts, per file of drivers/dma-buf/dmabuf_rs/ and in total: `unsafe`
blocks, `unsafe fn`s that are not `extern "C"` (contracts inside the core),
`unsafe extern "C" fn`s (the C ABI, unsafe by nature) and `unsafe impl`s;
and lists every `unsafe` block or impl without a `// SAFETY:` comment on its
line or in the comment lines just above its statement. Comments and string
literals are not counted. Exits 1 if a SAFETY comment is missing. Also
counts the `extern "C"` functions whose bodies are more than a few code
lines (`--files` lists them): the C ABI functions should be thin adapters;
and says where the blocks are: in those functions' bodies (at least one
each, converting the C caller's pointers) or behind them, and how many of
those behind sit under a `#[cfg]` (only one of a pair of configuration
twins is compiled; debug-only checks).

    scripts/unsafe-count.py [--files] [DIR]
"""
import os
import re
import sys

BLOCK = re.compile(r"\bunsafe\s*\{")
FN = re.compile(r"\bunsafe\s+fn\b")
# (string literals are blanked first: `"C"` reads `""`)
EXTERN_FN = re.compile(r"\bunsafe\s+extern\s+\"\"\s+fn\b")
IMPL = re.compile(r"\bunsafe\s+impl\b")
STRING = re.compile(r'c?"(?:[^"\\]|\\.)*"')


def code_of(line):
    """The line without its string literals and `//` comment."""
    line = STRING.sub('""', line)
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def has_safety(lines, i):
    """Whether the unsafe at line i has a SAFETY comment: on its line, or in
    the comment lines above the statement it belongs to (walking up over the
    statement's own earlier lines, which end without `;`, `{` or `}`)."""
    if "SAFETY:" in lines[i]:
        return True
    j = i - 1
    while j >= 0 and i - j <= 30:
        s = lines[j].strip()
        if s.startswith("//"):
            if "SAFETY:" in s:
                return True
        elif s.startswith("#["):
            pass
        elif s == "" or s.endswith((";", "{", "}")) or s.endswith("},"):
            return False
        j -= 1
    return False


def under_cfg(lines, i):
    """Whether the statement of the unsafe at line i carries a `#[cfg(..)]`
    attribute: one of the twins that pick a C helper or an inline Rust
    version by configuration (only one of each pair is compiled), or a
    check compiled only with a debug option."""
    j = i - 1
    while j >= 0 and i - j <= 30:
        s = lines[j].strip()
        if s.startswith("#[cfg"):
            return True
        if s == "" or (not s.startswith("//") and s.endswith((";", "{", "}"))):
            return False
        j -= 1
    return False


def count(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    c = {"blocks": 0, "fns": 0, "extern": 0, "impls": 0, "cfg": 0}
    missing = []
    in_block_comment = False
    for i, raw in enumerate(lines):
        line = raw
        if in_block_comment:
            if "*/" not in line:
                continue
            line = line[line.index("*/") + 2:]
            in_block_comment = False
        if "/*" in code_of(line):
            in_block_comment = "*/" not in line[line.index("/*"):]
            line = line[:line.index("/*")]
        code = code_of(line)
        if code.lstrip().startswith("///") or code.lstrip().startswith("//!"):
            continue
        n_blocks = len(BLOCK.findall(code))
        n_impls = len(IMPL.findall(code))
        c["blocks"] += n_blocks
        c["extern"] += len(EXTERN_FN.findall(code))
        c["fns"] += len(FN.findall(code))
        c["impls"] += n_impls
        if n_blocks and under_cfg(lines, i):
            c["cfg"] += n_blocks
        if (n_blocks or n_impls) and not has_safety(lines, i):
            missing.append(f"{path}:{i + 1}: {raw.strip()}")
    return c, missing


EXTERN_ANY = re.compile(r"\bextern\s+\"\"\s+fn\s+(\w+)")
# "An adapter of a few lines": the C ABI functions whose bodies have more
# code lines than this are listed, so that a body that grows shows.
ADAPTER_LINES = 12


def adapters(path):
    """The `extern "C"` functions of a file, the code lines of each body
    (blank and comment lines not counted) and the `unsafe` blocks in it:
    [(name, lines, blocks, line number)]."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    for i, raw in enumerate(lines):
        m = EXTERN_ANY.search(code_of(raw))
        if not m or raw.lstrip().startswith("//"):
            continue
        # The body starts at the first line of the signature ending in `{`
        # (a declaration in an `extern` block ends in `;` and has none).
        j = i
        while j < len(lines) and not code_of(lines[j]).rstrip().endswith(("{", ";")):
            j += 1
        if j == len(lines) or code_of(lines[j]).rstrip().endswith(";"):
            continue
        depth, body, blocks = 0, 0, 0
        for k in range(j, len(lines)):
            code = code_of(lines[k])
            if not code.lstrip().startswith("//"):
                blocks += len(BLOCK.findall(code))
            depth += code.count("{") - code.count("}")
            if k > j and depth > 0 and code.strip():
                body += 1
            if depth == 0:
                break
        found.append((m.group(1), body, blocks, i + 1))
    return found


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    per_file = "--files" in sys.argv
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..",
                                              "drivers", "dma-buf", "dmabuf_rs")
    root = os.path.normpath(root)
    total = {"blocks": 0, "fns": 0, "extern": 0, "impls": 0, "cfg": 0}
    logic = dict(total)
    rows, missing, sizes = [], [], []
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            p = os.path.join(d, f)
            c, m = count(p)
            missing += m
            rel = os.path.relpath(p, root)
            rows.append((rel, c))
            sizes += [(n, lines, b, f"{rel}:{at}") for n, lines, b, at in adapters(p)]
            for k in total:
                total[k] += c[k]
                if rel.startswith("logic"):
                    logic[k] += c[k]
    if per_file:
        print(f"{'file':32} {'blocks':>6} {'unsafe fn':>9} {'extern C':>8} {'impl':>4}")
        for rel, c in sorted(rows, key=lambda r: -r[1]["blocks"]):
            if any(c.values()):
                print(f"{rel:32} {c['blocks']:6} {c['fns']:9} {c['extern']:8} {c['impls']:4}")
    fns = total["fns"]
    print(f"{root}: {total['blocks']} unsafe blocks, {fns} unsafe fns (not extern \"C\"), "
          f"{total['extern']} unsafe extern \"C\" fns, {total['impls']} unsafe impls; "
          f"in logic/: {logic['blocks'] + logic['fns'] + logic['impls']} unsafe")
    in_abi = sum(s[2] for s in sizes)
    print(f"where the blocks are: {in_abi} in the bodies of the C ABI functions, "
          f"{total['blocks'] - in_abi} behind them, of which {total['cfg']} are under a "
          f"#[cfg] (configuration twins, a C helper or inline Rust, and debug-only checks)")
    long = sorted((s for s in sizes if s[1] > ADAPTER_LINES), key=lambda s: -s[1])
    print(f"{len(sizes)} extern \"C\" fns, {len(long)} with more than {ADAPTER_LINES} "
          f"code lines in their body")
    if per_file:
        for name, n, _, where in long:
            print(f"  {n:3} {name} ({where})")
    for m in missing:
        print(f"no SAFETY comment: {m}")
    print(f"{len(missing)} without a SAFETY comment")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
