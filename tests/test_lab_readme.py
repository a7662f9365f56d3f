"""lab/README.md names every module of lab/ (so its tables cannot fall behind the code).

A module counts as named when its path under lab/ (`course/session.py`), its file name
(`topology.py`) or, for a subpackage described as a whole, the path of its folder plus its file name
appears in backticks outside the code blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

LAB = Path(__file__).resolve().parents[1] / "lab"


def named_in_readme() -> set[str]:
    text = (LAB / "README.md").read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return set(re.findall(r"`([^`\s]+)`", prose))


def modules() -> list[Path]:
    return sorted(p for p in LAB.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def is_named(path: Path, names: set[str]) -> bool:
    rel = path.relative_to(LAB).as_posix()
    inside = rel.split("/", 1)[1] if "/" in rel else rel  # path below its layer folder
    return bool({rel, inside, path.name} & names)


def test_every_lab_module_is_in_the_readme() -> None:
    names = named_in_readme()
    missing = [p.relative_to(LAB).as_posix() for p in modules() if not is_named(p, names)]
    assert not missing, f"lab/README.md («Cómo está hecho») no nombra: {', '.join(missing)}"


def test_the_rule_catches_a_module_missing_from_the_readme() -> None:
    names = named_in_readme()
    assert not is_named(LAB / "cluster" / "nuevo_modulo.py", names)
    assert is_named(LAB / "cluster" / "topology.py", names)
