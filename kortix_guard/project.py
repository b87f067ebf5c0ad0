"""Where things are: the project root, its manifest, store and baseline."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kortix_guard._fs import MANIFEST_NAMES, confined, find_root
from kortix_guard._out import quote_path
from kortix_guard.errors import ProjectError

if TYPE_CHECKING:
    from kortix_guard.manifest.model import Manifest


class Project(NamedTuple):
    cwd: Path
    root: Path
    manifest_path: Path
    store_option: Path | None = None
    key_file: Path | None = None

    @classmethod
    def discover(cls, cwd: Path, *, manifest: Path | None = None, store: Path | None = None,
                 key_file: Path | None = None) -> Project:
        cwd = cwd.resolve()
        if manifest is not None:
            manifest_path = (cwd / manifest).absolute()
            root = find_root(manifest_path.parent) or manifest_path.parent
        else:
            root = find_root(cwd) or cwd
            # The first manifest Kortix reads there; a project with none gets kortix.yaml.
            manifest_path = next((root / n for n in MANIFEST_NAMES if (root / n).exists()
                                  or (root / n).is_symlink()), root / MANIFEST_NAMES[0])
        return cls(cwd=cwd, root=root, manifest_path=manifest_path,
                   store_option=(cwd / store).absolute() if store is not None else None,
                   key_file=(cwd / key_file).absolute() if key_file is not None else None)

    def display(self, path: Path) -> str:
        """A path as the user would type it: relative to where they stand when it is in the
        project (like git's paths), absolute otherwise."""
        path = path.absolute()
        if path.is_relative_to(self.root) or path.is_relative_to(self.cwd):
            return quote_path(os.path.relpath(path, self.cwd))
        return quote_path(str(path))

    def require_manifest(self) -> Path:
        if not (self.manifest_path.exists() or self.manifest_path.is_symlink()):
            where = self.display(self.manifest_path.parent)
            raise ProjectError(f"{self.display(self.manifest_path)}: no such manifest (no "
                               f"kortix.yaml, kortix.yml or kortix.toml in {where})",
                               hint="create one with `kortix-guard init`, or pass --manifest PATH")
        return self.manifest_path

    def load_manifest(self) -> Manifest:
        """The manifest the commands act on; its verdict is remembered per content (names are
        public), so a 10,000-name manifest is judged once, not on every command."""
        from kortix_guard import manifest

        path = self.require_manifest()
        return manifest.load_cached(path, self.display(path))

    def store_path(self, manifest: Manifest | None = None) -> Path:
        """--store, else the manifest's [guard] store (default .kortix/secrets.enc.toml)."""
        if self.store_option is not None:
            return self.store_option
        manifest = manifest or self.load_manifest()
        return confined(manifest.guard.store, self.root, manifest.setting("store"))
