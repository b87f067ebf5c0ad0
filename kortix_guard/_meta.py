"""The package's version and repository URL, read from its one source: the package metadata."""
from __future__ import annotations

DIST = "kortix-guard"


def version() -> str:
    from importlib import metadata  # tens of milliseconds: only when asked

    return metadata.version(DIST)


def installed_commit() -> str | None:
    """The commit this copy was installed from, when pip recorded one (PEP 610's
    direct_url.json: `pip install "kortix-guard @ git+…@SHA"`): a release commit cannot name
    itself in its own files, so what it pins is the commit it was installed from."""
    import json
    from importlib import metadata

    try:
        text = metadata.distribution(DIST).read_text("direct_url.json")
        commit = json.loads(text)["vcs_info"]["commit_id"] if text else None
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError):
        return None
    return commit if isinstance(commit, str) and len(commit) == 40 else None


def pinned() -> tuple[str, str]:
    """(commit, version) to pin: the commit this copy was installed from with its version, else
    the latest release recorded in `_release.py`."""
    from kortix_guard import _release

    commit = installed_commit()
    return (commit, version()) if commit else (_release.COMMIT, _release.VERSION)


def repository_url() -> str:
    from importlib import metadata

    for entry in metadata.metadata(DIST).get_all("Project-URL") or ():
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise LookupError("kortix-guard's metadata has no Repository URL")
