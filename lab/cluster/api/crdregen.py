"""Writes virtualservice-crd.json: Istio's VirtualService CRD from crd-all.gen.yaml, unchanged.

The commit is the one lab/cluster/istio/retries.json was regenerated from (one Istio version for the
whole lab). Usage: `python -m lab.cluster.api.crdregen <istio checkout>`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from lab.cluster.api.resources import CRD_FILE
from lab.cluster.istio import VIRTUALSERVICES, istio_data
from lab.cluster.istio.sources import CRDS


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("uso: python -m lab.cluster.api.crdregen <clon de istio/istio>", file=sys.stderr)
        return 2
    commit = istio_data()["istio"]["commit"]
    git = ["git", "-C", str(Path(args[0]))]
    text = subprocess.run([*git, "show", f"{commit}:{CRDS}"], check=True, capture_output=True, text=True).stdout
    blob = subprocess.run([*git, "rev-parse", f"{commit}:{CRDS}"], check=True, capture_output=True, text=True).stdout.strip()
    crd = next(d for d in yaml.safe_load_all(text) if d and d["metadata"]["name"] == VIRTUALSERVICES)
    crd["x-lab-source"] = {"repo": "istio/istio", "commit": commit, "path": CRDS, "blob": blob,
                           "version": istio_data()["istio"]["version"]}
    CRD_FILE.write_text(json.dumps(crd, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{CRD_FILE}: {VIRTUALSERVICES} de {CRDS}@{commit[:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
