"""The shape of the package, as docs/architecture.md draws it, held by the imports themselves
(grimp reads every import, the lazy ones inside functions too): the floors, read from the
map, as a layers contract (imports run down, never up); the store's one front door; one
owner per outside dependency, read from the map's table; no import circles; and every
module importable on its own."""
from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kortix_guard

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(kortix_guard.__path__, "kortix_guard.")
                  if not m.name.endswith("__main__"))  # running it is its import


def _graph(external: bool = False):
    import grimp

    return grimp.build_graph("kortix_guard", include_external_packages=external, cache_dir=None)


def floors() -> list[list[str]]:
    """The map's floors, top first, as module names: `floor 7   cli/   click: …` gives
    ["kortix_guard.cli"]; the code block's first line above them is the top."""
    text = ARCHITECTURE.read_text()
    block = text.split("```", 2)[1]
    found = []
    for line in block.splitlines():
        m = re.match(r"floor \d+\s+(.*)", line)
        if m is None:
            continue
        names = []
        for token in m.group(1).split():
            if not re.fullmatch(r"[\w]+(?:/|\.py)", token):
                break
            names.append("kortix_guard." + token.removesuffix("/").removesuffix(".py"))
        found.append(names)
    top = next(line for line in text.splitlines() if "sit on top" in line)
    return [["kortix_guard." + n.removesuffix(".py") for n in re.findall(r"`([\w.]+)`", top)],
            *found]


def test_every_module_is_on_a_floor_of_the_map() -> None:
    placed = [name for floor in floors() for name in floor]
    assert len(placed) == len(set(placed)), "a module on two floors"
    top_level = {".".join(m.split(".")[:2]) for m in _modules()} | {"kortix_guard.__main__"}
    top_level.discard("kortix_guard.__init__")
    assert sorted(top_level - set(placed)) == [], "put each new module on a floor of the map"
    assert sorted(set(placed) - top_level) == [], "the map names a module that is gone"


def test_imports_run_down_the_floors() -> None:
    from grimp import Layer

    layers = [Layer(*floor, independent=False) for floor in floors() if floor]
    illegal = _graph().find_illegal_dependencies_for_layers(layers=layers,
                                                              containers={"kortix_guard"})
    assert [f"{d.importer} -> {d.imported}" for d in illegal] == []


def test_the_store_has_one_front_door() -> None:
    """Other rooms import `kortix_guard.store`, never a module inside it; only the command
    line also calls `kortix_guard.store.commands`."""
    graph = _graph()
    breaches = []
    for module in graph.modules:
        if module.startswith("kortix_guard.store"):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("kortix_guard.store."):
                continue
            if module.startswith("kortix_guard.cli.") and imported.startswith(
                    "kortix_guard.store.commands."):
                continue
            breaches.append(f"{module} -> {imported}")
    assert sorted(breaches) == []


# The map's names for the outside dependencies, as they are imported.
IMPORT_NAMES = {"click": ["click"], "tomlkit": ["tomlkit"], "tomllib": ["tomllib", "tomli"],
                "cryptography": ["cryptography"], "pyrage": ["pyrage"], "PyYAML": ["yaml"],
                "filelock": ["filelock"], "platformdirs": ["platformdirs"],
                "python-dotenv": ["dotenv"], "pygit2": ["pygit2"], "hyperscan": ["hyperscan"],
                "kingfisher-secret-scanner": ["kingfisher"]}


def owners() -> dict[str, set[str]]:
    """The map's table: dependency → the modules it says import it."""
    table = ARCHITECTURE.read_text().split("## Outside dependencies", 1)[1].split("\n## ", 1)[0]
    found = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("dependency", "---"):
            continue
        name = cells[0].split()[0]
        paths = re.findall(r"`([\w/]+(?:\.py|/))", cells[1])
        found[name] = {"kortix_guard." + p.removesuffix(".py").removesuffix("/").replace("/", ".")
                       .removesuffix(".__init__") for p in paths}
    return found


@pytest.mark.parametrize("dependency", sorted(IMPORT_NAMES))
def test_each_outside_dependency_has_the_owner_the_map_names(dependency: str) -> None:
    graph = _graph(external=True)
    table = owners()
    importers: set[str] = set()
    for name in IMPORT_NAMES[dependency]:
        if name in graph.modules:
            importers |= set(graph.find_modules_that_directly_import(name))
    if not importers and dependency not in table:
        pytest.skip(f"{dependency} is not used")
    assert dependency in table, f"add {dependency} to the map's table"
    allowed = table[dependency]
    stray = sorted(m for m in importers if not any(m == o or m.startswith(o + ".")
                                                   for o in allowed))
    assert stray == [], f"{dependency} imported outside its owner {sorted(allowed)}"


def test_no_import_circles() -> None:
    """Every import counts, the lazy ones inside functions too (grimp reads them all)."""
    graph = _graph()
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
