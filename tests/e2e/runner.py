"""Steps of a composite action or a workflow job, run the way the runner runs them: each
`run:` with `bash --noprofile --norc -eo pipefail -c` in its working directory, its `env:`
with `${{ … }}` expanded from the inputs and earlier steps' outputs (never inside the script),
the file commands as files (a fresh GITHUB_OUTPUT per step), RUNNER_TEMP, and `if:`
conditions on the event name. `uses:` steps are played by the caller's stand-ins."""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.inject.test_inject import parse_github_env

Stand_in = Callable[[dict, dict[str, str]], None]  # (the step, the expression context)


def expand(text: str, context: dict[str, str]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: context[m.group(1).strip()], text)


def condition(expr: str, context: dict[str, str]) -> bool:
    """The `if:` forms these files use: `github.event_name ==/!= '…'` (and `always()`)."""
    m = re.fullmatch(r"\s*github\.event_name\s*(==|!=)\s*'([^']*)'\s*", expr)
    assert m is not None, f"a condition this runner does not know: {expr}"
    return (context["github.event_name"] == m.group(2)) is (m.group(1) == "==")


def run_steps(steps: list[dict], workdir: Path, tmp: Path, context: dict[str, str],
              uses: Stand_in, env: dict[str, str] | None = None
              ) -> tuple[list[subprocess.CompletedProcess], dict[str, Path]]:
    """Run the steps in order; stop at the first failing one."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = {n: tmp / n.lower() for n in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for f in files.values():
        f.write_text("")
    (tmp / "runner-temp").mkdir(exist_ok=True)
    base_env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "GITHUB_ACTIONS": "true",
                "RUNNER_TEMP": str(tmp / "runner-temp"), "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64", **{k: str(v) for k, v in files.items()},
                "XDG_CONFIG_HOME": str(tmp / "no-user-keys"), **(env or {})}
    context = {"runner.temp": str(tmp / "runner-temp"), **context}
    results = []
    for step in steps:
        if "if" in step and not condition(step["if"], context):
            continue
        if "uses" in step:
            uses(step, context)
            continue
        step_env = base_env | {k: expand(str(v), context) for k, v in step.get("env", {}).items()}
        cwd = workdir / expand(step.get("working-directory", "."), context)
        files["GITHUB_OUTPUT"].write_text("")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=cwd, env=step_env, capture_output=True, text=True, timeout=600)
        results.append(proc)
        outputs = parse_github_env(files["GITHUB_OUTPUT"].read_text())
        context |= {f"steps.{step.get('id')}.outputs.{k}": v for k, v in outputs.items()}
        if proc.returncode != 0:
            break
    return results, files
