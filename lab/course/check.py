"""`lab check`: las comprobaciones estáticas del curso, cada fallo como «fichero:línea: mensaje».

Sin clúster ni laboratorio; en menos de un minuto. Cada comprobación es una función
`(Ctx) -> list[Problem]`; corren en paralelo (casi todo el tiempo es de herramientas externas).

| nombre      | qué mira                                                                   | herramienta |
|-------------|----------------------------------------------------------------------------|-------------|
| index       | index.json: claves conocidas de Killercoda, backend.imageid, ficheros que   | —           |
|             | nombra (text/verify/background/foreground desde la raíz; assets en assets/) |             |
| markdown    | sintaxis {{exec}}/{{copy}} (sin espacio, sin {{execute}} de Katacoda, sin   | lab.course.model  |
|             | acciones desconocidas), imágenes y enlaces relativos que existen           |             |
| foreground  | los scripts foreground no acaban en líneas en blanco (Killercoda las teclea)| —           |
| shellcheck  | cada *.sh del curso y los scripts de index.json; todos los bloques {{exec}} | shellcheck  |
|             | del curso, juntos y en orden (una sola terminal), como bash               |             |
| hadolint    | apps/Dockerfile (y apps/**/Dockerfile*)                                    | hadolint    |
| manifests   | apps/k8s/*.yaml contra el esquema de Kubernetes, en modo estricto          | kubernetes-validate |
| bundle      | assets/curso.tar.gz al día con apps/ y tools/ (lab.course.bundle.bundle_is_current)| lab.course.bundle |
| spelling    | ortografía de la prosa (español de España + términos técnicos en inglés +  | cspell      |
|             | .cspell/glosario.txt); sin código, URLs ni front matter. También el texto  |             |
|             | que muestran los scripts de index.json y de tools/ (ver script_prose)      |             |

Exclusiones de shellcheck en los bloques {{exec}} (y solo en ellos), porque son órdenes que un
alumno teclea en una terminal interactiva y no un script:
- SC2164 («cd sin || exit»): en una terminal, un cd fallido se ve y no hay nada que abortar.
- SC2034 («variable sin usar»): el alumno define variables para usarlas a mano después.
- SC2154 («variable sin asignar»): la terminal de Killercoda trae variables propias (p. ej. las
  que exporta foreground.sh), que shellcheck no puede ver.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from lab.course.model import Block, CourseError, json_line, markdown_blocks, marker_problems, prose_lines

TOOLS_ROOT = Path(__file__).resolve().parents[2]  # donde viven node_modules/ y la configuración de cspell
IGNORED_DIRS = {".git", ".venv", "node_modules", ".lab", "__pycache__", ".pytest_cache", "artifacts"}
BLOCK_SHELLCHECK_EXCLUDES = ("SC2164", "SC2034", "SC2154")
TOOL_TIMEOUT = 60  # segundos por herramienta externa

# Killercoda: claves conocidas (reference/killercoda.md §1) y claves de Katacoda que no deben usarse.
KEYS_TOP = {"title", "description", "details", "backend", "interface"}
KEYS_DETAILS = {"intro", "steps", "finish", "assets"}
KEYS_INTRO = {"text", "background", "foreground", "title"}
KEYS_STEP = {"title", "text", "verify", "background", "foreground"}
KEYS_FINISH = {"text", "background", "foreground", "title"}
KEYS_ASSET = {"file", "target", "chmod"}
KATACODA_KEYS = {
    "courseData": "usa «background»",
    "code": "usa «foreground»",
    "credits": "no es del formato de Killercoda",
    "difficulty": "no es del formato de Killercoda",
    "time": "no es del formato de Killercoda",
    "environment": "usa «interface»",
}
IMAGE_IDS = {
    "ubuntu",
    "ubuntu-4GB",
    "kubernetes-kubeadm-1node",
    "kubernetes-kubeadm-1node-4GB",
    "kubernetes-kubeadm-2nodes",
}
CHMODS = {"+x", "+w", "+r", "+rx", "+rw", "+rwx"}


@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    message: str

    def show(self, base: Path | None = None) -> str:
        base = base or Path.cwd()
        try:
            shown = self.file.resolve().relative_to(base.resolve())
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}: {self.message}"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Ctx:
    root: Path
    index: dict[str, Any] | None  # None si index.json no se pudo leer
    index_raw: str
    markdown: list[Path]  # los Markdown de las páginas que existen, en orden
    scripts: list[Path]  # background/foreground/verify de index.json que existen

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"


# --------------------------------------------------------------------------- contexto


def _pages(index: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    details = index.get("details")
    if not isinstance(details, dict):
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(details.get("intro"), dict):
        out.append(("details.intro", details["intro"]))
    steps = details.get("steps")
    if isinstance(steps, list):
        out += [(f"details.steps[{i}]", s) for i, s in enumerate(steps) if isinstance(s, dict)]
    if isinstance(details.get("finish"), dict):
        out.append(("details.finish", details["finish"]))
    return out


def make_ctx(root: Path) -> Ctx:
    root = Path(root).resolve()
    raw, index = "", None
    try:
        raw = (root / "index.json").read_text(encoding="utf-8")
        loaded = json.loads(raw)
        index = loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        pass
    markdown: list[Path] = []
    scripts: list[Path] = []
    for _, page in _pages(index or {}):
        text = page.get("text")
        if isinstance(text, str) and (root / text).is_file():
            markdown.append(root / text)
        for key in ("background", "foreground", "verify"):
            value = page.get(key)
            if isinstance(value, str) and (root / value).is_file() and root / value not in scripts:
                scripts.append(root / value)
    return Ctx(root, index, raw, markdown, scripts)


def _walk(root: Path, pattern: str) -> list[Path]:
    found = []
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and not IGNORED_DIRS.intersection(path.relative_to(root).parts):
            found.append(path)
    return found


def _tool(name: str) -> str | None:
    """Un ejecutable del venv del intérprete actual (donde pyproject los instala) o del PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def _run(cmd: list[str], cwd: Path, timeout: int = TOOL_TIMEOUT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)


# --------------------------------------------------------------------------- index.json


def check_index(ctx: Ctx) -> list[Problem]:
    path, raw, root = ctx.index_path, ctx.index_raw, ctx.root
    if not path.is_file():
        return [Problem(path, 1, "no existe index.json")]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return [Problem(path, exc.lineno, f"JSON no válido: {exc.msg} (columna {exc.colno})")]
    if not isinstance(data, dict):
        return [Problem(path, 1, "index.json debe ser un objeto JSON")]
    out: list[Problem] = []

    def line(value: str, key: str | None = None) -> int:
        return json_line(raw, value, key)

    def keys(obj: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in obj:
            if key in KATACODA_KEYS and key not in allowed:
                out.append(Problem(path, line(key), f"{where}.{key} es una clave de Katacoda: {KATACODA_KEYS[key]}"))
            elif key not in allowed:
                known = ", ".join(sorted(allowed))
                out.append(Problem(path, line(key), f"{where}: clave desconocida «{key}» (Killercoda conoce: {known})"))

    def string(obj: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                name = key if where == "index.json" else f"{where}.{key}"
                out.append(Problem(path, line(where.rsplit(".", 1)[-1].split("[")[0]), f"falta «{name}»"))
            return None
        if not isinstance(value, str) or not value.strip():
            out.append(Problem(path, line(key), f"{where}.{key} debe ser un texto no vacío"))
            return None
        return value

    def file_at_root(obj: dict[str, Any], key: str, where: str, required: bool = False) -> None:
        value = string(obj, key, where, required)
        if value is None:
            return
        target = root / value
        if value.startswith("/") or ".." in Path(value).parts:
            out.append(Problem(path, line(value, key), f"{where}.{key}: «{value}» debe ser relativa a la raíz del escenario"))
        elif not target.is_file():
            out.append(Problem(path, line(value, key), f"{where}.{key}: no existe el fichero «{value}»"))

    keys(data, KEYS_TOP, "index.json")
    string(data, "title", "index.json", required=True)
    string(data, "description", "index.json")

    backend = data.get("backend")
    if not isinstance(backend, dict):
        out.append(Problem(path, line("backend") if '"backend"' in raw else 1, "falta «backend.imageid» (obligatorio)"))
    else:
        keys(backend, {"imageid"}, "backend")
        imageid = backend.get("imageid")
        if not isinstance(imageid, str) or not imageid:
            out.append(Problem(path, line("backend"), "falta «backend.imageid» (obligatorio)"))
        elif imageid.removesuffix("-rapid") not in IMAGE_IDS:
            known = ", ".join(sorted(IMAGE_IDS))
            out.append(
                Problem(
                    path,
                    line(imageid, "imageid"),
                    f"backend.imageid «{imageid}» no es una imagen de Killercoda ({known}, o su variante -rapid)",
                )
            )

    interface = data.get("interface")
    if interface is not None:
        if not isinstance(interface, dict):
            out.append(Problem(path, line("interface"), "«interface» debe ser un objeto"))
        else:
            keys(interface, {"layout"}, "interface")

    details = data.get("details")
    if details is None:
        return out
    if not isinstance(details, dict):
        return out + [Problem(path, line("details"), "«details» debe ser un objeto")]
    keys(details, KEYS_DETAILS, "details")
    for name, allowed in (("intro", KEYS_INTRO), ("finish", KEYS_FINISH)):
        page = details.get(name)
        if page is None:
            continue
        if not isinstance(page, dict):
            out.append(Problem(path, line(name), f"details.{name} debe ser un objeto"))
            continue
        keys(page, allowed, f"details.{name}")
        string(page, "title", f"details.{name}")
        file_at_root(page, "text", f"details.{name}", required=True)
        for key in ("background", "foreground"):
            file_at_root(page, key, f"details.{name}")
    steps = details.get("steps")
    if steps is not None and (not isinstance(steps, list) or not steps):
        out.append(Problem(path, line("steps"), "details.steps debe ser una lista con al menos un paso"))
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        where = f"details.steps[{i}]"
        if not isinstance(step, dict):
            out.append(Problem(path, line("steps"), f"{where} debe ser un objeto"))
            continue
        keys(step, KEYS_STEP, where)
        string(step, "title", where, required=True)
        file_at_root(step, "text", where, required=True)
        for key in ("verify", "background", "foreground"):
            file_at_root(step, key, where)

    assets = details.get("assets")
    if assets is not None:
        out += _check_assets(ctx, assets)
    return out


def _check_assets(ctx: Ctx, assets: Any) -> list[Problem]:
    path, raw = ctx.index_path, ctx.index_raw
    out: list[Problem] = []
    if not isinstance(assets, dict):
        return [Problem(path, json_line(raw, "assets"), 'details.assets debe ser un objeto {"host01": [...]}')]
    for host, entries in assets.items():
        if not re.fullmatch(r"host0[12]", host):
            out.append(Problem(path, json_line(raw, host), f"details.assets: host desconocido «{host}» (usa host01)"))
            continue
        if not isinstance(entries, list):
            out.append(Problem(path, json_line(raw, host), f"details.assets.{host} debe ser una lista"))
            continue
        for i, entry in enumerate(entries):
            where = f"details.assets.{host}[{i}]"
            if not isinstance(entry, dict):
                out.append(Problem(path, json_line(raw, host), f"{where} debe ser un objeto"))
                continue
            for key in entry:
                if key not in KEYS_ASSET:
                    out.append(Problem(path, json_line(raw, key), f"{where}: clave desconocida «{key}» (file, target, chmod)"))
            file, target, chmod = entry.get("file"), entry.get("target"), entry.get("chmod")
            if not isinstance(file, str) or not file:
                out.append(Problem(path, json_line(raw, host), f"falta {where}.file"))
            else:
                at = json_line(raw, file, "file")
                assets_dir = ctx.root / "assets"
                if any(c in file for c in "*?["):
                    if not any(p.is_file() for p in assets_dir.glob(file)):
                        out.append(Problem(path, at, f"{where}.file: «{file}» no coincide con ningún fichero de assets/"))
                elif not (assets_dir / file).is_file():
                    hint = " (las rutas de assets son relativas a assets/)" if (ctx.root / file).is_file() else ""
                    out.append(Problem(path, at, f"{where}.file: no existe «assets/{file}»{hint}"))
            if not isinstance(target, str) or not target:
                out.append(
                    Problem(path, json_line(raw, file if isinstance(file, str) else host), f"falta {where}.target (un directorio de la VM)")
                )
            if chmod is not None and chmod not in CHMODS:
                out.append(
                    Problem(path, json_line(raw, str(chmod), "chmod"), f"{where}.chmod «{chmod}» no válido ({', '.join(sorted(CHMODS))})")
                )
    return out


# --------------------------------------------------------------------------- Markdown

_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_MD_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\(\s*(?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_HTML_REF = re.compile(r"<(?P<tag>img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*[\"'](?P<target>[^\"']+)[\"']", re.I)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def relative_dir(md: Path, root: Path) -> str:
    return str(md.parent.relative_to(root)) if md.parent != root else "."


def check_markdown(ctx: Ctx) -> list[Problem]:
    out: list[Problem] = []
    for md in ctx.markdown:
        out += [Problem(e.file, e.line, e.message) for e in marker_problems(md)]
        for number, text in prose_lines(md):
            text = _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
            refs = [(m["bang"] == "!", m["target"].strip("<>")) for m in _MD_LINK.finditer(text)]
            refs += [(m["tag"].lower() in {"img", "source"}, m["target"]) for m in _HTML_REF.finditer(text)]
            for is_image, target in refs:
                kind = "imagen" if is_image else "enlace"
                if "{{" in target or target.startswith("#") or _SCHEME.match(target) or target.startswith("//"):
                    if is_image and target.startswith(("http:", "https:", "//")):
                        out.append(
                            Problem(
                                md,
                                number,
                                f"imagen remota «{target}»: guarda la imagen junto al Markdown"
                                " (Killercoda no siempre llega a otros sitios)",
                            )
                        )
                    continue
                local = target.split("#", 1)[0].split("?", 1)[0]
                if not local:
                    continue
                if local.startswith("/"):
                    out.append(Problem(md, number, f"{kind} «{target}» con ruta absoluta: usa una ruta relativa al Markdown"))
                    continue
                if not (md.parent / local).exists():
                    out.append(
                        Problem(
                            md,
                            number,
                            f"{kind} {'rota' if is_image else 'roto'}: no existe «{local}» (relativo a {relative_dir(md, ctx.root)}/)",
                        )
                    )
    return out


# --------------------------------------------------------------------------- foreground


def check_foreground(ctx: Ctx) -> list[Problem]:
    out: list[Problem] = []
    for _, page in _pages(ctx.index or {}):
        value = page.get("foreground")
        if not isinstance(value, str) or not (ctx.root / value).is_file():
            continue
        path = ctx.root / value
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # el salto de línea que cierra la última línea no es una línea en blanco
        blank = len(lines)
        while blank > 0 and not lines[blank - 1].strip():
            blank -= 1
        if blank < len(lines):
            out.append(
                Problem(
                    path,
                    blank + 1,
                    f"el script foreground acaba en {len(lines) - blank} línea(s) en blanco:"
                    " Killercoda las teclea en la terminal del alumno",
                )
            )
        if "\r" in text:
            out.append(Problem(path, 1, "el script foreground tiene finales de línea CRLF"))
    return out


# --------------------------------------------------------------------------- shellcheck


def _shell_scripts(ctx: Ctx) -> list[Path]:
    scripts = list(ctx.scripts)
    for path in _walk(ctx.root, "*.sh"):
        if path not in scripts:
            scripts.append(path)
    return scripts


def course_exec_blocks(ctx: Ctx) -> list[Block]:
    blocks: list[Block] = []
    for md in ctx.markdown:
        try:
            blocks += [b for b in markdown_blocks(md) if b.runs]
        except CourseError:
            continue  # la sintaxis rota la informa check_markdown
    return blocks


def _shellcheck_json(binary: str, files: list[Path], cwd: Path, extra: list[str]) -> list[dict[str, Any]]:
    proc = _run([binary, "-f", "json1", "-x", *extra, *map(str, files)], cwd)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        if proc.returncode == 0:
            return []
        raise RuntimeError(proc.stderr.strip() or f"shellcheck salió con {proc.returncode}")
    comments: list[dict[str, Any]] = json.loads(proc.stdout)["comments"]
    return comments


def check_shellcheck(ctx: Ctx) -> list[Problem]:
    binary = _tool("shellcheck")
    if binary is None:
        return [
            Problem(ctx.root / "pyproject.toml", 1, "falta shellcheck: instala las dependencias de desarrollo (pip install -e '.[dev]')")
        ]
    out: list[Problem] = []
    scripts = _shell_scripts(ctx)
    if scripts:
        try:
            for c in _shellcheck_json(binary, scripts, ctx.root, []):
                out.append(
                    Problem(
                        Path(c["file"]) if Path(c["file"]).is_absolute() else ctx.root / c["file"],
                        c["line"],
                        f"shellcheck SC{c['code']} ({c['level']}): {c['message']}",
                    )
                )
        except RuntimeError as exc:
            out.append(Problem(scripts[0], 1, f"shellcheck no pudo analizar los scripts: {exc}"))
    blocks = course_exec_blocks(ctx)
    if not blocks:
        return out
    # Todos los bloques en un solo script, en el orden del curso: son una misma terminal.
    text_lines = ["#!/bin/bash"]
    where: dict[int, tuple[Block, int]] = {}
    for block in blocks:
        text_lines.append(f"# {block.file.name}:{block.line}")
        for offset, code_line in enumerate(block.code.split("\n")):
            text_lines.append(code_line)
            where[len(text_lines)] = (block, offset)
    with tempfile.TemporaryDirectory(prefix="lab-check-") as tmp:
        combined = Path(tmp) / "bloques-exec.sh"
        combined.write_text("\n".join(text_lines) + "\n", encoding="utf-8")
        try:
            comments = _shellcheck_json(binary, [combined], ctx.root, ["-s", "bash", "-e", ",".join(BLOCK_SHELLCHECK_EXCLUDES)])
        except RuntimeError as exc:
            return out + [Problem(blocks[0].file, blocks[0].line, f"shellcheck no pudo analizar los bloques {{{{exec}}}}: {exc}")]
    for c in comments:
        if c["line"] not in where:
            continue
        block, offset = where[c["line"]]
        out.append(
            Problem(
                block.file,
                block.line + offset,
                f"shellcheck SC{c['code']} ({c['level']}) en un bloque {{{{{block.action}}}}}: {c['message']}",
            )
        )
    return out


# --------------------------------------------------------------------------- hadolint


def check_hadolint(ctx: Ctx) -> list[Problem]:
    dockerfiles = [p for p in _walk(ctx.root / "apps", "Dockerfile*")] if (ctx.root / "apps").is_dir() else []
    if not (ctx.root / "apps" / "Dockerfile").is_file():
        return [Problem(ctx.root / "apps" / "Dockerfile", 1, "no existe apps/Dockerfile (el Dockerfile común de los servicios)")]
    binary = _tool("hadolint")
    if binary is None:
        return [Problem(ctx.root / "pyproject.toml", 1, "falta hadolint: instala las dependencias de desarrollo (pip install -e '.[dev]')")]
    proc = _run([binary, "--no-color", "-f", "json", *map(str, dockerfiles)], ctx.root)
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [Problem(dockerfiles[0], 1, f"hadolint falló: {(proc.stderr or proc.stdout).strip()[:300]}")]
    out = []
    for f in findings:
        file = Path(f["file"])
        out.append(
            Problem(
                file if file.is_absolute() else ctx.root / file,
                int(f.get("line") or 1),
                f"hadolint {f['code']} ({f['level']}): {f['message']}",
            )
        )
    return out


# --------------------------------------------------------------------------- manifiestos


def _yaml_line(node: Any, path: Iterable[Any], unexpected: str | None = None) -> int:
    """Línea (1-based) del nodo YAML en `path` (claves e índices); la de la clave inesperada si se da."""
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    if unexpected and isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == unexpected:
                return int(key.start_mark.line) + 1
    return line


def check_manifests(ctx: Ctx) -> list[Problem]:
    files = sorted((ctx.root / "apps" / "k8s").glob("*.yaml")) + sorted((ctx.root / "apps" / "k8s").glob("*.yml"))
    if not files:
        return [Problem(ctx.root / "apps" / "k8s", 1, "no hay manifiestos en apps/k8s/*.yaml")]
    version = kubernetes_validate.latest_version()
    out: list[Problem] = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        try:
            nodes = list(yaml.compose_all(text))
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            out.append(Problem(file, mark.line + 1 if mark else 1, f"YAML no válido: {exc}"))
            continue
        for node, doc in zip(nodes, docs, strict=False):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                out.append(Problem(file, node.start_mark.line + 1, "documento sin apiVersion/kind"))
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                m = re.search(r"\('([^']+)' was unexpected\)|\('([^']+)', .* were unexpected\)", exc.message)
                unexpected = (m.group(1) or m.group(2)) if m else None
                where = ".".join(str(p) for p in exc.path) or "(raíz)"
                line = _yaml_line(node, exc.path, unexpected)
                msg = exc.message.replace("Additional properties are not allowed", "campos no permitidos")
                out.append(
                    Problem(
                        file,
                        line,
                        f"{doc['kind']}/{doc.get('metadata', {}).get('name', '?')} no valida contra Kubernetes {version}"
                        f" (estricto) en {where}: {msg}",
                    )
                )
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
                out.append(Problem(file, node.start_mark.line + 1, f"sin esquema para {doc['apiVersion']}/{doc['kind']}: {exc}"))
    return out


# --------------------------------------------------------------------------- paquete


def check_bundle(ctx: Ctx) -> list[Problem]:
    shipped = ctx.root / "assets" / "curso.tar.gz"
    try:
        bundle = importlib.import_module("lab.course.bundle")
        is_current: Callable[[Path], Any] = bundle.bundle_is_current
    except (ImportError, AttributeError) as exc:
        return [
            Problem(
                TOOLS_ROOT / "lab" / "bundle.py", 1, f"no se puede comprobar el paquete: falta lab.course.bundle.bundle_is_current ({exc})"
            )
        ]
    try:
        result = is_current(ctx.root)
    except Exception as exc:  # noqa: BLE001 - cualquier fallo del comprobador es un problema que mostrar
        return [Problem(shipped, 1, f"no se pudo comprobar el paquete: {type(exc).__name__}: {exc}")]
    if isinstance(result, (list, tuple, set)) and not (result and isinstance(next(iter(result)), bool)):
        # La API de lab.course.bundle: una lista de problemas, cada uno «ruta: mensaje» (vacía: al día).
        out = []
        for item in result:
            m = re.match(r"^(?P<file>[\w./-]+?)(?::(?P<line>\d+))?: (?P<msg>.*)$", str(item), re.S)
            if m and (ctx.root / m["file"]).exists() or (m and m["file"] == "assets/curso.tar.gz"):
                out.append(Problem(ctx.root / m["file"], int(m["line"] or 1), f"paquete: {m['msg']}"))
            else:
                out.append(Problem(shipped, 1, f"paquete: {item}"))
        return out
    if isinstance(result, tuple):
        ok, detail = bool(result[0]), "; ".join(map(str, result[1:]))
    elif isinstance(result, str):
        ok, detail = not result, result
    else:
        ok, detail = bool(result), ""
    if ok:
        return []
    why = f" ({detail})" if detail else ""
    what = "no existe" if not shipped.exists() else "no está al día con apps/ y tools/"
    return [Problem(shipped, 1, f"assets/curso.tar.gz {what}{why}: ejecuta `make bundle`")]


# --------------------------------------------------------------------------- ortografía

_CSPELL_LINE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) - Unknown word \((?P<word>[^)]+)\)(?: Suggestions: \[(?P<sugg>[^\]]*)\])?"
)


_INDEX_PROSE = re.compile(r'"(?:title|description)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _cspell_binary(root: Path) -> Path | None:
    for base in (root, TOOLS_ROOT):
        candidate = base / "node_modules" / ".bin" / "cspell"
        if candidate.exists():
            return candidate
    return None


def check_spelling(ctx: Ctx) -> list[Problem]:
    scripts = _learner_scripts(ctx)
    typed = _foreground_scripts(ctx)
    if not ctx.markdown and not scripts:
        return []
    binary = _cspell_binary(ctx.root)
    config = TOOLS_ROOT / "cspell.json"
    if binary is None or not config.is_file():
        return [Problem(TOOLS_ROOT / "package.json", 1, "falta cspell: ejecuta `npm ci` en la raíz del repositorio")]
    with tempfile.TemporaryDirectory(prefix="lab-cspell-") as tmp:
        # La configuración del repositorio y, si el curso comprobado trae el suyo, su glosario.
        wrapper: dict[str, Any] = {"version": "0.2", "import": [str(config)]}
        glossary = ctx.root / ".cspell" / "glosario.txt"
        if glossary.is_file() and glossary.resolve() != (TOOLS_ROOT / ".cspell" / "glosario.txt").resolve():
            wrapper["dictionaryDefinitions"] = [{"name": "glosario-curso", "path": str(glossary)}]
            wrapper["dictionaries"] = ["glosario-curso"]
        (Path(tmp) / "cspell.json").write_text(json.dumps(wrapper), encoding="utf-8")
        # Los títulos y la descripción de index.json también son prosa: una copia línea a línea
        # con solo esos textos (así la línea que informa cspell es la de index.json).
        index_prose = Path(tmp) / "index-prosa.txt"
        index_prose.write_text(
            "\n".join(" ".join(json.loads(f'"{v}"') for v in _INDEX_PROSE.findall(ln)) for ln in ctx.index_raw.splitlines()) + "\n",
            encoding="utf-8",
        )
        # Los scripts, igual: su texto en una copia en sombra con las mismas líneas.
        shadows: dict[str, Path] = {}
        for k, script in enumerate(scripts):
            shadow = Path(tmp) / f"guion-{k}.txt"
            shadow.write_text("\n".join(script_prose(script, script in typed)) + "\n", encoding="utf-8")
            shadows[shadow.name] = script
        cmd = [
            str(binary),
            "lint",
            "--no-progress",
            "--no-summary",
            "--no-color",
            "--show-suggestions",
            "--no-config-search",
            "--no-cache",
            "--no-must-find-files",
            "--config",
            str(Path(tmp) / "cspell.json"),
            "--root",
            str(ctx.root),
            *[str(p.relative_to(ctx.root)) for p in ctx.markdown],
            *([f"file://{index_prose}"] if ctx.index_raw else []),
            *[f"file://{Path(tmp) / name}" for name in shadows],
        ]
        proc = _run(cmd, ctx.root, timeout=TOOL_TIMEOUT)
    out: list[Problem] = []
    for raw in proc.stdout.splitlines():
        m = _CSPELL_LINE.match(raw.strip())
        if not m:
            continue
        suggestions = [s.strip() for s in (m["sugg"] or "").split(",") if s.strip()]
        hint = f" (¿«{suggestions[0]}»?)" if suggestions else ""
        name = Path(m["file"]).name
        if name == "index-prosa.txt":
            file = ctx.index_path
        elif name in shadows and Path(m["file"]).parent.name.startswith("lab-cspell-"):
            file = shadows[name]
        else:
            file = ctx.root / m["file"]
        out.append(
            Problem(
                file,
                int(m["line"]),
                f"ortografía: «{m['word']}» no está en el diccionario{hint}; si es un término técnico, añádelo a .cspell/glosario.txt",
            )
        )
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not out):
        out.append(
            Problem((ctx.markdown or scripts)[0], 1, f"cspell falló ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[:400]}")
        )
    return out


# --------------------------------------------------------------------------- ortografía de los scripts
#
# Los scripts de index.json (background/foreground/verify) y los de tools/ (traza) le muestran
# español a quien aprende fuera del Markdown: el progreso y los fallos de setup.sh, lo que escribe
# foreground.sh, los «Todavía no: …» de los verify.sh, el uso y las salidas de traza. cspell no
# sabe separar ese texto del código, así que se extrae: una copia «en sombra» de cada script con el
# mismo número de líneas, cada una con solo el texto de esa línea del original (así la línea que
# informa cspell es la del script). Qué es texto:
#   shell   cadenas entre comillas dobles (sin $VAR, ${…} ni $(…)) y las cadenas entre comillas
#           simples que son el argumento de echo/printf; el resto de comillas simples (programas
#           de awk y sed, jsonpath) es código. Los comentarios, solo en los scripts foreground
#           (Killercoda los teclea en la terminal: se ven); en los demás no los ve nadie y nombran
#           código sin tilde (la etapa «imagenes» de setup.sh).
#   Python  las cadenas (docstrings incluidos; de las f-strings, sin sus {expresiones}); no los
#           comentarios.
# De ese texto se quitan además las palabras con pinta de código: opciones (-x, --algo), rutas,
# asignaciones (K=V), nombres_con_guion_bajo, nombres.con.punto, host:puerto, formatos (%s) y
# escapes (\n), y las alternativas de uso ([todo|imagenes]).

_SHELL_PRINT = re.compile(r"(?:^|[;&|({\s])(?:echo|printf)(?:\s+-[a-zA-Z]+)*\s+$")
_CODE_WORD = re.compile(r"[/=_@\\\[\]{}<>|$%^*~#`]|\w[.:]\w|^-")
_WORD_EDGES = "«»\"'()¿?¡!,.;:…"


def _prose_only(text: str) -> str:
    """Quita del texto extraído las palabras con pinta de código (ver arriba)."""
    text = re.sub(r"\[[^\]\n]*\|[^\]\n]*\]", " ", text)  # [todo|imagenes]
    words = []
    for word in re.split(r"(\s+)", text):
        core = word.strip(_WORD_EDGES)
        words.append(" " * len(word) if core and _CODE_WORD.search(core) else word)
    return "".join(words)


def _shell_text(source: str, comments: bool) -> list[str]:
    """El texto de cada línea de un script de shell (ver arriba): un mini-analizador léxico que
    sigue las comillas, $(…) y ${…} anidados a través de las líneas."""
    lines: list[list[str]] = [[] for _ in source.splitlines() or [""]]
    row, i, n = 0, 0, len(source)
    stack: list[list[Any]] = [["code", 0]]  # contextos: ["code", paréntesis abiertos] | ["dq"]

    def emit(s: str) -> None:
        if row < len(lines):
            lines[row].append(s)

    if source.startswith("#!"):
        i = source.find("\n") if "\n" in source else n
    while i < n:
        c = source[i]
        top = stack[-1]
        if c == "\n":
            row += 1
            i += 1
            continue
        if top[0] == "dq":
            if c == "\\" and i + 1 < n:
                if source[i + 1] != "\n":
                    emit(source[i + 1] if source[i + 1] in '"$`\\' else source[i : i + 2])
                else:
                    row += 1
                i += 2
            elif c == '"':
                stack.pop()
                emit(" ")
                i += 1
            elif source.startswith("$(", i):
                stack.append(["code", 0])
                emit(" ")
                i += 2
            elif source.startswith("${", i):
                close = source.find("}", i)
                close = n if close < 0 else close
                row += source.count("\n", i, close)
                emit(" ")
                i = close + 1
            elif c == "$" and i + 1 < n and (source[i + 1].isalnum() or source[i + 1] in "_#?@*!$-"):
                m = re.compile(r"\$(?:[A-Za-z_]\w*|.)").match(source, i)
                assert m
                emit(" ")
                i = m.end()
            else:
                emit(c)
                i += 1
            continue
        # código
        at_word_start = i == 0 or source[i - 1] in " \t\n;&|()"
        if c == "#" and at_word_start:
            end = source.find("\n", i)
            end = n if end < 0 else end
            if comments:
                emit(source[i + 1 : end])
            i = end
        elif c == "\\" and i + 1 < n:
            if source[i + 1] == "\n":
                row += 1
            i += 2
        elif c == "'" or source.startswith("$'", i):
            start = i + (2 if c == "$" else 1)
            end = source.find("'", start)
            end = n if end < 0 else end
            line_start = source.rfind("\n", 0, i) + 1
            printed = bool(_SHELL_PRINT.search(source[line_start:i]))
            for k, part in enumerate(source[start:end].split("\n")):
                if k:
                    row += 1
                if printed:
                    emit(part)
            i = end + 1
        elif c == '"':
            stack.append(["dq"])
            i += 1
        elif source.startswith("$(", i):
            stack.append(["code", 0])
            i += 2
        elif source.startswith("${", i):
            close = source.find("}", i)
            close = n if close < 0 else close
            row += source.count("\n", i, close)
            i = close + 1
        elif c == "(":
            top[1] += 1
            i += 1
        elif c == ")":
            if top[1]:
                top[1] -= 1
            elif len(stack) > 1:
                stack.pop()
            i += 1
        else:
            i += 1
    return [_prose_only("".join(parts)) for parts in lines]


def _python_text(source: str) -> list[str]:
    """El texto de cada línea de un programa de Python: sus cadenas (ver arriba)."""
    lines: list[list[str]] = [[] for _ in source.splitlines() or [""]]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return [""] * len(lines)
    for tok in tokens:
        if tok.type == tokenize.STRING:
            m = re.match(r"(?is)([rbuf]*)('''|\"\"\"|'|\")(.*)\2$", tok.string)
            if not m:
                continue
            body = m.group(3)
            if "f" in m.group(1).lower():
                body = re.sub(r"\{\{|\}\}|\{[^{}]*\}", " ", body)
            for k, part in enumerate(body.split("\n")):
                row = tok.start[0] - 1 + k
                if row < len(lines):
                    lines[row].append(" " + part)
    return [_prose_only("".join(parts)) for parts in lines]


def _is_python(path: Path) -> bool:
    if path.suffix == ".py":
        return True
    try:
        with path.open("rb") as fh:
            return b"python" in fh.readline(200)
    except OSError:
        return False


def _learner_scripts(ctx: Ctx) -> list[Path]:
    """Los scripts cuyo texto ve quien aprende: los de index.json y los de tools/ (traza)."""
    scripts = list(ctx.scripts)
    tools = ctx.root / "tools"
    if tools.is_dir():
        for path in sorted(tools.iterdir()):
            if path.is_file() and path not in scripts and path.read_bytes()[:2] == b"#!":
                scripts.append(path)
    return scripts


def _foreground_scripts(ctx: Ctx) -> set[Path]:
    found = set()
    for _, page in _pages(ctx.index or {}):
        value = page.get("foreground")
        if isinstance(value, str) and (ctx.root / value).is_file():
            found.add(ctx.root / value)
    return found


def script_prose(path: Path, comments: bool = False) -> list[str]:
    """Una línea por línea del script, con solo el texto que se revisa (ver arriba); `comments`:
    también los comentarios (de shell)."""
    source = path.read_text(encoding="utf-8", errors="replace")
    return _python_text(source) if _is_python(path) else _shell_text(source, comments)


# --------------------------------------------------------------------------- orden `lab check`

CHECKS: dict[str, Callable[[Ctx], list[Problem]]] = {
    "index": check_index,
    "markdown": check_markdown,
    "foreground": check_foreground,
    "shellcheck": check_shellcheck,
    "hadolint": check_hadolint,
    "manifests": check_manifests,
    "bundle": check_bundle,
    "spelling": check_spelling,
}


def run_checks(root: Path, only: Iterable[str] | None = None) -> list[Problem]:
    """Corre las comprobaciones (todas, o las nombradas) y devuelve los problemas ordenados."""
    ctx = make_ctx(root)
    names = list(only) if only else list(CHECKS)
    problems: list[Problem] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {pool.submit(CHECKS[n], ctx): n for n in names}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                problems += future.result()
            except subprocess.TimeoutExpired as exc:
                problems.append(Problem(ctx.root, 1, f"{name}: la herramienta tardó más de {exc.timeout} s"))
            except Exception as exc:  # noqa: BLE001 - un fallo interno se informa y no tapa el resto
                problems.append(Problem(ctx.root, 1, f"{name}: error interno del verificador: {type(exc).__name__}: {exc}"))
    return sorted(set(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab check", description="Comprobaciones estáticas del curso (sin clúster).")
    parser.add_argument(
        "--course", type=Path, default=Path(os.environ.get("LAB_COURSE", ".")), help="carpeta del curso (por defecto, la actual)"
    )
    parser.add_argument("--only", default="", help=f"solo estas comprobaciones, separadas por comas ({', '.join(CHECKS)})")
    parser.add_argument("--skip", default="", help="omite estas comprobaciones, separadas por comas")
    args = parser.parse_args(argv)
    only = [n for n in args.only.split(",") if n] or list(CHECKS)
    skip = {n for n in args.skip.split(",") if n}
    unknown = [n for n in [*only, *skip] if n not in CHECKS]
    if unknown:
        parser.error(f"comprobación desconocida: {', '.join(unknown)} (hay: {', '.join(CHECKS)})")
    names = [n for n in only if n not in skip]
    start = time.monotonic()
    problems = run_checks(args.course, names)
    for problem in problems:
        print(problem.show())
    elapsed = time.monotonic() - start
    sys.stdout.flush()
    if problems:
        print(f"lab check: {len(problems)} problema(s) ({', '.join(names)}; {elapsed:.1f} s)", file=sys.stderr)
        return 1
    print(f"lab check: todo en orden ({', '.join(names)}; {elapsed:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
