"""The architecture, checked: imports run one way between packages; every library is declared."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import ROOT

# Top to bottom: a package may import its own modules and those of any layer below it; never
# one beside it or above it (README, "Layout").
LAYERS = [
    {"cli"},
    {"evaluation"},
    {"stage"},
    {"compose"},
    {"seeding", "groups"},
    {"engine"},
    {"reply"},
    {"prompts"},
    {"personas"},
    {"facts", "recall", "replies"},
    {"memory", "models"},
    {"embedding"},
    {"text"},
    {"records", "settings", "lazy"},
    {"errors"},
]
LEVEL = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
PACKAGE = ROOT / "personalab"


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth, lazy imports too), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def unit(module: str) -> str | None:
    """The package or top-level module of personalab a dotted name belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "personalab" and len(parts) > 1 else None


def engine_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"]


def test_every_package_of_the_engine_has_a_layer():
    """A new package or top-level module is placed in a layer before it lands."""
    units = {unit("personalab." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts))
             for p in engine_files()}  # fmt: skip
    assert units - {"__main__"} <= set(LEVEL), sorted(units - set(LEVEL))


def test_imports_run_down_the_layers_only():
    """No package imports one beside it or above it."""
    wrong = []
    for path in engine_files():
        own = unit("personalab." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if own == "__main__":
            continue
        for line, module in imports(path):
            other = unit(module)
            if other is None or other == own or other not in LEVEL:
                continue
            if LEVEL[other] <= LEVEL[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({own}) imports {module} ({other})")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_engine_never_imports_the_pages_or_streamlit():
    """personalab knows nothing of Streamlit or of app_pages."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in engine_files()
        for line, module in imports(path)
        if module.split(".")[0] in ("streamlit", "app_pages")
    ]
    assert not wrong, wrong


def declared(*files: str) -> set[str]:
    """The distributions named in requirements files, normalised (PEP 503)."""
    names = set()
    for name in files:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                names.add(re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ]", line)[0]).lower())
    return names


def third_party(paths: list[Path]) -> dict[str, str]:
    """The distributions the files import, each with one place that imports it."""
    distributions = packages_distributions()
    found = {}
    for path in paths:
        for line, module in imports(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in ("personalab", "app_pages", "tests"):
                continue
            for dist in distributions.get(top, [top]):
                found.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), f"{path.name}:{line}")
    return found


def test_every_library_the_app_imports_is_in_requirements_txt():
    """A library the app or the engine imports is declared, not left to arrive as another's
    dependency (the benchmarks may use the development requirements)."""
    product = [p for p in engine_files() if "evaluation" not in p.parts]
    product += [ROOT / "app.py", *(ROOT / "app_pages").rglob("*.py")]
    missing = {
        d: w for d, w in third_party(product).items() if d not in declared("requirements.txt")
    }
    assert not missing, missing
    bench = [p for p in engine_files() if "evaluation" in p.parts]
    everything = declared("requirements.txt", "requirements-dev.txt")
    missing = {d: w for d, w in third_party(bench).items() if d not in everything}
    assert not missing, missing
