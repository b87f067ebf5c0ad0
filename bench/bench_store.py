"""Store speed: open a 10,000-secret store and decrypt every value; `secrets ls` on it; the
start-up time of each command; a manifest of 10,000 names (kortix.yaml and kortix.toml) under
`secrets ls`, `inject`, `run` and `check`, against a previous release on the same names when
one is given; and how long a store holding one over-long line (what made 0.3.3 backtrack for
seconds) takes to be refused. Prints figures (median of several runs); asserts nothing.

    python bench/bench_store.py [--secrets 10000] [--runs 5] [--previous PATH]

--previous: a checkout of an earlier release (e.g. `git worktree add /tmp/v033 v0.3.3`); its
rows run on a kortix.toml and a store it makes itself (it reads no kortix.yaml, no version 4
store), paired with this tree's on the same names and values.
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

from kortix_guard.project import Project
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


def make_store(root: Path, version: int, secrets: int) -> dict[str, str]:
    """A store of `secrets` values; version 4 wrapped to three recipients (age, ssh-ed25519,
    ssh-rsa), opened by the age identity. Returns the environment that opens it and the time
    sealing every value and writing the file took."""
    project = Project.discover(root)
    key = Key.generate()
    if version == 1:
        create(project, key)
        opener = key.text()
    else:
        from kortix_guard.store import recipients

        opener, public = recipients.generate()
        chosen = {"alice": recipients.parse_recipient(public)}
        for kind in ("ed25519", "rsa"):
            path = root / f"id_{kind}"
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
            chosen[kind] = recipients.parse_recipient(path.with_suffix(".pub").read_text())
        create(project, key, recipients=chosen)
    os.environ["KORTIX_GUARD_KEY"] = opener
    start = time.perf_counter()
    with transaction(project) as draft:
        for i in range(secrets):
            draft.set(f"S_{i:05d}", SecretValue(f"value-{i}-" + "x" * 40))
    sealed = time.perf_counter() - start
    return {**os.environ, "KORTIX_GUARD_KEY": opener}, sealed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--previous", type=Path, help="a checkout of an earlier release")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        many_names(Path(tmp), args.secrets, args.runs, args.previous)
    for version in (1, 4):
        with tempfile.TemporaryDirectory() as tmp:
            bench_version(Path(tmp), version, args.secrets, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        long_lines(Path(tmp), args.runs)
    return 0


NAMES_COMMANDS = [("secrets ls", ["secrets", "ls"]),
                  ("inject (json to a file)", ["inject", "--format", "json", "--output",
                                               "out.json", "--force"]),
                  ("run -- true", ["run", "--", "true"]),
                  ("check", ["check"]),
                  ("manifest check", ["manifest", "check"])]


def names_project(root: Path, fmt: str, n: int, previous: Path | None = None) -> dict[str, str]:
    """A repository whose manifest (kortix.yaml v3 or kortix.toml) requires n names, and a
    store holding a value for each, made by this tree (or by `previous`, a release's
    checkout, with its own shared key). Returns the environment that opens it."""
    names = [f"S_{i:05d}" for i in range(n)]
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    if fmt == "yaml":
        (root / "kortix.yaml").write_text(
            "kortix_version: 3\ndefault_agent: kortix\nruntimes: {opencode: {harness: opencode}}\n"
            "env:\n  required:\n" + "".join(f"    - {x}\n" for x in names) +
            "agents:\n  kortix: {runtime: opencode, secrets: all}\n")
    else:
        (root / "kortix.toml").write_text('[project]\nname = "bench"\n[env]\nrequired = [\n'
                                          + "".join(f'  "{x}",\n' for x in names) + "]\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(root / "config"), "XDG_CACHE_HOME":
           str(root / "cache")}
    values = "".join(f"{x}=value-{x}-{'x' * 40}\n" for x in names)
    (root / "values.env").write_text(values)
    if previous is None:
        opener, public = _identity()
        env["KORTIX_GUARD_KEY"] = opener
        subprocess.run([sys.executable, "-c", _MAKE, str(root), public], env=env, check=True)
    else:
        run = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(previous)!r}); "
               "from kortix_guard.cli.main import cli; cli()"]
        subprocess.run([*run, "key", "new"], cwd=root, env=env, check=True, capture_output=True)
        subprocess.run([*run, "env", "push", "--from", "values.env"], cwd=root, env=env,
                       check=True, capture_output=True)
    (root / "values.env").unlink()
    return env


def _identity() -> tuple[str, str]:
    from kortix_guard.store import recipients

    return recipients.generate()


# This tree's store for names_project: one CI identity, every value sealed in one transaction.
_MAKE = """
import sys
from pathlib import Path
from kortix_guard.project import Project
from kortix_guard.secret import SecretValue
from kortix_guard.store import create, recipients, transaction
from kortix_guard.store.crypto import Key
root = Path(sys.argv[1])
project = Project.discover(root)
create(project, Key.generate(), recipients={"ci": recipients.parse_recipient(sys.argv[2])})
with transaction(project) as draft:
    for line in (root / "values.env").read_text().splitlines():
        name, value = line.split("=", 1)
        draft.set(name, SecretValue(value))
"""


def many_names(tmp: Path, n: int, runs: int, previous: Path | None) -> None:
    """Each command on a manifest of n names and a store of n values, per manifest format;
    with `previous`, paired with that release on its own kortix.toml project."""
    here = [sys.executable, "-m", "kortix_guard"]
    print(f"a manifest of {n:,} names and a store of {n:,} values (wall, median of {runs}):")
    for fmt in ("yaml", "toml"):
        root = tmp / fmt
        env = names_project(root, fmt, n)
        for label, argv in NAMES_COMMANDS:
            t = median_time(lambda argv=argv, root=root, env=env: subprocess.run(
                [*here, *argv], cwd=root, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL), runs)
            print(f"  kortix.{fmt:<4} {label:<26}{t * 1000:8.1f} ms")
    if previous is None:
        return
    old_root = tmp / "previous"
    old_env = names_project(old_root, "toml", n, previous)
    old = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(previous)!r}); "
           "from kortix_guard.cli.main import cli; cli()"]
    new_root = tmp / "toml-paired"
    new_env = names_project(new_root, "toml", n)
    print(f"  paired with {previous} (its own kortix.toml project, same names and values):")
    for label, argv in NAMES_COMMANDS[:4]:
        ta, tb, ratio = _paired_two([*here, *argv], new_root, new_env, [*old, *argv], old_root,
                                    old_env, runs)
        print(f"    {label:<26} this tree {ta * 1000:7.1f} ms   previous {tb * 1000:7.1f} ms   "
              f"ratio {ratio:.2f}")


def _paired_two(a: list[str], a_cwd: Path, a_env: dict, b: list[str], b_cwd: Path, b_env: dict,
                runs: int) -> tuple[float, float, float]:
    """(median A, median B, median of per-pair A/B), A and B in turn after a warm-up each."""
    def once(argv: list[str], cwd: Path, env: dict) -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    once(a, a_cwd, a_env), once(b, b_cwd, b_env)
    pairs = [(once(a, a_cwd, a_env), once(b, b_cwd, b_env)) for _ in range(runs)]
    return (statistics.median(x for x, _ in pairs), statistics.median(y for _, y in pairs),
            statistics.median(x / y for x, y in pairs))


def long_lines(root: Path, runs: int) -> None:
    """`secrets ls` on a store holding one recipient line of N characters that never closes
    (0.3.3: 3.3 s at 16,000, 15.7 s at 32,000, quadratic): refused before any pattern reads
    it."""
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    (root / "kortix.toml").write_text('[project]\nname = "bench"\n')
    env, _ = make_store(root, 4, 1)
    store = root / ".kortix" / "secrets.enc.toml"
    good = store.read_text()
    print("a store holding one over-long recipient line (refused):")
    for n in (16_000, 32_000, 1_000_000):
        line = '"m" = { recipient = "ssh-rsa AAAA' + "A" * n + "\n"
        store.write_text(good.replace("\n[secrets]", line + "\n[secrets]"))
        t = median_time(lambda: subprocess.run(
            [sys.executable, "-m", "kortix_guard", "secrets", "ls"], cwd=root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), runs)
        print(f"  {n:>9,} characters: secrets ls      {t * 1000:8.1f} ms  (process start-up included)")


def bench_version(root: Path, version: int, secrets: int, runs: int) -> None:
    """One store version's figures, in a fresh folder with its own per-user config."""
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    declared = ", ".join(f'"S_{i:05d}"' for i in range(100))
    (root / "kortix.toml").write_text(
        f'[project]\nname = "bench"\n[env]\nrequired = [{declared}]\n')
    env, sealed = make_store(root, version, secrets)
    store = root / ".kortix" / "secrets.enc.toml"
    size = store.stat().st_size

    def open_all() -> None:
        values = open_store(store).values()
        assert len(values) == secrets

    kind = "one shared key" if version == 1 else "3 recipients, opened by an age identity"
    print(f"store version {version} ({kind}): {secrets} secrets, "
          f"{size / 1e6:.1f} MB on disk")
    print(f"  seal all and write (once)           {sealed * 1000:8.1f} ms")
    print(f"  open + verify MAC + decrypt all     "
          f"{median_time(open_all, runs) * 1000:8.1f} ms")
    if version > 1:
        unwrap_floor(store, env["KORTIX_GUARD_KEY"], runs)
    commands = [("kortix-guard --version", ["--version"]),
                ("kortix-guard manifest check", ["manifest", "check"]),
                ("kortix-guard secrets ls (no key)", ["secrets", "ls"]),
                ("kortix-guard secrets set (1 value)", ["secrets", "set", "S_00000=v"]),
                ("kortix-guard env pull", ["env", "pull"])]
    commands += ([("kortix-guard key export", ["key", "export"])] if version == 1 else
                 [("kortix-guard recipients ls (no key)", ["recipients", "ls"])])
    for label, argv in commands:
        t = median_time(lambda argv=argv, env=env: cli(root, env, *argv), runs)
        print(f"  {label:<36}{t * 1000:8.1f} ms  (process start-up included)")


def unwrap_floor(store: Path, identity_text: str, runs: int) -> None:
    """The age format's own cost, with pyrage alone: unwrap the data key from its line."""
    import base64

    import pyrage
    import tomllib

    wrapped = base64.b64decode(tomllib.loads(store.read_text())["recipients"]["alice"]["key"])
    identity = pyrage.x25519.Identity.from_str(identity_text)
    t = median_time(lambda: pyrage.decrypt(wrapped, [identity]), runs)
    print(f"  unwrap the data key (pyrage alone)  {t * 1000:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
