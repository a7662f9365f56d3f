"""Checks run by external tools: shellcheck, hadolint, kubernetes-validate, and the bundle."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from lab.constants import DOCKERFILE, K8S_DIR, manifest_files
from lab.course.bundle import BUNDLE_PATH, bundle_is_current
from lab.course.check.base import (
    BLOCK_SHELLCHECK_EXCLUDES,
    Ctx,
    Problem,
    run_tool,
    tool,
    walk,
)
from lab.course.model import Block, CourseError, markdown_blocks
from lab.ctl.version import kubernetes_version

# --------------------------------------------------------------------------- shellcheck


def shell_scripts(ctx: Ctx) -> list[Path]:
    scripts = list(ctx.scripts)
    for path in walk(ctx.root, "*.sh"):
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
    proc = run_tool([binary, "-f", "json1", "-x", *extra, *map(str, files)], cwd)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        if proc.returncode == 0:
            return []
        raise RuntimeError(proc.stderr.strip() or f"shellcheck salió con {proc.returncode}")
    comments: list[dict[str, Any]] = json.loads(proc.stdout)["comments"]
    return comments


def check_shellcheck(ctx: Ctx) -> list[Problem]:
    binary = tool("shellcheck")
    if binary is None:
        return [
            Problem(ctx.root / "pyproject.toml", 1, "falta shellcheck: instala las dependencias de desarrollo (pip install -e '.[dev]')")
        ]
    out: list[Problem] = []
    scripts = shell_scripts(ctx)
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
    dockerfiles = [p for p in walk(ctx.root / "apps", "Dockerfile*")] if (ctx.root / "apps").is_dir() else []
    if not (ctx.root / DOCKERFILE).is_file():
        return [Problem(ctx.root / DOCKERFILE, 1, f"no existe {DOCKERFILE} (el Dockerfile común de los servicios)")]
    binary = tool("hadolint")
    if binary is None:
        return [Problem(ctx.root / "pyproject.toml", 1, "falta hadolint: instala las dependencias de desarrollo (pip install -e '.[dev]')")]
    proc = run_tool([binary, "--no-color", "-f", "json", *map(str, dockerfiles)], ctx.root)
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
    files = manifest_files(ctx.root)
    if not files:
        return [Problem(ctx.root / K8S_DIR, 1, f"no hay manifiestos en {K8S_DIR}/*.yaml")]
    version = f"{kubernetes_version(ctx.root)}.0"  # el Kubernetes del sandbox (setup.sh)
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
    """assets/curso.tar.gz al día con apps/, tools/ y setup.sh: lab.course.bundle dice qué difiere,
    cada problema como «ruta[:línea]: mensaje»."""
    out = []
    for item in bundle_is_current(ctx.root):
        m = re.match(r"^(?P<file>[\w./-]+?)(?::(?P<line>\d+))?: (?P<msg>.*)$", item, re.S)
        if m and ((ctx.root / m["file"]).exists() or m["file"] == str(BUNDLE_PATH)):
            out.append(Problem(ctx.root / m["file"], int(m["line"] or 1), f"paquete: {m['msg']}"))
        else:
            out.append(Problem(ctx.root / BUNDLE_PATH, 1, f"paquete: {item}"))
    return out
