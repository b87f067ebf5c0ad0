"""Precision and recall, side by side: kortix-guard, kingfisher (--no-validate) and CredSweeper
over the same trees in the same run, with findings, files flagged and wall time.

    python bench/bench_quality.py [--peers /tmp/peers/bin] [--work /tmp/kg-quality]

Trees: this interpreter's standard library (no site-packages), the source distributions of
Django and requests (they ship their tests), and a labelled corpus generated here from every
detector's examples and counter-examples and every context rule's example (no real
credential is ever committed). On the real trees every finding is noise or a test fixture;
on the corpus, recall counts the positive files found, and noise the negative files flagged.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import KG, peer, sdist, stdlib_tree, timed  # noqa: E402


def kortix_guard(tree: Path, threshold: str = "medium") -> tuple[float, list[str]]:
    seconds, out = timed([KG, "scan", "--format", "json", "--min-confidence", threshold, "."], tree)
    return seconds, [f["path"] for f in json.loads(out or "[]")]


def kingfisher(exe: str, tree: Path) -> tuple[float, list[str]]:
    report = tree.parent / f"{tree.name}.kingfisher.json"
    seconds, _ = timed([exe, "scan", str(tree), "--no-validate", "--no-update-check",
                        "--git-history", "none", "-f", "json", "-o", str(report)], tree.parent,
                       ok=(0, 200, 205))
    findings = json.loads(report.read_text())["findings"]
    paths = [f["finding"]["path"] for f in findings]
    return seconds, [str(Path(p).resolve().relative_to(tree.resolve())) for p in paths]


def credsweeper(exe: str, tree: Path) -> tuple[float, list[str]]:
    report = tree.parent / f"{tree.name}.credsweeper.json"
    seconds, _ = timed([exe, "--path", str(tree), "--save-json", str(report), "--no-stdout",
                        "--jobs", "2"], tree.parent)
    paths = [c["line_data_list"][0]["path"] for c in json.loads(report.read_text())]
    return seconds, [str(Path(p).resolve().relative_to(tree.resolve())) for p in paths]


def write_corpus(dest: Path) -> dict[str, tuple[str, bool]]:
    """One file per case; returns path -> (class, is_secret)."""
    from kortix_guard.scan.examples import corpus

    labels = {}
    for i, (kind, path, text, secret) in enumerate(corpus(random.Random(20261128))):
        name = f"{'pos' if secret else 'neg'}/{i:03d}-{kind.replace(':', '-')}/{path}"
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")
        labels[name] = (kind, secret)
    return labels


def row(tool: str, seconds: float, paths: list[str]) -> str:
    return f"| {tool} | {len(paths)} | {len(set(paths))} | {seconds:.2f} s |"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=Path, help="folder holding kingfisher and credsweeper")
    parser.add_argument("--work", type=Path, help="keep the trees here (default: a temp dir)")
    args = parser.parse_args()
    tools = {"kingfisher": (peer("kingfisher", args.peers), kingfisher),
             "credsweeper": (peer("credsweeper", args.peers), credsweeper)}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        trees = {"CPython stdlib": stdlib_tree(work), "Django sdist": sdist("django", None, work),
                 "requests sdist": sdist("requests", None, work)}
        corpus_dir = work / "corpus"
        labels = write_corpus(corpus_dir)
        trees["labelled corpus"] = corpus_dir
        details: dict[str, list[str]] = {}
        for label, tree in trees.items():
            print(f"\n### {label} ({tree.name})\n\n| tool | findings | files flagged | time |\n"
                  "|---|---|---|---|")
            seconds, paths = kortix_guard(tree)
            details[label] = paths
            print(row("kortix-guard (medium)", seconds, paths))
            if label != "labelled corpus":
                seconds, low = kortix_guard(tree, "low")
                print(row("kortix-guard (--min-confidence low)", seconds, low))
            for tool, (exe, run) in tools.items():
                if exe is None:
                    print(f"| {tool} | not installed | | |")
                    continue
                seconds, found = run(exe, tree)
                print(row(tool, seconds, found))
                if label == "labelled corpus":
                    details[tool] = found
        print("\n### labelled corpus: recall and noise\n\n| tool | positives found | "
              "negatives flagged |\n|---|---|---|")
        positives = {p for p, (_, s) in labels.items() if s}
        for tool, found in [("kortix-guard", details["labelled corpus"]),
                            *[(t, details[t]) for t in tools if t in details]]:
            hit = {p for p in found if p in labels}
            print(f"| {tool} | {len(hit & positives)}/{len(positives)} | "
                  f"{len(hit - positives)}/{len(labels) - len(positives)} |")
        missed = Counter(labels[p][0] for p in positives - set(details["labelled corpus"]))
        noise = Counter(labels[p][0] for p in set(details["labelled corpus"]) - positives
                        if p in labels)
        print(f"\nkortix-guard missed: {dict(missed) or 'nothing'}; "
              f"flagged negatives: {dict(noise) or 'none'}")
        for label in ("CPython stdlib", "Django sdist", "requests sdist"):
            print(f"kortix-guard on {label}: {dict(Counter(details[label])) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
