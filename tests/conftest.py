"""Piezas comunes de la suite (pequeñas a propósito).

- Marca `lab`: pruebas que arrancan el laboratorio con Envoy real. Nunca dos a la vez (puerto
  30000 e IP fijas): ejecuta la suite con `flock /work/lab.lock pytest ...` si hay más gente.
- Marca `slow`: pruebas que lanzan programas de verdad (uvicorn, bash con imitaciones, cspell,
  shellcheck, hadolint, un navegador); se la ponen los módulos de SLOW_MODULES. `make unit` deja
  fuera `lab` y `slow`: lo que queda es Python puro y tarda segundos.
- `course_copy`: un curso desechable en tmp_path cuyo apps/ enlaza al del repositorio, con la
  opción de cambiar el IstioOperator o un manifiesto (su .lab/ queda también en tmp_path).
- `api`: un servidor de API sembrado, sin laboratorio ni Envoy (tests/api_seed.py), uno por módulo
  (test_api_registry.py usa uno por prueba).
- `lab`: un laboratorio en marcha para todo el módulo (LabDriver), sobre una copia del curso; el
  módulo cambia archivos de esa copia con `LAB_FILES = {ruta: texto}` (como course_copy).
- `replace_once(path, old, new)`: sustituye la primera aparición en un archivo y devuelve su línea.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_seed import ApiLab
from istio_cases import SUMMARY

from lab.testing.driver import LabDriver

ROOT = Path(__file__).resolve().parent.parent


# Modules whose tests run external programs (see `slow` above): one place, not a marker per file.
SLOW_MODULES = {
    "test_api_kubectl", "test_api_client", "test_apps", "test_apps_harness", "test_check", "test_course_diagrams", "test_course_tools",
    "test_play", "test_play_cluster", "test_preview", "test_setup", "test_setup_bundle",
    "test_sandbox_play", "test_setup_faults", "test_setup_shellcheck", "test_static_apps", "test_workflow",
    "test_guards_verify", "test_guards_setup", "test_guards_mutations", "test_preview_terminal",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY, []):  # la conformidad con Istio: commit y casos
        terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab: arranca el laboratorio local (Envoy real); de uno en uno")
    config.addinivalue_line("markers", "slow: lanza programas externos (uvicorn, bash, cspell, un navegador)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow` por módulo (SLOW_MODULES); `lab` también para toda prueba que usa el fixture `lab`,
    aunque su módulo olvide la marca: así `make unit` nunca arranca un laboratorio."""
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    def make(files: dict[str, str] | None = None) -> Path:
        """files: rutas relativas a la raíz del curso → contenido nuevo (se copian, no se enlazan)."""
        course = tmp_path_factory.mktemp("curso")
        (course / "apps").mkdir()
        overrides = {Path(p) for p in files or {}}
        for item in (ROOT / "apps").iterdir():
            rel = Path("apps") / item.name
            if any(rel in o.parents for o in overrides):
                shutil.copytree(item, course / rel)
            else:
                (course / rel).symlink_to(item)
        for name in ("tools", "index.json"):
            if (ROOT / name).exists():
                (course / name).symlink_to(ROOT / name)
        for rel, text in (files or {}).items():
            (course / rel).write_text(text, encoding="utf-8")
        return course

    return make


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiLab]:
    """A seeded API server without a lab (tests/api_seed.py), one per module."""
    server = ApiLab(tmp_path_factory.mktemp("api"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, course_copy: Callable[..., Path]) -> Iterator[LabDriver]:
    driver = LabDriver(course_copy(getattr(request.module, "LAB_FILES", None)))
    driver.up()
    try:
        yield driver
    finally:
        driver.down()


def replace_once(path: Path, old: str, new: str) -> int:
    """Sustituye la primera aparición de `old` en `path` y devuelve su línea (1-based)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} no está en {path}"
    number = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return number
