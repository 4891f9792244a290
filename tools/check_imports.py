"""Fail on an import cycle inside ``heldout/`` or an import against the layering.

The layering, lowest first (a module imports only its own layer and those below):

    models, config, storage, db, logs          the foundation, below all
    challenges                                 bundles, metrics, scoring
    leaderboard                                ranking and boards
    runner                                     the queue, workers and sandboxes; never Flask
    platform                                   the web tier

Entry points (``cli``, ``commands``, ``startup``, ``migrate``, ``migrations``,
the package itself) sit above everything. ``client`` is the stand-alone API
client: it imports nothing of Heldout but itself. Within ``platform``, nothing
but the entry points imports the app factory (``heldout.platform.app``).

The web tier runs no participant code, so of the runner it imports only the
seam in ``WEB_RUNNER_SEAM`` (enqueueing, and the state the pages show), and
those modules import of the runner only each other and ``runner.outcome``
(plain data), so a web process never loads the sandbox or the scoring code.

Configuration is read from the environment only in ``heldout/config.py`` (and
the stand-alone client's own ``client/config.py``): any other use of
``os.environ`` or ``os.getenv`` is a problem, except where
``ENVIRONMENT_PASSED_ON`` allows passing the whole environment on to a
subprocess (``{**os.environ, ...}``), with its reason.

Every ``import`` counts, at the top of a module or inside a function, except
those under ``if TYPE_CHECKING:``, which never run. ``from a import b`` is an
import of the module ``a.b`` when there is one, else of ``a``. Run from the
repository root: ``python tools/check_imports.py``; it prints each problem and
exits 1, or prints a one-line summary and exits 0.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "heldout"

FOUNDATION = {"models", "config", "storage", "db", "logs"}
LAYERS = {"challenges": 1, "leaderboard": 2, "runner": 3, "platform": 4}
ENTRY_POINTS = {"", "cli", "commands", "startup", "migrate", "migrations", "__main__"}
STANDALONE = {"client"}
FACTORY = "heldout.platform.app"
# What the web tier (platform) may import of the runner, and why; everything else of the runner runs on workers.
WEB_RUNNER_SEAM = {
    "heldout.runner.queue": "the one enqueue point, and waiting for a check's answer",
    "heldout.runner.claims": "requeue, the one conditional UPDATE that sends a submission back to be scored",
    "heldout.runner.baseline_checks": "the baseline check's state on the challenge row, shown and required to publish",
    "heldout.runner.registry": "the worker registry's rule for a stale worker, which the admin page applies",
    "heldout.runner.failures": "the failure reasons /metrics counts, the same grouping as the workers' log lines",
    "heldout.runner.health": "/healthz of the embedded demo, whose web process is its own worker",
}
# Seam modules that may load more of the runner than the seam, and why.
SEAM_REACHES_FURTHER = {
    "heldout.runner.health": "it builds the sandbox to ask whether it answers, inside a function: only the "
                             "embedded demo's /healthz calls it",
}
SEAM_DATA = {"heldout.runner.outcome"}  # plain dataclasses the seam's functions take and return
# Modules that read configuration from the environment, and why.
ENVIRONMENT_READERS = {
    "heldout.config": "Heldout's settings, read in one place",
    "heldout.client.config": "the stand-alone API client's own settings (it imports nothing of Heldout)",
}
# Modules that pass the whole environment on to a subprocess ({**os.environ, ...} only), and why.
ENVIRONMENT_PASSED_ON = {
    "heldout.runner.sandbox.prepare": "apt-get runs with the caller's environment (PATH, proxies) plus "
                                      "DEBIAN_FRONTEND=noninteractive",
}
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb"}
# Web libraries that only the web tier (and the entry points) may import.
WEB_LIBRARIES = {"flask", "flask_login", "flask_wtf", "flask_limiter", "werkzeug", "jinja2", "gunicorn"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, name: str, modules: set[str]) -> list[tuple[int, str]]:
    """(line, imported name) for every import that runs, resolved to a module of ours where it is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    visit_one(orelse)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if full in modules else base))
        visit(node)

    visit(tree)
    return found


def owner(name: str, modules: set[str]) -> str | None:
    """The module of ours that ``name`` names (the longest prefix that is one), or None for a library."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def area(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def layering_problem(importer: str, imported: str) -> str | None:
    here, there = area(importer), area(imported)
    if imported == PACKAGE:  # the package itself: a docstring, imported for its path
        return None
    if here in ENTRY_POINTS or here == there:
        return None
    if here in STANDALONE:
        return f"{here} is stand-alone and imports nothing of heldout but itself"
    if there in STANDALONE or there in ENTRY_POINTS:
        return f"only entry points import {imported}"
    if here in FOUNDATION:
        return None if there in FOUNDATION else f"{here} is the foundation and imports no layer above it"
    if there in FOUNDATION:
        return None
    if here not in LAYERS or there not in LAYERS:
        return f"{here or there} has no place in the layering (add it to tools/check_imports.py)"
    if LAYERS[there] > LAYERS[here]:
        return f"{here} sits below {there} (challenges <- leaderboard <- runner <- platform)"
    return None


def seam_problem(importer: str, imported: str) -> str | None:
    """An import that would make the web tier load more of the runner than ``WEB_RUNNER_SEAM``."""
    if area(imported) != "runner":
        return None
    if area(importer) == "platform" and imported not in WEB_RUNNER_SEAM:
        return ("the web tier imports of the runner only " + ", ".join(sorted(WEB_RUNNER_SEAM))
                + " (add a module to WEB_RUNNER_SEAM in tools/check_imports.py with the reason)")
    if importer in WEB_RUNNER_SEAM and importer not in SEAM_REACHES_FURTHER \
            and imported not in WEB_RUNNER_SEAM.keys() | SEAM_DATA:
        return "the web tier imports this module, so it imports of the runner only the seam and runner.outcome"
    return None


def environment_uses(path: Path, name: str) -> list[tuple[int, str]]:
    """(line, problem) for each read of the environment outside ``ENVIRONMENT_READERS``."""
    if name in ENVIRONMENT_READERS:
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    passed_on: set[int] = set()  # ids of os.environ nodes unpacked into a dict display: {**os.environ, ...}
    if name in ENVIRONMENT_PASSED_ON:
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                passed_on.update(id(value) for key, value in zip(node.keys, node.values) if key is None)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES \
                and isinstance(node.value, ast.Name) and node.value.id == "os" and id(node) not in passed_on:
            found.append((node.lineno, f"reads os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found.extend((node.lineno, f"imports {alias.name} from os") for alias in node.names
                         if alias.name in ENVIRONMENT_NAMES)
    return [(line, f"{what}: configuration is read from the environment only in heldout/config.py (a "
                   "subprocess's environment: {**os.environ, ...} under ENVIRONMENT_PASSED_ON, with the reason)")
            for line, what in sorted(found)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or of one that imports itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def main() -> int:
    paths = sorted((ROOT / PACKAGE).rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    problems: list[str] = []
    for path in paths:
        name = module_name(path)
        where = path.relative_to(ROOT)
        problems.extend(f"{where}:{line}: {problem}" for line, problem in environment_uses(path, name))
        for line, imported in imports_of(path, name, modules):
            target = owner(imported, modules)
            if target is None:
                library = imported.split(".")[0]
                if library in WEB_LIBRARIES and area(name) not in ENTRY_POINTS | {"platform"}:
                    problems.append(f"{where}:{line}: imports {imported}: only the web tier imports {library}")
                continue
            if target == name:
                continue
            graph[name].add(target)
            problem = layering_problem(name, target)
            if problem:
                problems.append(f"{where}:{line}: imports {target}: {problem}")
            if target == FACTORY and area(name) not in ENTRY_POINTS and name != "heldout.platform":
                problems.append(f"{where}:{line}: imports the app factory: only the entry points do")
            problem = seam_problem(name, target)
            if problem:
                problems.append(f"{where}:{line}: imports {target}: {problem}")
    for component in cycles(graph):
        chain = " <-> ".join(component)
        problems.append(f"import cycle: {chain}")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_imports: {len(problems)} problem(s)")
        return 1
    edges = sum(len(targets) for targets in graph.values())
    print(f"check_imports: {len(modules)} modules, {edges} imports, no cycle, layering kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
