"""index.json in Killercoda's format: known keys, backend.imageid, the files it names, assets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lab.course.check.base import (
    Ctx,
    Problem,
)
from lab.course.model import json_line

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
