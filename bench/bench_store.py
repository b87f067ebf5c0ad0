"""Store speed: open a 10,000-secret store and decrypt every value; `secrets ls` on it; the
start-up time of each command. Prints figures (median of several runs); asserts nothing.

    python bench/bench_store.py [--secrets 10000] [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kortix_guard.secret import SecretValue
from kortix_guard.store import create, open_store, transaction
from kortix_guard.store.crypto import Key


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli(root: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "kortix_guard", *args], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        declared = ", ".join(f'"S_{i:05d}"' for i in range(100))
        (root / "kortix.toml").write_text(f'[project]\nname = "bench"\n[env]\nrequired = [{declared}]\n')
        store = root / ".kortix" / "secrets.enc.toml"
        key = Key.generate()
        create(store, key)
        env = {**os.environ, "KORTIX_GUARD_KEY": key.text()}
        os.environ["KORTIX_GUARD_KEY"] = key.text()
        start = time.perf_counter()
        with transaction(store) as draft:
            for i in range(args.secrets):
                draft.set(f"S_{i:05d}", SecretValue(f"value-{i}-" + "x" * 40))
        sealed = time.perf_counter() - start
        size = store.stat().st_size

        def open_all() -> None:
            values = open_store(store).values()
            assert len(values) == args.secrets

        print(f"store: {args.secrets} secrets, {size / 1e6:.1f} MB on disk")
        print(f"  seal all and write (once)           {sealed * 1000:8.1f} ms")
        print(f"  open + verify MAC + decrypt all     {median_time(open_all, args.runs) * 1000:8.1f} ms")
        for label, argv in [
            ("kortix-guard --version", ["--version"]),
            ("kortix-guard manifest check", ["manifest", "check"]),
            ("kortix-guard secrets ls (no key)", ["secrets", "ls"]),
            ("kortix-guard key export", ["key", "export"]),
            ("kortix-guard secrets set (1 value)", ["secrets", "set", "S_00000=v"]),
            ("kortix-guard env pull", ["env", "pull"]),
        ]:
            t = median_time(lambda argv=argv: cli(root, env, *argv), args.runs)
            print(f"  {label:<36}{t * 1000:8.1f} ms  (process start-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
