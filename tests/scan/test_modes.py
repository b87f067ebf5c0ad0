"""What is read: staged blobs (not the working copy), the index, files on disk, history."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_cannot_run, assert_exit, git, git_init, kg, kg_proc, write
from tests.scan.conftest import TOKENS, rules_found, scan_json

SECRET = TOKENS["github-classic"]


def commit_all(repo: Path, message: str) -> str:
    git("add", "-A", cwd=repo)
    git("commit", "-qm", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = git_init(tmp_path / "repo")
    write(root, {"README.md": "hello\n"})
    commit_all(root, "init")
    return root


def test_staged_blob_blocks_even_when_working_copy_is_clean(repo: Path) -> None:
    write(repo, {"app.py": f'token = "{SECRET}"\n'})
    git("add", "app.py", cwd=repo)
    write(repo, {"app.py": "token = None\n"})  # cleaned, but not staged
    assert rules_found(repo, "--staged") == ["KG320"]
    assert rules_found(repo, "--staged", "app.py") == ["KG320"]
    assert rules_found(repo, "app.py") == []  # the disk copy is clean


def test_unstaged_secret_does_not_block(repo: Path) -> None:
    write(repo, {"app.py": "token = None\n"})
    git("add", "app.py", cwd=repo)
    write(repo, {"app.py": f'token = "{SECRET}"\n'})
    assert rules_found(repo, "--staged") == []
    assert rules_found(repo, "--staged", "app.py") == []


def test_staged_without_files_reads_only_changes(repo: Path) -> None:
    write(repo, {"old.py": f'token = "{SECRET}"\n'})
    commit_all(repo, "an old secret, already committed")
    write(repo, {"new.py": "x = 1\n"})
    git("add", "new.py", cwd=repo)
    assert rules_found(repo, "--staged") == []
    # With FILES (what pre-commit passes, and every tracked file under --all-files):
    assert rules_found(repo, "--staged", "old.py", "new.py") == ["KG320"]
    assert rules_found(repo, "--all-files") == ["KG320"]


def test_history_names_the_introducing_commit_at_each_path(repo: Path) -> None:
    """One blob is read once, and reported at every path that held it (excludes and the
    baseline apply per path), each in the commit that put it there."""
    write(repo, {"a/app.py": f'token = "{SECRET}"\n'})
    first = commit_all(repo, "add token")
    write(repo, {"b/copy.py": f'token = "{SECRET}"\n', "README.md": "changed\n"})  # same blob
    copied = commit_all(repo, "copy it")
    os.remove(repo / "a" / "app.py")
    os.remove(repo / "b" / "copy.py")
    commit_all(repo, "remove it")
    assert rules_found(repo, "--all-files") == []
    code, findings = scan_json(repo, "--history")
    assert code == 1
    assert sorted((f["path"], f["commit"]) for f in findings) == [("a/app.py", first),
                                                                 ("b/copy.py", copied)]
    assert scan_json(repo, "--history", "--since", copied)[1] == []
    result = kg("scan", "--history", cwd=repo)
    assert f"(commit {first[:12]})" in result.out


def test_history_reads_every_ref(repo: Path) -> None:
    git("checkout", "-qb", "feature", cwd=repo)
    write(repo, {"f.py": f'token = "{SECRET}"\n'})
    commit_all(repo, "on a branch")
    git("checkout", "-q", "main", cwd=repo)
    assert rules_found(repo, "--history") == ["KG320"]


def test_since_missing_in_a_shallow_clone(repo: Path, tmp_path: Path) -> None:
    for i in range(3):
        write(repo, {"n.txt": f"{i}\n"})
        commit_all(repo, f"c{i}")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True)
    old = git("rev-list", "--max-parents=0", "HEAD", cwd=repo).strip()
    assert_cannot_run(kg("scan", "--history", "--since", old, cwd=clone), "fetch-depth: 0")


def test_git_modes_outside_git(tmp_path: Path) -> None:
    assert_cannot_run(kg("scan", "--all-files", cwd=tmp_path), "not inside a git repository")


def test_files_on_disk_without_git(tmp_path: Path) -> None:
    write(tmp_path, {"src/a.py": f'token = "{SECRET}"\n', "src/b.py": "x = 1\n",
                     ".git/config": f"{SECRET}\n"})
    code, findings = scan_json(tmp_path)
    assert [f["path"] for f in findings] == ["src/a.py"]  # .git is never entered


def test_binary_skipped_non_utf8_scanned_symlinks_not_followed(tmp_path: Path) -> None:
    write(tmp_path, {
        "blob.bin": b"\0\1\2" + SECRET.encode(),
        "latin1.py": 'name = "caf\xe9"\n'.encode("latin-1") + f'token = "{SECRET}"\n'.encode(),
        "outside/secret.py": f'token = "{SECRET}"\n',
    })
    (tmp_path / "scanned").mkdir()
    (tmp_path / "scanned" / "link.py").symlink_to(tmp_path / "outside" / "secret.py")
    (tmp_path / "scanned" / "dirlink").symlink_to(tmp_path / "outside")
    assert rules_found(tmp_path, "blob.bin", "latin1.py", "scanned") == ["KG320"]
    code, findings = scan_json(tmp_path, "latin1.py")
    assert findings[0]["line"] == 2


def test_big_file_scanned_whole(tmp_path: Path) -> None:
    """A 3 MiB file is scanned to its end: a token at the start and one at the end."""
    filler = ("x = 1\n" * (3 * 1024 * 1024 // 6))
    write(tmp_path, {"big.txt": f'token = "{SECRET}"\n' + filler + f'token = "{SECRET}"\n'})
    code, findings = scan_json(tmp_path, "big.txt")
    assert code == 1
    assert [f["line"] for f in findings] == [1, filler.count("\n") + 2]


def test_over_the_cap_the_rest_is_reported_unscanned(monkeypatch) -> None:
    from kortix_guard.scan import engine

    monkeypatch.setattr(engine, "MAX_SCAN_BYTES", 1024)
    data = f'token = "{SECRET}"\n'.encode() + b"y" * 4096
    found = engine.Scanner().scan(engine.Item("dump.sql", "dump.sql", data=data)).findings
    assert [f.code for f in found] == ["KG320", "KG350"]
    assert "first" in found[1].message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_is_scanned(tmp_path: Path, encoding: str) -> None:
    text = f'# PowerShell output\r\n$token = "{SECRET}"\r\n'
    write(tmp_path, {"out.ps1": text.encode(encoding)})
    code, findings = scan_json(tmp_path, "out.ps1")
    assert [(f["rule"], f["line"]) for f in findings] == [("KG320", 2)]


def test_missing_path_cannot_run(tmp_path: Path) -> None:
    result = kg("scan", "missing.py", cwd=tmp_path)
    assert result.code == 2
    assert "missing.py: no such file or folder" in result.err


def test_mode_usage_errors(repo: Path) -> None:
    assert_exit(kg("scan", "--staged", "--history", cwd=repo), 2, "--staged", "--history")
    assert_exit(kg("scan", "--since", "HEAD", cwd=repo), 2, "--since")
    assert_exit(kg("scan", "--all-files", "x.py", cwd=repo), 2, "--all-files")


def test_hook_entry_point(repo: Path, monkeypatch, capsys) -> None:
    """kortix-guard-scan, the kortix-scan hook's entry: scan --staged FILES without click."""
    from kortix_guard.scan.commit_hook import main

    write(repo, {"a.py": f'token = "{SECRET}"\n', "b.py": "x = 1\n"})
    git("add", "a.py", "b.py", cwd=repo)
    monkeypatch.chdir(repo)
    assert main(["b.py"]) == 0
    assert main(["a.py", "b.py"]) == 1
    assert "a.py:1:10: KG320 [high]" in capsys.readouterr().out
    assert main(["--min-confidence=high", "--", "a.py"]) == 1
    assert main(["--min-confidence", "sure"]) == 2
    assert main(["--frobnicate"]) == 2
    assert main(["-h"]) == 0
    assert "usage: kortix-guard-scan" in capsys.readouterr().out


def _hook(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """The kortix-scan hook's entry as pre-commit starts it: a process of its own."""
    return subprocess.run([sys.executable, "-m", "kortix_guard.scan.commit_hook", *files],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_hook_reads_each_staged_file_however_it_is_named(repo: Path) -> None:
    """The hook's git reads the staged blobs by path while it imports (`:./PATH`); a name
    that is a folder, holds a space or a newline, or one file of more than a pipe's worth of
    names is read by its blob id instead: every secret is found at its own path."""
    names = {"src/deep/app.py": "token", "with space.py": "spaced", "new\nline.py": "newline"}
    many = [f"many/{'n' * 60}_{i:03d}.py" for i in range(300)]  # over 16 KiB of request
    write(repo, {**{name: f'{var} = "{SECRET}"\n' for name, var in names.items()},
                 **{name: "x = 1\n" for name in many[:-1]}, many[-1]: f'last = "{SECRET}"\n'})
    git("add", "-A", cwd=repo)
    write(repo, {"src/deep/app.py": "token = None\n"})  # the staged blob, not the disk's, is read
    for args, cwd, found in (
            (["src/deep/app.py", "with space.py", "new\nline.py"], repo,
             ['"new\\nline.py":1', "src/deep/app.py:1", "with space.py:1"]),  # shown quoted
            (["src"], repo, ["src/deep/app.py:1"]),  # a folder: what git lists under it
            (["deep/app.py"], repo / "src", ["deep/app.py:1"]),  # from a folder inside
            (many, repo, [f"{many[-1]}:1"])):
        result = _hook(cwd, *args)
        assert result.returncode == 1, result.stderr
        shown = sorted(line.split(":1:")[0] + ":1" for line in result.stdout.splitlines()
                       if ": KG320 " in line)
        assert shown == found, result.stdout
        assert SECRET not in result.stdout + result.stderr
    clean = _hook(repo, *many[:-1])
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_a_scan_ends_with_all_of_its_output_written(repo: Path) -> None:
    """A scan and the commit hook end the process without the interpreter's teardown
    (`end_now`): what they wrote is all there first, well past a pipe's 64 KiB."""
    write(repo, {f"app{i:03d}.py": f'token = "{SECRET}"\n' for i in range(400)})
    git("add", "-A", cwd=repo)
    scanned = kg_proc("scan", "--all-files", "--format", "json", cwd=repo)
    assert scanned.code == 1 and len(json.loads(scanned.out)) == 400, scanned.err
    hooked = _hook(repo, *(f"app{i:03d}.py" for i in range(400)))
    assert hooked.returncode == 1
    assert sum(": KG320 " in line for line in hooked.stdout.splitlines()) == 400
    assert len(scanned.out) > 65536


def test_the_hook_starts_no_subprocess_module_nor_openssl(repo: Path) -> None:
    """What keeps a clean commit's hook fast, checked by what it loaded: git is started with
    posix_spawn (no `subprocess`), the ids' key and the caches' names need no OpenSSL
    (`hashlib`), the cached catalog and a text report no `json`."""
    if not hasattr(os, "posix_spawnp"):
        pytest.skip("Windows starts git with subprocess")
    write(repo, {"a.py": "x = 1\n", ".env": "API_TOKEN=abc\n"})
    git("add", "a.py", cwd=repo)
    probe = ("import sys\nfrom kortix_guard.scan.commit_hook import main\ncode = main(['a.py'])\n"
             "print(code, sorted(m for m in ('subprocess', 'hashlib', 'json', '_hashlib') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split("\n")[-2] == "0 []", result.stdout + result.stderr


def test_the_hook_reads_without_posix_spawn(repo: Path, monkeypatch) -> None:
    """Where there is no posix_spawn (Windows), git starts through subprocess: the same
    blobs are read."""
    from kortix_guard.git import GitCli

    write(repo, {"a.py": "a = 1\n", "b.py": "b = 2\n"})
    git("add", "a.py", "b.py", cwd=repo)
    monkeypatch.delattr(os, "posix_spawnp")
    cli = GitCli(repo, ["a.py", "b.py", "missing.py"])
    listed = cli.listed()
    assert [r.path for r in listed] == ["a.py", "b.py"]
    assert sorted(cli.read_all(r.id for r in listed).values()) == [b"a = 1\n", b"b = 2\n"]


@pytest.mark.parametrize(("out", "blobs"), [
    (b"", {}),
    (b"%s blob 3\nabc\n" % (b"a" * 40), {"a" * 40: b"abc"}),
    (b":./gone.py missing\n%s blob 0\n\n" % (b"b" * 40), {"b" * 40: b""}),
    (b":./a b missing missing\n:./x ambiguous\n", {}),  # a name with spaces, "missing" in it
    (b"%s tree 2\nxy\n%s blob 2\n\n\n\n" % (b"c" * 40, b"d" * 40), {"d" * 40: b"\n\n"}),
])
def test_cat_file_batch_answers_are_parsed(out: bytes, blobs: dict[str, bytes]) -> None:
    from kortix_guard.git import _batch_blobs

    assert _batch_blobs(out) == blobs


def test_range_scans_exactly_the_commits_head_adds(repo: Path) -> None:
    """A pull request's BASE..HEAD: HEAD's ancestry only, not other branches or tags, and
    not what BASE already holds."""
    write(repo, {"base.py": f'old = "{SECRET}"\n'})
    base = commit_all(repo, "base with an old secret")
    git("checkout", "-qb", "other", cwd=repo)
    write(repo, {"other.py": f'x = "{SECRET}"\n'})
    commit_all(repo, "another branch")
    git("checkout", "-q", base, cwd=repo)
    git("checkout", "-qb", "pr", cwd=repo)
    write(repo, {"clean.py": "x = 1\n"})
    clean = commit_all(repo, "clean change")
    assert scan_json(repo, "--range", f"{base}..{clean}") == (0, [])
    write(repo, {"new.py": f'token = "{SECRET}"\n'})
    head = commit_all(repo, "leak")
    code, findings = scan_json(repo, "--range", f"{base}..{head}")
    assert code == 1
    assert [(f["path"], f["commit"]) for f in findings] == [("new.py", head)]
    assert_exit(kg("scan", "--range", "HEAD", cwd=repo), 2, "BASE..HEAD")


def test_range_leaves_what_a_parent_outside_it_holds(repo: Path) -> None:
    """A branch forked before BASE adds a file BASE also holds (the same blob, in a nested
    folder) and a file named by a token BASE also has, then merges BASE: the range's
    boundary (BASE, the fork point) holds that pair and that name, so neither is new
    (the listing leaves them to the findings: `KnownContent`); the same blob at a path
    BASE does not hold is, and so is a different value at the known path."""
    named = f"keys/{TOKENS['github-pat']}.txt"
    write(repo, {"README": "start\n"})
    root = commit_all(repo, "root")
    write(repo, {"lib/deep/old.py": f'old = "{SECRET}"\n', named: "x\n"})
    base = commit_all(repo, "base holds an old value")
    git("checkout", "-qb", "pr", root, cwd=repo)
    write(repo, {"lib/deep/old.py": f'old = "{SECRET}"\n', "lib/new.py": "x = 1\n",
                 named: "y\n"})
    commit_all(repo, "the same file on the branch")
    git("merge", "-q", "--no-edit", "-X", "ours", base, cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    assert scan_json(repo, "--range", f"{base}..{head}") == (0, [])
    write(repo, {"z/old.py": f'old = "{SECRET}"\n'})  # the known blob at a new path
    copied = commit_all(repo, "the old value copied")
    code, findings = scan_json(repo, "--range", f"{base}..{copied}")
    assert code == 1 and [(f["path"], f["commit"]) for f in findings] == [
        ("z/old.py", copied)]
    git("reset", "-q", "--hard", head, cwd=repo)
    other = TOKENS["github-pat"]
    write(repo, {"lib/deep/old.py": f'old = "{other}"\n'})
    changed = commit_all(repo, "another value at that path")
    code, findings = scan_json(repo, "--range", f"{base}..{changed}")
    assert code == 1 and [(f["path"], f["commit"]) for f in findings] == [
        ("lib/deep/old.py", changed)]


def _branchy_history(repo: Path) -> dict[str, str]:
    """Branches and merges, one of them evil (a token that only its resolution holds), a
    rename, a symlink, a copied folder and a token on a branch never merged."""
    tokens = {k: TOKENS[k] for k in ("github-classic", "stripe", "aws", "slack", "openai")}
    write(repo, {"src/a.py": f'token = "{tokens["github-classic"]}"\n'})
    commit_all(repo, "a token")
    git("checkout", "-qb", "side", cwd=repo)
    write(repo, {"lib/conf.py": f'stripe = "{tokens["stripe"]}"\n'})
    commit_all(repo, "on the side")
    git("checkout", "-q", "main", cwd=repo)
    write(repo, {"README.md": "changed on main\n"})
    commit_all(repo, "on main")
    git("merge", "-q", "--no-ff", "--no-commit", "side", cwd=repo)
    write(repo, {"lib/resolved.py": f'aws = "{tokens["aws"]}"\n'})  # only the merge holds it
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "merge side", cwd=repo)
    git("mv", "src/a.py", "src/renamed.py", cwd=repo)
    os.symlink("lib/conf.py", repo / "link")
    write(repo, {"copy/conf.py": (repo / "lib" / "conf.py").read_text()})
    commit_all(repo, "rename, link, copy")
    git("checkout", "-qb", "abandoned", cwd=repo)
    write(repo, {"x/slack.py": f'hook = "{tokens["slack"]}"\n'})
    commit_all(repo, f"never merged\n\nkey {tokens['openai']}\n")
    git("checkout", "-q", "main", cwd=repo)
    return tokens


def test_history_is_the_same_with_or_without_git_on_path(repo: Path) -> None:
    """`git log --raw` lists the history when git can (merges by their combined diff: an evil
    merge's own content is in it); the tree walk lists it when git cannot. Both report the
    same findings, each in a commit that holds it."""
    from kortix_guard.git import Repo
    from kortix_guard.scan.history import listed_by_log

    _branchy_history(repo)
    tips = git("for-each-ref", "--format=%(objectname)", cwd=repo).split()
    listed = list(listed_by_log(Repo(repo), tips))
    assert any(r.path == "lib/resolved.py" for r in listed)
    fast = kg_proc("scan", "--history", "--format", "json", cwd=repo)
    walked = kg_proc("scan", "--history", "--format", "json", cwd=repo,
                     env={"PATH": str(repo / "no-git-here")})
    assert fast.code == walked.code == 1, fast.err + walked.err

    def found(out: str) -> list[tuple]:
        return sorted((f["path"], f["rule"], f["line"]) for f in json.loads(out))

    assert found(fast.out) == found(walked.out)
    paths = {f["path"] for f in json.loads(fast.out)}
    assert {"src/a.py", "src/renamed.py", "lib/conf.py", "copy/conf.py", "lib/resolved.py",
            "x/slack.py"} <= paths
    assert any(p.startswith("commit ") for p in paths)  # the never-merged commit's message
    for f in json.loads(fast.out):
        if not f["path"].startswith("commit "):
            assert git("cat-file", "-e", f"{f['commit']}:{f['path']}", cwd=repo) == ""
    root = git("rev-list", "--max-parents=0", "HEAD", cwd=repo).strip()
    in_range = {f["path"] for f in scan_json(repo, "--range", f"{root}..HEAD")[1]}
    assert "lib/resolved.py" in in_range and "x/slack.py" not in in_range


def test_a_copy_is_reported_for_its_own_content_only(repo: Path) -> None:
    """Two contents of one path, the first also copied elsewhere: the copy holds only the
    first content's token, so only that finding is reported at the copy."""
    first_token, second_token = TOKENS["github-classic"], TOKENS["stripe"]
    write(repo, {"app.py": f'token = "{first_token}"\n'})
    first = commit_all(repo, "first content")
    write(repo, {"app.py": f'stripe = "{second_token}"\n'})
    second = commit_all(repo, "second content")
    write(repo, {"copy.py": f'token = "{first_token}"\n'})
    copied = commit_all(repo, "a copy of the first content")
    code, findings = scan_json(repo, "--history")
    assert sorted((f["path"], f["commit"], f["rule"]) for f in findings) == sorted([
        ("app.py", first, "KG320"), ("app.py", second, "KG320"), ("copy.py", copied, "KG320")])


def test_a_dangling_symbolic_ref_is_skipped_with_a_note(tmp_path: Path) -> None:
    """origin/HEAD naming a deleted branch: git carries on, and so does the history scan
    (it exited 2 with an internal NotFoundError)."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"a.py": f'token = "{TOKENS["github-classic"]}"\n'})
    commit_all(repo, "a token")
    git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/gone", cwd=repo)
    result = kg("scan", "--history", cwd=repo)
    assert_exit(result, 1, "a.py:1:10: KG320",
                "refs/remotes/origin/HEAD names no commit (a dangling reference); skipped")


def test_a_history_says_each_secret_once_with_its_count(tmp_path: Path) -> None:
    """One token in 5,000 versions of a file (one commit, fast-imported): one finding, with
    its 5,000 occurrences in JSON and SARIF, and a stable id that is not the value."""
    repo = git_init(tmp_path / "repo")
    token = TOKENS["github-classic"]
    stream = []
    for i in range(5000):
        data = f'token = "{token}"\n# revision {i}\n'.encode()
        stream.append(b"commit refs/heads/main\ncommitter Dev <dev@example.com> 1700000000 +0000\n"
                      b"data 1\nr\nM 100644 inline a.py\ndata " + str(len(data)).encode() + b"\n" + data)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    code, found = scan_json(repo, "--history")
    assert code == 1
    assert [(f["path"], f["rule"], f["occurrences"]) for f in found] == [("a.py", "KG320", 5000)]
    commits = {loc["commit"] for loc in found[0]["locations"]}
    assert len(found[0]["locations"]) == 5000 and len(commits) == 5000
    assert token not in found[0]["id"] and len(found[0]["id"]) == 16
    text = kg("scan", "--history", cwd=repo).out
    assert text.count("KG320") == 1 and "5,000 occurrences" in text
    sarif = json.loads(kg("scan", "--history", "--format", "sarif", cwd=repo).out)
    (result,) = sarif["runs"][0]["results"]
    assert result["partialFingerprints"] == {"kortixGuardSecret/v1": found[0]["id"]}
    assert result["properties"]["occurrences"] == 5000
    # The id is stable: the same on a second run.
    assert scan_json(repo, "--history")[1][0]["id"] == found[0]["id"]


def test_a_committed_build_cache_is_one_finding_with_its_count(tmp_path: Path) -> None:
    """A monorepo's committed `.nx/cache` (task logs repeating the environment) and a `.log`
    file: one never-commit finding each, with the number of secrets inside, not one per
    line; the secrets elsewhere are reported as before."""
    repo = git_init(tmp_path / "repo")
    token = TOKENS["github-classic"]
    files = {f"apps/web/.nx/cache/{i:03}/terminalOutput": f"GITHUB_TOKEN={token}\nbuilt {i}\n"
             for i in range(40)}
    files |= {"logs/deploy.log": f"using {token}\nusing {TOKENS['stripe']}\n",
              "src/app.py": f'token = "{token}"\n'}
    write(repo, files)
    commit_all(repo, "a build, committed")
    for args in (("--history",), ("--all-files",)):
        code, found = scan_json(repo, *args)
        assert code == 1
        shown = sorted((f["path"], f["rule"]) for f in found)
        assert shown == [("apps/web/.nx/cache", "KG340"), ("logs/deploy.log", "KG340"),
                         ("src/app.py", "KG320")], (args, shown)
        cache = next(f for f in found if f["path"] == "apps/web/.nx/cache")
        assert "a build cache holding 40 secret(s) (KG320)" in cache["message"]
        assert "git rm -r --cached apps/web/.nx/cache" in cache["message"]
        log = next(f for f in found if f["path"] == "logs/deploy.log")
        assert "a log file holding 2 secret(s)" in log["message"] and log["line"] == 1
        assert token not in json.dumps(found)


def test_a_history_scan_ends_with_a_summary_by_rule_and_folder(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {f"apps/web/src/k{i}.py": f'token = "{TOKENS["github-classic"][:-6]}{i:06}"\n'
                 for i in range(4)} | {"infra/deploy.sh": f"export K={TOKENS['stripe']}\n",
                                        "app.py": f"AWS = '{TOKENS['aws']}'\n"})
    commit_all(repo, "keys")
    result = kg("scan", "--history", "--min-confidence", "low", cwd=repo)
    assert result.code == 1
    assert "  by rule: KG320 6" in result.err, result.err
    assert "  by folder: apps/web/ 4, " in result.err, result.err
    assert "infra/ 1" in result.err and "./ 1" in result.err
    assert "by rule" not in kg("scan", "--all-files", cwd=repo).err  # a tree lists each


def test_the_hook_entry_says_its_version(tmp_path: Path) -> None:
    """`kortix-guard-scan --version` (it was an unknown option): which release a hook runs."""
    from kortix_guard._meta import version

    proc = subprocess.run([sys.executable, "-m", "kortix_guard.scan.commit_hook", "--version"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"kortix-guard-scan {version()}"


def test_the_work_tree_scan_leaves_ignored_untracked_files_out(tmp_path: Path) -> None:
    """A developer's own ignored, untracked .env is not going to git: `scan` leaves it out
    unless --include-ignored (or it is named)."""
    repo = git_init(tmp_path / "repo")
    write(repo, {".gitignore": ".env\n", ".env": "API_TOKEN=real-value-42-abcdef\n",
                 "a.py": "x = 1\n"})
    assert_exit(kg("scan", cwd=repo), 0)
    included = kg("scan", "--include-ignored", cwd=repo)
    assert_exit(included, 1, ".env:1:1: KG340", "git ignores it and it is untracked")
    assert "git rm --cached" not in included.out  # the finding never gives a wrong fix
    assert_exit(kg("scan", ".env", cwd=repo), 1, ".env:1:1: KG340")
    git("add", "-f", ".env", cwd=repo)  # tracked after all: found again
    assert_exit(kg("scan", cwd=repo), 1, ".env:1:1: KG340")
