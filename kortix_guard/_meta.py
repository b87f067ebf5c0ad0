"""The package's version and repository URL, read from its one source: the package metadata."""
from __future__ import annotations

DIST = "kortix-guard"


def version() -> str:
    from importlib import metadata  # tens of milliseconds: only when asked

    return metadata.version(DIST)


def repository_url() -> str:
    from importlib import metadata

    for entry in metadata.metadata(DIST).get_all("Project-URL") or ():
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise LookupError("kortix-guard's metadata has no Repository URL")
