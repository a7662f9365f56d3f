"""La cuenta de CPU del README («CPU en un nodo pequeño») frente a los manifiestos: los requests de
las apps (apps/k8s/*.yaml, por réplica) y los de istiod y los sidecars (el IstioOperator). Si alguien
sube un request, el README deja de cuadrar y esta prueba lo dice; y lo que pide el curso debe caber
en lo que deja kube-system en un nodo de 1 vCPU con Cilium.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NODE_1_VCPU = 1000  # milicores asignables: kubeadm no reserva CPU para el sistema por omisión


def millicores(value: str | int | None) -> int:
    if value is None:
        return 0
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def app_requests() -> int:
    total = 0
    for path in sorted((REPO / "apps" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "Deployment":
                spec = doc["spec"]["template"]["spec"]
                per_pod = sum(millicores(c.get("resources", {}).get("requests", {}).get("cpu"))
                              for c in spec["containers"])
                total += doc["spec"].get("replicas", 1) * per_pod
    return total


def operator() -> dict:
    return yaml.safe_load((REPO / "apps" / "istio" / "istio-operator.yaml").read_text(encoding="utf-8"))["spec"]


def readme_row(label: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**CPU en un nodo pequeño.**"):]
    row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
    return row.rsplit("|", 2)[-2].strip()


def test_istiod_and_the_sidecars_request_no_cpu() -> None:
    spec = operator()
    assert millicores(spec["components"]["pilot"]["k8s"]["resources"]["requests"]["cpu"]) == 0
    assert millicores(spec["values"]["global"]["proxy"]["resources"]["requests"]["cpu"]) == 0
    assert readme_row("istiod") == "0m"


def test_the_readme_states_what_the_manifests_request() -> None:
    apps = app_requests()
    assert readme_row("7 contenedores de las apps") == f"{apps}m"
    assert readme_row("**el curso**") == f"**{apps}m**"


def test_the_course_fits_what_kube_system_leaves_on_one_vcpu() -> None:
    low = re.match(r"\*\*≈ (\d+)m", readme_row("**kube-system**"))
    assert low, readme_row("**kube-system**")
    assert app_requests() <= NODE_1_VCPU - int(low.group(1))
