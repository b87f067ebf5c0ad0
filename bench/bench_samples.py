"""Per-rule agreement on samples nobody here wrote: the true- and false-positive samples of
betterleaks' own rules (the literal strings of each rule's `tps` and `fps` in its
cmd/generate/config/rules/*.go), scanned by kortix-guard and by betterleaks in the same run.

    python bench/bench_samples.py BETTERLEAKS_CLONE [--peers /tmp/peers/bin] [--work DIR]

Each sample is one file (`<rule file>/tp-3.cfg`: a configuration file, so no path rule
lowers it). kortix-guard counts at its default (`medium`), with the provider catalog when it
is installed; betterleaks at `--confidence medium`. Samples a rule generates at run time
(`utils.GenerateSampleSecret(...)`) are not literals and are left out. Prints, per rule file,
the samples each tool reports, then every disagreement."""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import KG, peer, timed

_BLOCK = re.compile(r"\b(tps|fps)\s*:?=\s*(?:append\()?")
_RAW = re.compile(r"(?<=[{,\n\t ])`([^`]*)`(?=\s*[,}])")
_QUOTED = re.compile(r'(?<=[{,\n\t ])"((?:[^"\\\n]|\\.)*)"(?=\s*[,}])')


def samples(source: str) -> dict[str, list[str]]:
    """The literal samples of one rule file: {"tps": [...], "fps": [...]}."""
    found: dict[str, list[str]] = {"tps": [], "fps": []}
    marks = list(_BLOCK.finditer(source))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
        stop = re.search(r"\n\s*return\b|\nfunc\b", source[mark.end():end])
        segment = source[mark.end():mark.end() + stop.start()] if stop else source[mark.end():end]
        for m in _RAW.finditer(segment):
            found[mark.group(1)].append(m.group(1))
        for m in _QUOTED.finditer(segment):
            try:
                found[mark.group(1)].append(json.loads('"' + m.group(1) + '"'))
            except ValueError:
                continue
    return {k: [s for s in v if len(s.strip()) >= 8] for k, v in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path, help="a clone (or export) of betterleaks/betterleaks")
    parser.add_argument("--peers", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    rules = sorted((args.clone / "cmd/generate/config/rules").glob("*.go"))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "samples"
        labels: dict[str, tuple[str, str]] = {}
        for path in rules:
            if path.name.endswith("_test.go"):
                continue
            for kind, texts in samples(path.read_text()).items():
                for i, text in enumerate(texts):
                    name = f"{path.stem}/{kind[:2]}-{i}.cfg"
                    (work / name).parent.mkdir(parents=True, exist_ok=True)
                    (work / name).write_text(text + "\n")
                    labels[name] = (path.stem, kind)
        seconds, out = timed([KG, "scan", "--format", "json", "."], work)
        ours = {f["path"] for f in json.loads(out or "[]") if not f.get("unscanned")}
        theirs: set[str] = set()
        exe = peer("betterleaks", args.peers)
        if exe:
            report = work.parent / "betterleaks.json"
            timed([exe, str(work), "-o", str(report), "--no-banner", "-s", "--confidence",
                   "medium"], work.parent)
            root = work.resolve()
            theirs = {str(Path(f["location"]["path"]).resolve().relative_to(root))
                      for f in json.loads(report.read_text())["findings"]}
        _report(labels, ours, theirs, bool(exe), seconds)
    return 0


def _report(labels: dict[str, tuple[str, str]], ours: set[str], theirs: set[str],
            have_peer: bool, seconds: float) -> None:
    by_rule: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"tps": [], "fps": []})
    for name, (rule, kind) in labels.items():
        by_rule[rule][kind].append(name)
    tps = [n for n, (_, k) in labels.items() if k == "tps"]
    fps = [n for n, (_, k) in labels.items() if k == "fps"]
    print(f"### betterleaks' own samples: {len(by_rule)} rule files, {len(tps)} true-positive "
          f"and {len(fps)} false-positive literals (kortix-guard {seconds:.2f} s)\n")
    print("| tool | true positives found | false positives flagged |\n|---|---|---|")
    print(f"| kortix-guard | {len(ours & set(tps))}/{len(tps)} | {len(ours & set(fps))}/{len(fps)} |")
    if have_peer:
        print(f"| betterleaks | {len(theirs & set(tps))}/{len(tps)} | "
              f"{len(theirs & set(fps))}/{len(fps)} |")
    agree = sum(1 for rule in by_rule.values()
                if all((n in ours) == (n in theirs) for n in rule["tps"] + rule["fps"]))
    if have_peer:
        print(f"\nrule files where both tools agree on every sample: {agree}/{len(by_rule)}")
    print("\n| rule file | tps: kortix-guard / betterleaks | fps: kortix-guard / betterleaks |")
    print("|---|---|---|")
    for rule, kinds in sorted(by_rule.items()):
        t, f = kinds["tps"], kinds["fps"]
        if have_peer and all((n in ours) == (n in theirs) for n in t + f):
            continue
        print(f"| {rule} | {sum(n in ours for n in t)}/{len(t)} / {sum(n in theirs for n in t)}"
              f" | {sum(n in ours for n in f)}/{len(f)} / {sum(n in theirs for n in f)} |")


if __name__ == "__main__":
    sys.exit(main())
