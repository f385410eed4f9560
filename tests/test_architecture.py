"""docs/architecture.md tells the truth: its layers are the import-linter contract's, it
names every module with its docstring's first line, and no module outgrows one concept."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "crewchief"
DOC = (ROOT / "docs" / "architecture.md").read_text()
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
MAX_MODULE_LINES = 450


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__main__.py"]


def test_the_layer_picture_is_the_contract() -> None:
    block = re.search(r"```layers\n(.*?)```", DOC, re.S)
    assert block is not None, "docs/architecture.md has no ```layers block"
    drawn = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    (layers,) = [c for c in CONTRACTS if c["type"] == "layers"]
    assert drawn == [" | ".join(p.strip() for p in layer.split("|")) for layer in layers["layers"]]


def test_every_forbidden_contract_is_explained() -> None:
    for contract in CONTRACTS:
        if contract["type"] == "forbidden":
            assert contract["name"] in DOC, contract["name"]


def test_every_module_is_listed_with_its_docstring() -> None:
    listed = dict(re.findall(r"^- `([\w/]+\.py)`: (.*)$", DOC, re.M))
    expected = {}
    for path in _modules():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        expected[str(path.relative_to(PACKAGE))] = " ".join(doc.split("\n\n")[0].split())
    assert listed == expected


def test_no_module_outgrows_one_concept() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in _modules()}
    assert {n: s for n, s in sizes.items() if s > MAX_MODULE_LINES} == {}
