"""The layering of lab/, read from the code itself (every `import` statement, via `ast`).

    lab.cluster      the twin (API server, controllers, node, Envoy config)  imports nothing above it
    lab.cluster.api  the Kubernetes API server                  only the store's package and lab.cluster.istio
    lab.ctl          the learner's tools (istioctl, lab shell)  the twin only over HTTP (the real kubectl too)
    lab.course    course model, player, checker, bundle        never the twin's processes or files
    lab.preview   the browser preview                          like lab.course
    lab.testing   drivers for tests and benchmarks             anything

Plus: no `import` inside a function (ruff's PLC0415 says the same; here it is tied to the layers), and
no module over MAX_LINES lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[1] / "lab"
MAX_LINES = 400

# What each layer may import from lab (a prefix match on the dotted name). lab.errors is shared, and so
# is lab.constants (the facts more than one layer needs: the sidecar's name, the .lab folder...).
ALLOWED: dict[str, tuple[str, ...]] = {
    "lab.cluster": ("lab.cluster", "lab.errors", "lab.constants"),
    # The API server knows kinds, not the twin: the store lives in its package, Istio's validation in
    # lab.cluster.istio; controllers and the node plug into it (admission, NodeHooks), never the reverse.
    "lab.cluster.api": ("lab.cluster.api", "lab.cluster.istio", "lab.errors", "lab.constants"),
    # The learner's tools reach the twin like a client reaches a cluster: over HTTP (the API server,
    # Envoy's admin), never by importing it.
    "lab.ctl": ("lab.ctl", "lab.errors", "lab.constants"),
    "lab.course": ("lab.course", "lab.errors", "lab.constants", "lab.ctl"),
    "lab.preview": ("lab.preview", "lab.course", "lab.errors", "lab.constants", "lab.ctl"),
    "lab.testing": ("lab",),
    "lab.cli": ("lab.errors", "lab.constants"),
    "lab.__main__": ("lab.cli",),
    "lab.errors": (),
    "lab.constants": (),
    "lab": (),
}

# Imports that break the layering today, each with the issue that removes it. Keep this list short
# and shrinking: an entry that no longer matches a real import fails too.
KNOWN: dict[tuple[str, str], str] = {}

# Modules over MAX_LINES today, with the issue that splits them.
KNOWN_LONG: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(LAB.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    raise AssertionError(f"{module}: no layer in ALLOWED (add the new package to tests/test_layers.py)")


def lab_imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of something in lab."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "lab"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = module.split(".")[: -node.level] if not module.endswith("__init__") else module.split(".")
                base = ".".join([*package, base] if base else package)
            if base.split(".")[0] == "lab":
                # `from lab.cluster import state` imports lab.cluster.state
                found += [(node.lineno, f"{base}.{a.name}" if base.count(".") < 2 else base) for a in node.names]
    return found


def is_allowed(importer: str, imported: str) -> bool:
    return any(imported == p or imported.startswith(p + ".") for p in ALLOWED[layer_of(importer)])


MODULES = sorted(LAB.rglob("*.py"))


def test_every_module_belongs_to_a_layer() -> None:
    for path in MODULES:
        layer_of(module_name(path))


def test_imports_follow_the_layers() -> None:
    broken, seen_known = [], set()
    for path in MODULES:
        module = module_name(path)
        for line, imported in lab_imports(ast.parse(path.read_text(encoding="utf-8")), module):
            if is_allowed(module, imported):
                continue
            key = next((k for k in KNOWN if k[0] == module and (imported == k[1] or imported.startswith(k[1] + "."))), None)
            if key:
                seen_known.add(key)
                continue
            broken.append(f"{path.relative_to(LAB.parent)}:{line}: {module} ({layer_of(module)}) imports {imported}")
    assert not broken, "imports across layers:\n" + "\n".join(broken)
    stale = sorted(set(KNOWN) - seen_known)
    assert not stale, f"KNOWN lists imports that no longer exist (remove them): {stale}"


def test_no_import_inside_a_function() -> None:
    """Imports at the top, where they show the coupling; the only exception is a `# noqa: PLC0415`
    that says why (a CLI deferring a heavy import, a forked child)."""
    hidden = []
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        source = lines[inner.lineno - 1]
                        justified = "noqa: PLC0415" in source or "noqa: PLC0415" in lines[inner.lineno - 2]
                        if not justified:
                            hidden.append(f"{path.relative_to(LAB.parent)}:{inner.lineno}: {source.strip()}")
    assert not hidden, "imports inside functions:\n" + "\n".join(hidden)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LAB.parent)))
def test_module_is_small(path: Path) -> None:
    module = module_name(path)
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if module in KNOWN_LONG:
        assert lines > MAX_LINES, f"{module} is {lines} lines now: remove it from KNOWN_LONG"
        return
    assert lines <= MAX_LINES, f"{path.relative_to(LAB.parent)} has {lines} lines (at most {MAX_LINES}): split it"


def test_the_checker_catches_a_layer_violation() -> None:
    """The rules themselves: a cluster module importing the player, ctl importing the twin, or the API
    server importing the twin's node or controllers, is caught."""
    assert not is_allowed("lab.cluster.pods", "lab.course.play")
    assert not is_allowed("lab.ctl.istioctl", "lab.cluster.procs")
    assert not is_allowed("lab.ctl.istioctl", "lab.cluster.state")
    assert not is_allowed("lab.course.check", "lab.cluster.supervisor")
    assert not is_allowed("lab.cluster.api.streams", "lab.cluster.node.kubelet")
    assert is_allowed("lab.cluster.api.admission", "lab.cluster.istio.validation")
    assert is_allowed("lab.cluster.node.kubelet", "lab.cluster.api.store")
    tree = ast.parse("from lab.cluster import procs\nimport lab.course.play\n")
    assert lab_imports(tree, "lab.ctl.istioctl") == [(1, "lab.cluster.procs"), (2, "lab.course.play")]
