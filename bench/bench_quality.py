"""Precision and recall, side by side: kortix-guard, kingfisher (--no-validate), betterleaks
(gitleaks' line) and CredSweeper over the same trees in the same run, with findings, files
flagged and wall time.

    python bench/bench_quality.py --trees DIR [--peers /tmp/peers/bin] [--only NAME ...]
                                  [--no-credsweeper]

Trees: this interpreter's standard library (no site-packages), every tree bench/corpus.txt
lists (fetched into DIR beforehand by bench/fetch_corpus.py: this script downloads nothing),
and a labelled corpus generated here from every detector's examples and counter-examples and
every context rule's examples, counter-examples and class lines (no real credential is ever
committed). On the real trees every finding is noise, a test fixture or a sample; on the
corpus, recall counts the positive files found, and noise the negative files flagged. Each
real tree is also scanned with the names its code reads declared (a kortix.yaml written at
its root for that run only, as a team adopting Kortix writes it): adoption must not make
the scan louder. The last column is the larger of the two counts less kingfisher's.

kortix-guard and betterleaks are counted at `medium` and above (their defaults for a finding
that blocks: kortix-guard's threshold, betterleaks' `--confidence medium`), kingfisher and
CredSweeper at their defaults.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import KG, peer, stdlib_tree, timed
from fetch_corpus import entries


def _relative(paths: list[str], tree: Path) -> list[str]:
    root = tree.resolve()
    return [str(Path(p).resolve().relative_to(root)) for p in paths]


def kortix_guard(tree: Path, threshold: str = "medium") -> tuple[float, list[str]]:
    seconds, out = timed([KG, "scan", "--format", "json", "--min-confidence", threshold, "."], tree)
    return seconds, [f["path"] for f in json.loads(out or "[]") if not f.get("unscanned")]


# How code in each ecosystem reads an environment variable: what a team declares in its
# kortix.yaml when it adopts Kortix (the names its code reads that hold secrets).
_READS = re.compile(
    r"process\.env\.([A-Z][A-Z0-9_]+)|process\.env\[['\"]([A-Z][A-Z0-9_]+)['\"]\]"
    r"|import\.meta\.env\.([A-Z][A-Z0-9_]+)"
    r"|os\.(?:environ(?:\.get)?|getenv)\(?\[?\s*['\"]([A-Z][A-Z0-9_]+)['\"]"
    r"|os\.(?:Getenv|LookupEnv)\(\"([A-Z][A-Z0-9_]+)\"\)|System\.getenv\(\"([A-Z][A-Z0-9_]+)\"\)"
    r"|ENV(?:\.fetch\(|\[)\s*['\"]([A-Z][A-Z0-9_]+)['\"]"
    r"|\$\{([A-Z][A-Z0-9_]+)(?::?[-=?][^}]*)?\}|^([A-Z][A-Z0-9_]+)=", re.M)
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|_PASS$|DSN|CREDENTIAL|"
                          r"(?:DATABASE|DB|REDIS|MONGO\w*|POSTGRES\w*|MYSQL|AMQP|RABBITMQ|BROKER"
                          r"|CACHE|KV|CONNECTION)_(?:URL|URI)$")
# Client-side variables ship to every browser: public, never declared as secrets; a
# framework's server-only prefix is not part of what the name says.
_PUBLIC = re.compile(r"^(?:NEXT_PUBLIC|VITE|EXPO_PUBLIC|REACT_APP|PUBLIC|NUXT_PUBLIC|GATSBY)_")
_SERVER_PREFIX = re.compile(r"^NEXT_PRIVATE_")
# Names about a secret that hold none: where it is, what it is called.
_NOT_SECRET = re.compile(r"_(?:PREFIX|NAME|ARN|REGION|PATH|FILE|ENABLED|SECRETS)$")
_CODE = {".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".py", ".go", ".java", ".kt", ".rb",
         ".yml", ".yaml", ".properties", ".sh", ".toml"}


def declared_names(tree: Path) -> list[str]:
    """The secret-holding names the tree's code and env examples read, env-shaped, at most 64
    characters, none of Kortix's own."""
    names: set[str] = set()
    for path in tree.rglob("*"):
        if "node_modules" in path.parts or not path.is_file():
            continue
        if path.suffix not in _CODE and not path.name.startswith(".env"):
            continue
        try:
            text = path.read_text(errors="replace")[:1_000_000]
        except OSError:
            continue
        for match in _READS.finditer(text):
            name = next(g for g in match.groups() if g)
            if len(name) > 64 or name.startswith("KORTIX_") or _PUBLIC.match(name) \
                    or _NOT_SECRET.search(name):
                continue
            if _SECRET_NAME.search(_SERVER_PREFIX.sub("", name)):
                names.add(name)
    return sorted(names)


def with_names(tree: Path, names: list[str]):
    """A kortix.yaml declaring names at the tree's root for the length of a run, as a team
    adopting Kortix writes it (the tree's own kortix.yaml, if any, is kept and restored)."""
    import contextlib

    @contextlib.contextmanager
    def manifest():
        path = tree / "kortix.yaml"
        before = path.read_bytes() if path.exists() else None
        path.write_text("kortix_version: 3\ndefault_agent: kortix\nenv:\n  required: "
                        + json.dumps(names) + "\nruntimes:\n  opencode:\n    harness: opencode\n"
                        "agents:\n  kortix:\n    runtime: opencode\n    secrets: all\n")
        try:
            yield
        finally:
            if before is None:
                path.unlink()
            else:
                path.write_bytes(before)
    return manifest()


def kingfisher(exe: str, tree: Path) -> tuple[float, list[str]]:
    report = tree.parent / f"{tree.name}.kingfisher.json"
    seconds, _ = timed([exe, "scan", str(tree), "--no-validate", "--no-update-check",
                        "--git-history", "none", "-f", "json", "-o", str(report)], tree.parent,
                       ok=(0, 200, 205))
    findings = json.loads(report.read_text())["findings"]
    return seconds, _relative([f["finding"]["path"] for f in findings], tree)


def betterleaks(exe: str, tree: Path) -> tuple[float, list[str]]:
    report = tree.parent / f"{tree.name}.betterleaks.json"
    seconds, _ = timed([exe, str(tree), "-o", str(report), "--no-banner", "-s",
                        "--confidence", "medium"], tree.parent)
    findings = json.loads(report.read_text())["findings"]
    return seconds, _relative([f["location"]["path"] for f in findings], tree)


def credsweeper(exe: str, tree: Path) -> tuple[float, list[str]]:
    report = tree.parent / f"{tree.name}.credsweeper.json"
    seconds, _ = timed([exe, "--path", str(tree), "--save-json", str(report), "--no-stdout",
                        "--jobs", "2"], tree.parent)
    paths = [c["line_data_list"][0]["path"] for c in json.loads(report.read_text())]
    return seconds, _relative(paths, tree)


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
    parser.add_argument("--trees", type=Path, required=True,
                        help="the folder bench/fetch_corpus.py fetched the corpus into")
    parser.add_argument("--peers", type=Path, help="folder holding the peer scanners")
    parser.add_argument("--work", type=Path, help="keep the generated trees here")
    parser.add_argument("--only", nargs="*", help="only these trees (names in corpus.txt)")
    parser.add_argument("--no-credsweeper", action="store_true",
                        help="leave CredSweeper out (minutes on the larger trees)")
    parser.add_argument("--trufflehog", type=Path,
                        help="a clone of trufflehog: its pkg/detectors are counted as providers")
    parser.add_argument("--providers", action="store_true",
                        help="only the table of providers covered")
    args = parser.parse_args()
    if args.providers:
        providers(peer("kingfisher", args.peers), args.trufflehog)
        return 0
    tools = {"kingfisher": (peer("kingfisher", args.peers), kingfisher),
             "betterleaks": (peer("betterleaks", args.peers), betterleaks)}
    if not args.no_credsweeper:
        tools["credsweeper"] = (peer("credsweeper", args.peers), credsweeper)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        trees: dict[str, Path] = {}
        if not args.only or "stdlib" in args.only:
            trees["stdlib"] = stdlib_tree(work)
        for name, _ in entries():
            if args.only and name not in args.only:
                continue
            if not (args.trees / name).is_dir():
                print(f"- {name}: not in {args.trees} (python bench/fetch_corpus.py "
                      f"{args.trees} {name}); left out")
                continue
            trees[name] = args.trees / name
        labels = write_corpus(work / "corpus")
        trees["labelled corpus"] = work / "corpus"
        summary, details = [], {}
        for label, tree in trees.items():
            print(f"\n### {label}\n\n| tool | findings | files flagged | time |\n|---|---|---|---|")
            seconds, paths = kortix_guard(tree)
            details[label] = {"kortix-guard": paths}
            print(row("kortix-guard (medium)", seconds, paths))
            counts = {"kortix-guard": len(paths)}
            if label != "labelled corpus":
                seconds, low = kortix_guard(tree, "low")
                print(row("kortix-guard (--min-confidence low)", seconds, low))
                counts["low"] = len(low)
                names = declared_names(tree) if label != "stdlib" else []
                with with_names(tree, names):
                    seconds, declared = kortix_guard(tree)
                print(row(f"kortix-guard, {len(names)} names declared", seconds, declared))
                counts["declared"] = len(declared)
                extra = Counter(declared) - Counter(paths)
                if extra:
                    top = dict(extra.most_common(12))
                    more = f" and {len(extra) - len(top)} more files" if len(extra) > len(top) else ""
                    print(f"\nwith names declared, besides: {top}{more}")
            for tool, (exe, run) in tools.items():
                if exe is None:
                    print(f"| {tool} | not installed | | |")
                    continue
                seconds, found = run(exe, tree)
                print(row(tool, seconds, found))
                counts[tool] = len(found)
                details[label][tool] = found
            if label != "labelled corpus":
                files = sum(1 for p in tree.rglob("*") if p.is_file())
                summary.append((label, files, counts))
            print(f"\nkortix-guard on {label}: {dict(Counter(paths)) or 'nothing'}")
        _summary(summary, list(tools))
        _recall(labels, details["labelled corpus"])
    return 0


# The providers a Kortix project's agents call (docs/kortix.md): who covers each.
KORTIX_STACK = ("openai", "anthropic", "openrouter", "groq", "xai", "google", "mistral", "cohere",
                "perplexity", "deepseek", "together", "fireworks", "tavily", "firecrawl", "exa",
                "serper", "replicate", "elevenlabs", "huggingface", "pinecone", "langsmith",
                "e2b", "browserbase", "composio", "supabase", "stripe", "resend", "vercel",
                "cloudflare", "upstash", "neon", "planetscale", "turso", "linear", "notion",
                "posthog", "sentry", "github", "slack", "jina", "daytona", "helicone", "portkey",
                "pipedream", "stytch", "inngest", "langfuse", "cerebras", "voyage", "assemblyai",
                "deepgram", "workos", "trigger")


def providers(kingfisher_exe: str | None, trufflehog: Path | None) -> None:
    """How many providers each catalog covers, and who covers the Kortix stack."""
    import subprocess

    from kortix_guard._dirs import private_cache
    from kortix_guard.scan import catalog
    from kortix_guard.scan.detectors import all_detectors

    def slug(text: str) -> str:
        return re.split(r"[-_./]", text, maxsplit=1)[0].lower()
    built_in = {slug(d.id) for d in all_detectors() if d.code == "KG320"}
    loaded = catalog.load(private_cache(), build=True)
    from_catalog = {catalog.provider_of(r.id) for r in loaded.rules} if loaded else set()
    columns = {"kortix-guard built-in": built_in,
               "kortix-guard + catalog": built_in | from_catalog}
    if kingfisher_exe:
        out = subprocess.run([kingfisher_exe, "rules", "list", "--format", "json"],
                             capture_output=True, text=True).stdout
        rules = json.loads(out or "[]")
        columns["kingfisher"] = {catalog.provider_of(r["id"]) for r in rules}
        columns["betterleaks (its rules in kingfisher)"] = {
            catalog.provider_of(r["id"]) for r in rules if r["id"].startswith("betterleaks.")}
    if trufflehog is not None:
        detectors = trufflehog / "pkg" / "detectors"
        columns["trufflehog"] = {p.name.lower() for p in detectors.iterdir() if p.is_dir()}
    print("\n### providers covered (distinct provider names in each catalog)\n")
    print("| catalog | providers | of the Kortix stack (" + str(len(KORTIX_STACK)) + ") |")
    print("|---|---|---|")
    for name, found in columns.items():
        stack = sum(1 for p in KORTIX_STACK if any(f.startswith(p) for f in found))
        print(f"| {name} | {len(found)} | {stack} |")
    missing = [p for p in KORTIX_STACK if not any(f.startswith(p) for f in built_in | from_catalog)]
    print(f"\nthe Kortix stack without a format detector: {', '.join(missing) or 'none'} (found "
          f"under their conventional names where they publish no format)")


def _summary(summary: list[tuple[str, int, dict[str, int]]], peers: list[str]) -> None:
    print("\n### every real tree, findings at the default confidence\n")
    head = ["tree", "files", "kortix-guard", "(at low)", "(names declared)", *peers,
            "kortix-guard - kingfisher"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for label, files, counts in summary:
        worst = max(counts["kortix-guard"], counts.get("declared", 0))
        extra = (worst - counts["kingfisher"]) if "kingfisher" in counts else ""
        cells = [label, str(files), str(counts["kortix-guard"]), str(counts.get("low", "")),
                 str(counts.get("declared", "")),
                 *[str(counts.get(p, "-")) for p in peers], f"{extra:+d}" if extra != "" else "-"]
        print("| " + " | ".join(cells) + " |")


def _recall(labels: dict[str, tuple[str, bool]], found: dict[str, list[str]]) -> None:
    print("\n### labelled corpus: recall and noise\n\n| tool | positives found | "
          "negatives flagged |\n|---|---|---|")
    positives = {p for p, (_, s) in labels.items() if s}
    for tool, paths in found.items():
        hit = {p for p in paths if p in labels}
        print(f"| {tool} | {len(hit & positives)}/{len(positives)} | "
              f"{len(hit - positives)}/{len(labels) - len(positives)} |")
    mine = set(found["kortix-guard"])
    missed = Counter(labels[p][0] for p in positives - mine)
    noise = Counter(labels[p][0] for p in mine - positives if p in labels)
    print(f"\nkortix-guard missed: {dict(missed) or 'nothing'}; "
          f"flagged negatives: {dict(noise) or 'none'}")


if __name__ == "__main__":
    sys.exit(main())
