"""Topología: Deployments y Services de apps/k8s/*.yaml → el modelo que el laboratorio ejecuta.

Nada de la topología se escribe dos veces: réplicas, entorno, etiquetas, puertos y NodePort salen
de los manifiestos. Aquí solo se añade lo que en Kubernetes pone el clúster:

- Direcciones: cada Service tiene un índice (1, 2, 3...) y sus pods viven en 127.0.<índice>.<n>,
  n = 10, 11, 12... (Linux enruta todo 127/8 a `lo`). El orden sigue la cadena de llamadas: primero
  los Services NodePort (bff), luego los que nombran sus variables *_URL (backend1, luego app2) y al
  final el resto por nombre. Así bff = 127.0.1.x, backend1 = 127.0.2.x, app2 = 127.0.3.x.
- Los nombres de pod (<deployment>-<pod-template-hash>-<5 al azar>) los ponen los controladores
  (lab/cluster/controllers/), como en Kubernetes; las IP, el nodo (lab/cluster/node/ipam.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lab.constants import K8S_DIR, NODE_PORT_IP, manifest_files
from lab.errors import LabError

# libyaml's parser when PyYAML has it (its wheels do): the same documents as yaml.safe_load_all, ~8× less
# CPU on `lab up`'s way to the first pod (the documents are read once, here; seed.py creates them).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NAMESPACE = "default"
FIRST_HOST = 10  # cuarto octeto de las IP de pod: de FIRST_HOST a LAST_HOST (y vuelta)
LAST_HOST = 250


@dataclass(frozen=True)
class EnvVar:
    """Una variable de la plantilla: valor literal o `fieldRef` de la API descendente."""

    name: str
    value: str | None = None
    field_path: str | None = None  # metadata.name, status.podIP...


@dataclass(frozen=True)
class Probe:
    """La readinessProbe del contenedor: httpGet (path) o tcpSocket (path None)."""

    port: int
    path: str | None


@dataclass(frozen=True)
class Service:
    name: str
    index: int  # tercer octeto de las IP de sus pods
    port: int
    target_port: int
    port_name: str
    node_port: int | None
    selector: tuple[tuple[str, str], ...]

    def fqdn(self) -> str:
        return f"{self.name}.{NAMESPACE}.svc.cluster.local"


@dataclass(frozen=True)
class Deployment:
    name: str
    replicas: int
    labels: tuple[tuple[str, str], ...]  # etiquetas de la plantilla del pod
    container: str
    container_port: int
    env: tuple[EnvVar, ...]
    service: Service
    image: str = ""
    # Sin readinessProbe, Kubernetes da el contenedor por listo al arrancar; el laboratorio espera
    # al menos a que su puerto acepte conexiones (tcpSocket al containerPort).
    readiness: Probe | None = None

    def readiness_probe(self) -> Probe:
        return self.readiness or Probe(self.container_port, None)


@dataclass(frozen=True)
class Topology:
    deployments: tuple[Deployment, ...]  # en el orden de sus Services
    services: tuple[Service, ...]
    manifests: tuple[dict, ...] = field(default=(), compare=False, repr=False)  # todos los documentos, en orden de archivo

    def deployment(self, name: str) -> Deployment:
        for deployment in self.deployments:
            if deployment.name == name:
                return deployment
        raise KeyError(name)

    def node_ports(self) -> list[tuple[int, Deployment]]:
        return [(d.service.node_port, d) for d in self.deployments if d.service.node_port]

    def images(self) -> dict[str, str]:
        """Imagen → carpeta de apps/ con su código: las imágenes que el «nodo» tiene (las del curso),
        también con el nombre completo que les da containerd (docker.io/library/…)."""
        found = {}
        for d in self.deployments:
            found[d.image] = found[f"docker.io/library/{d.image}"] = d.container
        return found

    def service_for(self, labels: dict[str, str]) -> Service | None:
        """El Service del curso cuyo selector escoge estas etiquetas (el primero)."""
        return next((s for s in self.services if s.selector and all(labels.get(k) == v for k, v in s.selector)), None)

    def node_urls(self) -> str:
        """«bff: http://127.0.0.1:30000» (uno por NodePort), para los mensajes."""
        return ", ".join(f"{d.name}: http://{NODE_PORT_IP}:{port}" for port, d in self.node_ports())


def pod_ip(service: Service, host: int) -> str:
    return f"127.0.{service.index}.{host}"


def load_topology(course_root: Path) -> Topology:
    """Lee apps/k8s/*.yaml (solo Deployment y Service) y los empareja por selector."""
    folder = course_root / K8S_DIR
    files = manifest_files(course_root)
    if not files:
        raise LabError(f"No encuentro manifiestos en {folder}.")
    raw_deployments: list[tuple[Path, dict]] = []
    raw_services: list[dict] = []
    every: list[dict] = []
    for path in files:
        try:
            docs = [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) if d]
        except yaml.YAMLError as exc:
            raise LabError(f"{path}: YAML inválido: {exc}") from exc
        every += docs
        for doc in docs:
            if doc.get("kind") == "Deployment":
                raw_deployments.append((path, doc))
            elif doc.get("kind") == "Service":
                raw_services.append(doc)
    deployments = [_deployment(path, doc, raw_services) for path, doc in raw_deployments]
    ordered = _call_order(deployments)
    services: list[Service] = []
    result: list[Deployment] = []
    for index, (deployment, service) in enumerate(ordered, start=1):
        service = Service(**{**service.__dict__, "index": index})
        services.append(service)
        result.append(Deployment(**{**deployment.__dict__, "service": service}))
    return Topology(tuple(result), tuple(services), tuple(every))


def _deployment(path: Path, doc: dict, services: list[dict]) -> Deployment:
    name = doc["metadata"]["name"]
    spec = doc["spec"]
    template = spec["template"]
    labels = dict(template["metadata"].get("labels") or {})
    containers = template["spec"]["containers"]
    if len(containers) != 1:
        raise LabError(f"{path}: el laboratorio espera un solo contenedor por pod en {name}.")
    container = containers[0]
    ports = container.get("ports")
    if not ports:
        raise LabError(f"{path}: el contenedor de {name} no declara su containerPort (ports).")
    env = container_env(path, container)
    service = _service_for(path, name, labels, ports[0], services)
    return Deployment(
        name=name,
        replicas=int(spec.get("replicas", 1)),
        labels=tuple(sorted(labels.items())),
        container=container["name"],
        container_port=int(ports[0]["containerPort"]),
        env=env,
        service=service,
        image=str(container.get("image", "")),
        readiness=container_readiness(path, name, container),
    )


def container_env(where: Path | str, container: dict) -> tuple[EnvVar, ...]:
    return tuple(_env_var(Path(where), item) for item in container.get("env") or [])


def container_readiness(where: Path | str, name: str, container: dict) -> Probe | None:
    return _readiness(Path(where), name, container, container.get("ports") or [])


def _readiness(path: Path, name: str, container: dict, ports: list[dict]) -> Probe | None:
    """readinessProbe httpGet/tcpSocket → Probe (el puerto con nombre se busca en ports)."""
    probe = container.get("readinessProbe")
    if not probe:
        return None
    action = probe.get("httpGet") or probe.get("tcpSocket")
    if not action or "port" not in action:
        raise LabError(f"{path}: la readinessProbe de {name} no es httpGet ni tcpSocket (el laboratorio no la emula).")
    port = action["port"]
    if isinstance(port, str) and not port.isdigit():
        named = [p for p in ports if p.get("name") == port]
        if not named:
            raise LabError(f"{path}: la readinessProbe de {name} usa el puerto «{port}», que no existe.")
        port = named[0]["containerPort"]
    return Probe(int(port), action.get("path", "/") if "httpGet" in probe else None)


def _env_var(path: Path, item: dict) -> EnvVar:
    if "value" in item:
        return EnvVar(item["name"], value=str(item["value"]))
    field_ref = (item.get("valueFrom") or {}).get("fieldRef")
    if field_ref and field_ref.get("fieldPath") in ("metadata.name", "status.podIP", "metadata.namespace"):
        return EnvVar(item["name"], field_path=field_ref["fieldPath"])
    raise LabError(f"{path}: la variable {item.get('name')} usa un origen que el laboratorio no emula.")


def _service_for(path: Path, name: str, labels: dict, port: dict, services: list[dict]) -> Service:
    for doc in services:
        selector = doc["spec"].get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            sport = doc["spec"]["ports"][0]
            target = sport.get("targetPort", sport["port"])
            if isinstance(target, str):  # puerto con nombre
                if target != port.get("name"):
                    raise LabError(f"{path}: el Service de {name} apunta al puerto «{target}», que no existe.")
                target = port["containerPort"]
            return Service(
                name=doc["metadata"]["name"],
                index=0,
                port=int(sport["port"]),
                target_port=int(target),
                port_name=sport.get("name", "http"),
                node_port=int(sport["nodePort"]) if sport.get("nodePort") else None,
                selector=tuple(sorted(selector.items())),
            )
    raise LabError(f"{path}: ningún Service selecciona los pods de {name}.")


def _call_order(deployments: list[Deployment]) -> list[tuple[Deployment, Service]]:
    """Primero los NodePort, luego lo que llaman (por sus URL), luego el resto por nombre."""
    by_service = {d.service.name: d for d in deployments}
    order: list[str] = sorted(s for s, d in by_service.items() if d.service.node_port)
    i = 0
    while True:
        while i < len(order):
            for callee in _callees(by_service[order[i]], by_service):
                if callee not in order:
                    order.append(callee)
            i += 1
        rest = sorted(set(by_service) - set(order))
        if not rest:
            break
        order.append(rest[0])
    return [(by_service[s], by_service[s].service) for s in order]


def _callees(deployment: Deployment, by_service: dict[str, Deployment]) -> list[str]:
    found = []
    for var in deployment.env:
        for host in re.findall(r"://([A-Za-z0-9.-]+)", var.value or ""):
            short = host.split(".")[0]
            if short in by_service and short not in found:
                found.append(short)
    return found
