"""What the CI runner says about where kortix-guard runs: whether it is CI, GitHub Actions,
and the base of the pull request being checked."""
from __future__ import annotations

import os


def in_ci() -> bool:
    """On a CI runner: CI set (and not to false), or GitHub's or GitLab's own variable."""
    ci = os.environ.get("CI", "").lower()
    return ci not in ("", "0", "false") or any(os.environ.get(v)
                                                for v in ("GITHUB_ACTIONS", "GITLAB_CI"))


def github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def pull_request_base() -> str | None:
    """The base of the pull request CI is checking: on GitHub the base commit from the
    event payload (a name such as `origin/main` would resolve a tag of that name first), else
    the exact remote-tracking ref; GitLab's CI_MERGE_REQUEST_DIFF_BASE_SHA."""
    event = os.environ.get("GITHUB_EVENT_PATH")
    if event:
        import json  # here only: the commit hook asks in_ci(), and never reads a payload

        try:
            with open(event, encoding="utf-8") as f:
                sha = json.load(f).get("pull_request", {}).get("base", {}).get("sha")
        except (OSError, ValueError, AttributeError):
            sha = None
        if isinstance(sha, str) and len(sha) == 40:
            return sha
    if os.environ.get("GITHUB_BASE_REF"):
        return f"refs/remotes/origin/{os.environ['GITHUB_BASE_REF']}"
    return os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None
