"""The shape of the package (docs/architecture.md): no import circles, and every module
importable on its own (a circle shows up as a module that only imports after another)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import kortix_guard


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(kortix_guard.__path__, "kortix_guard.")
                  if not m.name.endswith("__main__"))  # running it is its import


def test_no_import_circles() -> None:
    """Every import counts, the lazy ones inside functions too (grimp reads them all)."""
    import grimp

    graph = grimp.build_graph("kortix_guard")
    circles = sorted((m, d) for m in graph.modules for d in graph.find_modules_directly_imported_by(m)
                     if graph.chain_exists(importer=d, imported=m))
    assert circles == []


def test_every_module_imports_on_its_own() -> None:
    code = ("import importlib, subprocess, sys\n"
            "failed = []\n"
            "for name in sys.argv[1:]:\n"
            "    proc = subprocess.run([sys.executable, '-c', f'import {name}'],\n"
            "                          capture_output=True, text=True)\n"
            "    if proc.returncode:\n"
            "        failed.append((name, proc.stderr.strip().splitlines()[-1]))\n"
            "print(failed)\n")
    proc = subprocess.run([sys.executable, "-c", code, *_modules()], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
