"""What a set-up repository holds, in one place: `init` writes it and `check` verifies it
(pre-commit's `constants.py` habit): the hook ids, the merge driver, and the lines of
.gitignore and .gitattributes."""
from __future__ import annotations

from pathlib import Path

from kortix_guard.project import Project

HOOK_IDS = ("kortix-manifest", "kortix-scan")
MERGE_DRIVER_NAME = "kortix-guard store"
MERGE_DRIVER = "kortix-guard merge-store %O %A %B"
GITIGNORE_LINES = (".env", ".env.*", "!.env.example")
WORKFLOW = ".github/workflows/kortix-guard.yml"


def gitattributes_lines(project: Project, root: Path) -> tuple[str, ...]:
    """The store merges by name; the store and the baseline are never converted (a Windows
    checkout with core.autocrlf would otherwise rewrite their line ends, and a store is
    accepted only byte for byte)."""
    manifest = project.load_manifest() if project.manifest_path.exists() else None
    lines = []
    for path, attributes in ((project.store_path(manifest), ("merge=kortix-guard", "-text")),
                             (manifest.guard.baseline if manifest else None, ("-text",))):
        if path is not None and path.is_relative_to(root):
            lines += [f"{path.relative_to(root).as_posix()} {a}" for a in attributes]
    return tuple(lines)
