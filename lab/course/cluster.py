"""Lo que el curso necesita de un clúster, comprobado y restaurado con `kubectl`, como lo haría una persona.

- `read_apps(root)`: de los archivos del propio curso (no del laboratorio): los Deployments de
  `apps/k8s/`, el servicio al que llama el curl (el que selecciona el Service NodePort) y la política
  de reintentos de la malla (`meshConfig.defaultHttpRetryPolicy` de `apps/istio/istio-operator.yaml`).
- `readiness_problems(tool, apps)`: antes del primer bloque, lo que falta para empezar el curso: cada
  Deployment con todas sus réplicas disponibles, ninguno más (el paso 1 despliega `backend1-v2`),
  cada pod con su `istio-proxy` (en `containers`, o en `initContainers` si es un sidecar nativo), la
  política de la malla y ningún VirtualService.
- `snapshot(tool, apps)` guarda el entorno de cada Deployment; `restore(...)` lo devuelve y borra los
  Deployments que crea el texto y los VirtualServices, para dejar el clúster como estaba (y poder
  jugar el curso otra vez).

`tool(argv, stdin=None)` ejecuta una orden con el entorno de la terminal (Session.tool): el mismo
código sirve para el laboratorio y para un clúster de verdad. Las formas de salida son las de kubectl:
`-o jsonpath` imprime un valor que no es escalar como JSON (k8s.io/client-go, util/jsonpath/jsonpath.go,
`evalToText`: json.Marshal de mapas y listas).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any, Protocol

import yaml

from lab.constants import ISTIO_DIR, ISTIO_NAMESPACE, K8S_DIR, MESH_CONFIGMAP, SIDECAR_CONTAINER, manifest_files
from lab.course.session import Output

OPERATOR = ISTIO_DIR / "istio-operator.yaml"  # el IstioOperator que instala setup.sh
ENV_JSONPATH = "jsonpath={.spec.template.spec.containers[0].env}"
NAMES_JSONPATH = "jsonpath={.items[*].metadata.name}"
MESH_JSONPATH = "jsonpath={.data.mesh}"
ROLLOUT_SECONDS = 300
ROLLOUT_TIMEOUT = f"{ROLLOUT_SECONDS}s"
VS_API = "networking.istio.io/v1"


class Tool(Protocol):
    def __call__(self, argv: list[str], stdin: str | None = None) -> CompletedProcess[str]: ...


@dataclass(frozen=True)
class CourseApps:
    deployments: tuple[str, ...]  # en el orden de apps/k8s
    entry: str  # la etiqueta app de los pods del Service NodePort (bff): a quien llama el curl
    retry_policy: dict[str, Any] | None  # meshConfig.defaultHttpRetryPolicy, o None si no la hay


class ClusterError(Exception):
    """El clúster no deja leer lo que hay que restaurar (con la orden y lo que dijo)."""


class AppsError(Exception):
    """apps/ no dice lo que el reproductor necesita (con qué archivo y qué falta)."""


def read_apps(root: Path) -> CourseApps:
    folder = root / K8S_DIR
    docs: list[dict[str, Any]] = []
    for path in manifest_files(root):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    nodeports = [d for d in docs if d.get("kind") == "Service" and (d.get("spec") or {}).get("type") == "NodePort"]
    if not deployments or len(nodeports) != 1:
        raise AppsError(f"{folder}: se esperan Deployments y un solo Service NodePort (el que llama el curl); "
                        f"hay {len(deployments)} Deployments y {len(nodeports)} Services NodePort")
    selector = nodeports[0]["spec"].get("selector") or {}
    if "app" not in selector:
        raise AppsError(f"{folder}: el Service NodePort {nodeports[0]['metadata']['name']} no selecciona por «app»")
    operator = root / OPERATOR
    mesh = {}
    if operator.is_file():
        mesh = ((yaml.safe_load(operator.read_text(encoding="utf-8")) or {}).get("spec") or {}).get("meshConfig") or {}
    return CourseApps(tuple(d["metadata"]["name"] for d in deployments), selector["app"],
                      mesh.get("defaultHttpRetryPolicy"))


def _said(done: CompletedProcess[str]) -> str:
    text = (done.stderr or done.stdout).strip()
    return text.splitlines()[0] if text else f"código {done.returncode}"


def _kubectl(tool: Tool, *args: str, stdin: str | None = None) -> CompletedProcess[str]:
    return tool(["kubectl", *args], stdin) if stdin is not None else tool(["kubectl", *args])


def _names(table: str) -> list[str]:
    """La columna NAME de una tabla de `kubectl get` (sin la cabecera)."""
    return [line.split()[0] for line in table.splitlines()[1:] if line.strip()]


# ============================================================================ ¿listo para el curso?


def readiness_problems(tool: Tool, apps: CourseApps) -> list[str]:
    """Lo que falta en el clúster para empezar el curso (vacío: listo)."""
    problems = []
    for name in apps.deployments:
        done = _kubectl(tool, "get", "deployment", name, "-o", "jsonpath={.spec.replicas} {.status.availableReplicas}")
        if done.returncode != 0:
            problems.append(f"el Deployment {name} no está: {_said(done)}")
            continue
        want, _, have = done.stdout.strip().partition(" ")
        if (have.strip() or "0") != want:
            problems.append(f"el Deployment {name} tiene {have.strip() or 0} de {want} réplicas disponibles "
                            f"(espera a «kubectl rollout status deployment/{name}»)")
    extra, done = _extra_deployments(tool, apps)
    if done.returncode != 0:
        problems.append(f"no se pueden listar los Deployments: {_said(done)}")
    elif extra:
        problems.append(f"hay Deployments que no son de {K8S_DIR} ({', '.join(extra)}): el curso empieza sin ellos "
                        f"(bórralos con «kubectl delete deployment {extra[0]}»)")
    problems += _sidecar_problems(tool)
    if apps.retry_policy is not None:
        done = _kubectl(tool, "-n", ISTIO_NAMESPACE, "get", "configmap", MESH_CONFIGMAP, "-o", MESH_JSONPATH)
        mesh = yaml.safe_load(done.stdout) if done.returncode == 0 else None
        got = mesh.get("defaultHttpRetryPolicy") if isinstance(mesh, dict) else None
        if done.returncode != 0:
            problems.append(f"no se puede leer la configuración de la malla (ConfigMap {ISTIO_NAMESPACE}/{MESH_CONFIGMAP}): {_said(done)}")
        elif got != apps.retry_policy:
            problems.append(f"la malla no tiene la política de reintentos del curso: defaultHttpRetryPolicy es {got}, "
                            f"{OPERATOR} dice {apps.retry_policy} (¿se instaló Istio con ese archivo?)")
    done = _kubectl(tool, "get", "virtualservices")
    if done.returncode != 0:
        problems.append(f"no se pueden listar los VirtualService (¿está instalado Istio?): {_said(done)}")
    elif _names(done.stdout):
        names = ", ".join(_names(done.stdout))
        problems.append(f"hay VirtualServices ({names}): el curso empieza sin ninguno "
                        f"(bórralos con «kubectl delete virtualservice {names.split(', ')[0]}»)")
    return problems


def _sidecar_problems(tool: Tool) -> list[str]:
    """Los pods sin sidecar, de una sola lista (un pod que termina de irse entre dos lecturas no
    cuenta como pod sin sidecar); los que ya están terminando (deletionTimestamp) no cuentan."""
    done = _kubectl(tool, "get", "pods", "-o", "json")
    if done.returncode != 0:
        return [f"no se pueden listar los pods: {_said(done)}"]
    try:
        items = json.loads(done.stdout).get("items") or []
    except (ValueError, AttributeError):
        return [f"«kubectl get pods -o json» no devolvió JSON: {done.stdout[:200]!r}"]
    pods = [pod for pod in items if not (pod.get("metadata") or {}).get("deletionTimestamp")]
    if not pods:
        return ["no hay ningún pod en el namespace default"]
    missing = [pod["metadata"]["name"] for pod in pods if SIDECAR_CONTAINER not in _container_names(pod)]
    if not missing:
        return []
    return [f"{len(missing)} de {len(pods)} pods no llevan {SIDECAR_CONTAINER} ({', '.join(missing)}): "
            "¿tiene el namespace default la etiqueta istio-injection=enabled? (luego, «kubectl rollout restart»)"]


def _container_names(pod: dict[str, Any]) -> set[str]:
    """Contenedores e initContainers: un sidecar nativo (Kubernetes >= 1.33 con Istio >= 1.27) va en initContainers."""
    spec = pod.get("spec") or {}
    return {c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])}


# ============================================================================ dejarlo como estaba


@dataclass(frozen=True)
class Snapshot:
    env: dict[str, list[dict[str, Any]]]  # Deployment → env de su primer contenedor


def snapshot(tool: Tool, apps: CourseApps) -> Snapshot:
    return Snapshot({name: _env(tool, name) for name in apps.deployments})


def _env(tool: Tool, name: str) -> list[dict[str, Any]]:
    done = _kubectl(tool, "get", "deployment", name, "-o", ENV_JSONPATH)
    if done.returncode != 0:
        raise ClusterError(f"no se puede leer el entorno de deployment/{name}: {_said(done)}")
    return json.loads(done.stdout) if done.stdout.strip() else []


def env_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Los argumentos de `kubectl set env` que devuelven `after` a `before` (solo variables con value)."""
    old = {e["name"]: e for e in before}
    new = {e["name"]: e for e in after}
    changes = [f"{n}={e['value']}" for n, e in old.items() if "value" in e and new.get(n) != e]
    changes += [f"{n}-" for n, e in new.items() if n not in old and "value" in e]
    return changes


def _extra_deployments(tool: Tool, apps: CourseApps) -> tuple[list[str], CompletedProcess[str]]:
    """Los Deployments que no son de apps/k8s (los que crea el texto, como backend1-v2) y la lista de kubectl."""
    done = _kubectl(tool, "get", "deployments", "-o", NAMES_JSONPATH)
    return ([name for name in done.stdout.split() if name not in apps.deployments] if done.returncode == 0 else []), done


def restore(tool: Tool, apps: CourseApps, saved: Snapshot, out: Output) -> bool:
    """Devuelve el entorno de cada Deployment y borra los Deployments que no son de apps/k8s (los que
    crea el texto, como backend1-v2) y los VirtualServices; True si todo fue bien."""
    extra, done = _extra_deployments(tool, apps)
    ok = done.returncode == 0
    if not ok:
        out(f"· no se pueden listar los Deployments: {_said(done)}\n")
    for name in extra:
        deleted = _kubectl(tool, "delete", "deployment", name)
        ok = ok and deleted.returncode == 0
        out(f"· kubectl delete deployment {name}: {_said(deleted) if deleted.returncode else 'hecho'}\n")
    for name in apps.deployments:
        try:
            changes = env_changes(saved.env[name], _env(tool, name))
        except ClusterError as exc:
            out(f"· no se pudo restaurar: {exc}\n")
            ok = False
            continue
        if not changes:
            continue
        for argv in (["set", "env", f"deployment/{name}", *changes],
                     ["rollout", "status", f"deployment/{name}", f"--timeout={ROLLOUT_TIMEOUT}"]):
            done = _kubectl(tool, *argv)
            ok = ok and done.returncode == 0
            out(f"· kubectl {' '.join(argv)}: {_said(done) if done.returncode else 'hecho'}\n")
    done = _kubectl(tool, "get", "virtualservices")
    for vs in _names(done.stdout) if done.returncode == 0 else []:
        manifest = f"apiVersion: {VS_API}\nkind: VirtualService\nmetadata:\n  name: {vs}\n"
        deleted = _kubectl(tool, "delete", "-f", "-", stdin=manifest)
        ok = ok and deleted.returncode == 0
        out(f"· kubectl delete virtualservice {vs}: {_said(deleted) if deleted.returncode else 'hecho'}\n")
    # «Como estaba» es también sin pods terminando: los de los ReplicaSets viejos tras un rollout siguen
    # unos segundos (el drenaje del sidecar), y un `kubectl logs -l` que los lista falla si se van a mitad.
    deadline = time.monotonic() + ROLLOUT_SECONDS
    while (left := _terminating(tool)) and time.monotonic() < deadline:
        time.sleep(1)
    if left:
        out(f"· pods que siguen terminando tras {ROLLOUT_SECONDS} s: {', '.join(left)}\n")
    return ok and not left


def _terminating(tool: Tool) -> list[str]:
    """Los pods con deletionTimestamp (los que `kubectl get pods` muestra Terminating)."""
    done = _kubectl(tool, "get", "pods", "-o", "json")
    try:
        items = json.loads(done.stdout).get("items") or [] if done.returncode == 0 else []
    except (ValueError, AttributeError):
        return []
    return [p["metadata"]["name"] for p in items if (p.get("metadata") or {}).get("deletionTimestamp")]

