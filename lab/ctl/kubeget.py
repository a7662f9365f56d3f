"""`kubectl get`: pods, deployments, virtualservices y el ConfigMap de la malla.

Las tablas son las del servidor de API (columnas de `pkg/printers/internalversion/printers.go` de
kubernetes/kubernetes; las de la VirtualService, de las additionalPrinterColumns de su CRD),
alineadas como el tabwriter de kubectl (lab/ctl/kubeformat.py). La lista sale por nombre, como la
devuelve el servidor.
"""

from __future__ import annotations

import sys
import time

from lab.cluster.state import LabState
from lab.ctl.jsonpath import render
from lab.ctl.kubeargs import DEPLOY_TYPES, NAMESPACE, POD_TYPES, Args, Unsupported, jsonpath_template, matches, unsupported_text
from lab.ctl.kubeformat import age, table
from lab.ctl.kubeobjects import configmap_object, deployment_object, deployment_status, list_of, pod_object
from lab.errors import LabError

VS_TYPES = ("virtualservices", "virtualservice", "vs", "virtualservices.networking.istio.io")
CONFIGMAP_TYPES = ("configmaps", "configmap", "cm")
MESH_NAMESPACE, MESH_CONFIGMAP = "istio-system", "istio"


def cmd_get(state: LabState, args: Args, namespace: str) -> int:
    words = args.words[1:]
    if not words:
        raise Unsupported(unsupported_text(args.raw))
    kind, names = words[0].lower(), words[1:]
    if namespace == MESH_NAMESPACE:
        if kind in CONFIGMAP_TYPES and names == [MESH_CONFIGMAP] and jsonpath_template(args) is not None:
            args.allow("output")
            cm = configmap_object(MESH_CONFIGMAP, MESH_NAMESPACE, state.istio_configmap)
            sys.stdout.write(render(jsonpath_template(args) or "", cm))
            return 0
        raise Unsupported(unsupported_text(args.raw))
    if namespace != NAMESPACE:
        print(f"No resources found in {namespace} namespace.", file=sys.stderr)
        return 0
    if kind in POD_TYPES:
        args.allow("selector", "output")
        return get_pods(state, args, names)
    if kind in DEPLOY_TYPES:
        args.allow("selector", "output")
        return get_deployments(state, args, names)
    if kind in VS_TYPES and not names:
        args.allow()
        return get_virtual_services(state)
    raise Unsupported(unsupported_text(args.raw))


def _not_found(resource: str, name: str) -> str:
    return f'Error from server (NotFound): {resource} "{name}" not found'


def get_pods(state: LabState, args: Args, names: list[str]) -> int:
    template = jsonpath_template(args)
    pods = sorted((p for p in state.pods if matches(p.labels, args.flags.get("selector"))), key=lambda p: p.name)
    if template is not None:
        chosen = [p for p in pods if not names or p.name in names]
        missing = [n for n in names if n not in {p.name for p in chosen}]
        if missing:
            raise LabError(_not_found("pods", missing[0]))
        data = pod_object(chosen[0]) if len(names) == 1 else list_of([pod_object(p) for p in chosen])
        sys.stdout.write(render(template, data))
        return 0
    if names:
        by_name = {p.name: p for p in pods}
        missing = [n for n in names if n not in by_name]
        pods = [by_name[n] for n in names if n in by_name]
        for name in missing:
            print(_not_found("pods", name), file=sys.stderr)
        if missing and not pods:
            return 1
    if not pods:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
        return 0
    now = time.time()
    rows = [
        [p.name, f"{sum(c.ready for c in p.containers)}/{len(p.containers)}", p.phase, str(p.restarts), age(p.created, now)]
        for p in pods
    ]
    print(table(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows))
    return 0


def get_deployments(state: LabState, args: Args, names: list[str]) -> int:
    template = jsonpath_template(args)
    everything = sorted(state.deployments, key=lambda d: d.name)
    chosen = [d for d in everything if (not names or d.name in names) and matches(d.labels, args.flags.get("selector"))]
    missing = [n for n in names if state.deployment(n) is None]
    if template is not None:
        if missing:
            raise LabError(_not_found("deployments.apps", missing[0]))
        objects = [deployment_object(state, d) for d in chosen]
        sys.stdout.write(render(template, objects[0] if len(names) == 1 else list_of(objects)))
        return 0
    now = time.time()
    rows = []
    for item in chosen:
        status = deployment_status(state, item)
        ready = f"{status['readyReplicas']}/{item.replicas}"
        rows.append([item.name, ready, str(status["updatedReplicas"]), str(status["availableReplicas"]), age(item.created, now)])
    for name in missing:
        print(_not_found("deployments.apps", name), file=sys.stderr)
    if rows:
        print(table(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], rows))
    elif not names:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
    return 1 if missing else 0


def get_virtual_services(state: LabState) -> int:
    if not state.virtual_services:
        print(f"No resources found in {NAMESPACE} namespace.", file=sys.stderr)
        return 0
    now = time.time()
    rows = [
        [vs.name, "", "[" + ",".join(f'"{h}"' for h in vs.hosts) + "]", age(vs.created, now)]
        for vs in state.virtual_services
    ]
    print(table(["NAME", "GATEWAYS", "HOSTS", "AGE"], rows))
    return 0
