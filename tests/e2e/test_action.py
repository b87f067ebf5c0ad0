"""action.yml: schema-valid, pinned, bash-only, and its steps run the way the runner runs them."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import assert_no_value, kg, manifest_for, write
from tests.e2e.conftest import CHECKOUT
from tests.e2e.runner import run_steps
from tests.inject.test_inject import ADVERSARIAL, MANIFEST, parse_github_env

ACTION = CHECKOUT / "action.yml"
WORKFLOW = CHECKOUT / "examples" / "workflows" / "kortix-guard.yml"


@pytest.mark.parametrize(("schema", "path"), [("vendor.github-actions", ACTION),
                                              ("vendor.github-workflows", WORKFLOW)])
def test_schema(schema: str, path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _uses(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "uses"] + [u for v in node.values() for u in _uses(v)]
    if isinstance(node, list):
        return [u for v in node for u in _uses(v)]
    return []


def test_steps_are_bash_and_third_party_actions_are_pinned() -> None:
    action = yaml.safe_load(ACTION.read_text())
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts only through env:"
    uses = _uses(action) + _uses(yaml.safe_load(WORKFLOW.read_text()))
    third_party = [u for u in uses if not u.startswith("kortix-guard/")]
    assert third_party
    for ref in third_party:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref


def _setup_python(step: dict, context: dict[str, str]) -> None:
    """actions/setup-python, as far as the action uses it: an interpreter's path as the
    `python-path` output, the job's environment untouched (update-environment: false)."""
    assert step["uses"].startswith("actions/setup-python@")
    assert step["with"]["update-environment"] is False
    context[f"steps.{step['id']}.outputs.python-path"] = sys.executable


def run_action(workdir: Path, tmp: Path, given: dict[str, str],
               env: dict[str, str] | None = None) -> tuple[list, dict[str, Path]]:
    action = yaml.safe_load(ACTION.read_text())
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | given
    context = {"github.action_path": str(CHECKOUT), **{f"inputs.{k}": v for k, v in inputs.items()}}
    return run_steps(action["runs"]["steps"], workdir, tmp, context, _setup_python, env)


@pytest.fixture
def action_project(store_project: Path) -> tuple[Path, str]:
    names = ", ".join(f'"{n}"' for n in ADVERSARIAL)
    write(store_project, {"kortix.toml": MANIFEST.format(names)})
    for name, value in ADVERSARIAL.items():
        assert kg("secrets", "set", f"{name}=-", cwd=store_project, input=value + "\n").code == 0
    ci = kg("recipients", "add", "ci", "--generate", cwd=store_project)
    return store_project, ci.out.strip().splitlines()[-1]  # CI's identity, as KORTIX_GUARD_KEY


@pytest.mark.slow
def test_action_injects_exactly_the_store(action_project: tuple[Path, str], tmp_path: Path) -> None:
    root, key = action_project
    results, files = run_action(root, tmp_path, {"key": key})
    assert [r.returncode for r in results] == [0, 0], results[-1].stderr
    assert parse_github_env(files["GITHUB_ENV"].read_bytes().decode()) == ADVERSARIAL
    assert f"injected={','.join(ADVERSARIAL)}" in files["GITHUB_OUTPUT"].read_text()
    shown = [line for r in results for line in r.stdout.splitlines()
             if not line.startswith("::add-mask::")]
    assert_no_value([v for v in ADVERSARIAL.values() if len(v) > 8], "\n".join(shown),
                    *(r.stderr for r in results), files["GITHUB_STEP_SUMMARY"].read_text())

    kg("secrets", "rm", "PEM", cwd=root)
    results, files = run_action(root, tmp_path, {"key": key})
    assert results[-1].returncode == 1
    assert "missing: PEM" in results[-1].stderr
    assert files["GITHUB_ENV"].read_text() == ""
    assert "missing=PEM" in files["GITHUB_OUTPUT"].read_text()


@pytest.mark.slow
def test_the_run_input_gives_one_command_the_secrets_and_nothing_else(
        action_project: tuple[Path, str], tmp_path: Path) -> None:
    """Least exposure, as 1Password's action moved to: `run:` runs one bash command with the
    secrets (masked) in the working directory, its exit code the step's; $GITHUB_ENV and the
    outputs get nothing, and the command never sees the key."""
    root, key = action_project
    script = ('printf "%s" "$EQUALS" > seen.txt; test -z "${KORTIX_GUARD_KEY:-}"; '
              'echo "not a secret"; exit 3')
    results, files = run_action(root, tmp_path, {"key": key, "run": script})
    assert [r.returncode for r in results] == [0, 3], results[-1].stderr
    assert (root / "seen.txt").read_text() == ADVERSARIAL["EQUALS"]
    assert files["GITHUB_ENV"].read_text() == ""
    assert "values=" not in files["GITHUB_OUTPUT"].read_text()
    assert "not a secret" in results[-1].stdout
    assert f"::add-mask::{ADVERSARIAL['EQUALS']}" in results[-1].stdout
    ok = run_action(root, tmp_path, {"key": key, "run": "true"})[0]
    assert [r.returncode for r in ok] == [0, 0], ok[-1].stderr


@pytest.mark.slow
def test_action_opens_a_recipients_store_with_a_ci_identity(project: Path, tmp_path: Path) -> None:
    """KORTIX_GUARD_KEY holds the AGE-SECRET-KEY-1 identity `recipients add ci --generate`
    printed: the action needs no new input, and never shows the identity."""
    pytest.importorskip("pyrage")
    me = {"XDG_CONFIG_HOME": str(tmp_path / "me")}
    assert kg("identity", "new", cwd=project, env=me).code == 0
    assert kg("key", "new", cwd=project, env=me).code == 0
    identity = kg("recipients", "add", "ci", "--generate", cwd=project, env=me).out.split()[-1]
    kg("secrets", "set", "DATABASE_URL=-", cwd=project, input="postgres://ci-planted-1", env=me)
    results, files = run_action(project, tmp_path, {"key": identity})
    assert [r.returncode for r in results] == [0, 0], results[-1].stderr
    assert parse_github_env(files["GITHUB_ENV"].read_text()) == {
        "DATABASE_URL": "postgres://ci-planted-1"}
    assert f"::add-mask::{identity}" not in "".join(r.stdout for r in results)
    assert_no_value([identity], *(r.stderr for r in results), files["GITHUB_ENV"].read_text())


@pytest.mark.slow
def test_action_injects_what_an_agent_is_granted(store_project: Path, tmp_path: Path) -> None:
    """The `agent` input: a kortix.yaml grant, deny by default, declared names only."""
    name, text = manifest_for(3, optional=("OPENAI_API_KEY", "STRIPE_KEY"),
                              agents={"kortix": "all", "billing": ["STRIPE_KEY"]})
    (store_project / "kortix.toml").unlink()
    write(store_project, {name: text})
    kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input="postgres://agent-planted")
    kg("secrets", "set", "STRIPE_KEY=-", cwd=store_project, input="sk-agent-planted-7")
    ci = kg("recipients", "add", "ci", "--generate", cwd=store_project).out.split()[-1]
    results, files = run_action(store_project, tmp_path, {"key": ci, "agent": "billing"})
    assert [r.returncode for r in results] == [0, 0], results[-1].stderr
    assert parse_github_env(files["GITHUB_ENV"].read_text()) == {"STRIPE_KEY": "sk-agent-planted-7"}
    assert "injected 1 secret(s) for agent billing: STRIPE_KEY" in results[-1].stderr


@pytest.mark.slow
def test_action_pushes_the_store_to_kortix_after_a_merge(store_project: Path, tmp_path: Path,
                                                          kortix) -> None:
    """mode push-to-kortix: the store's values into the Kortix project, the token from the
    kortix-token input; refused for a pull request."""
    from tests.kortix.conftest import PROJECT, TOKEN

    kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input="postgres://pushed-by-ci")
    ci = kg("recipients", "add", "ci", "--generate", cwd=store_project).out.split()[-1]
    inputs = {"key": ci, "mode": "push-to-kortix", "kortix-token": TOKEN,
              "kortix-project": PROJECT, "kortix-api-url": kortix.url}
    results, _ = run_action(store_project, tmp_path, inputs, {"GITHUB_EVENT_NAME": "push"})
    assert [r.returncode for r in results] == [0, 0], results[-1].stderr
    assert kortix.received == [("DATABASE_URL", "postgres://pushed-by-ci")]
    assert "pushed 1 secret(s) to project " + PROJECT in results[-1].stderr
    assert_no_value(["postgres://pushed-by-ci", TOKEN], *(r.stdout + r.stderr for r in results))
    results, _ = run_action(store_project, tmp_path, inputs, {"GITHUB_EVENT_NAME": "pull_request"})
    assert results[-1].returncode == 1
    assert "never for a pull request" in results[-1].stdout
