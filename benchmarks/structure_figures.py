"""Structure figures: where build/ paths are spelled out by hand, and import cycles among tlhelpers modules.

    python benchmarks/structure_figures.py [ROOT]

ROOT defaults to this checkout; for another commit, ``git archive <commit> | tar -x -C /tmp/old`` and pass that.
A build/ path is counted where a "build" string literal is joined into a path (or a build folder variable is
joined with a literal); tlhelpers/layout.py should be the one place that does so. Import cycles are strongly
connected groups in the graph of ``import``/``from`` statements between tlhelpers modules (in functions too).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

BUILD_PATH = re.compile(r"""(/\s*["']build["'])|(["']build["']\s*/)|(join\([^)]*["']build["'])|(Path\(\s*["']build)"""
                        r"""|(["']build/)|(\bbuild(_dir)?\s*/\s*["'])|(\bout\s*/\s*f?["'](course-|report))""")


def build_paths(root: Path) -> list[str]:
    """``file:line`` of every line of Python code that joins a build/ path by hand."""
    files = [*root.glob("tlhelpers/**/*.py"), *root.glob("tests/*.py"), *root.glob("benchmarks/*.py"),
             root / "nbgrader_config.py"]
    hits = []
    for path in sorted(f for f in files if f.name != Path(__file__).name):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if BUILD_PATH.search(code) and not code.strip().startswith(('"""', "'")):
                hits.append(f"{path.relative_to(root)}:{number}")
    return hits


def import_graph(root: Path) -> dict[str, set[str]]:
    """tlhelpers module -> the tlhelpers modules it imports."""
    modules = {}
    for path in root.glob("tlhelpers/**/*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name and not name.startswith(t + "."))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    hits = build_paths(root)
    print(f"build/ paths spelled out by hand: {len(hits)}")
    for hit in hits:
        print(f"    {hit}")
    print(f"import cycles among tlhelpers modules: {cycles(import_graph(root)) or 'none'}")


if __name__ == "__main__":
    main()
