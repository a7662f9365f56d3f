"""Genera los diagramas del curso (assets/*.png) a partir de este archivo.

    python assets/diagrams/make_diagrams.py            # escribe assets/istioretry-*.png
    python assets/diagrams/make_diagrams.py --out DIR  # en otra carpeta (los tests comparan)

La salida es determinista: mismo matplotlib (fijado en pyproject.toml) → mismos bytes. No se
guarda fecha ni versión en los metadatos del PNG. Se leen bien a ~700 px de ancho (el panel de
texto de Killercoda): se dibujan a 1400 px con letra de 10-12 pt.

Los pods («pod A», «pod X»...) son ejemplos: en el sandbox tienen nombres como
backend1-7d9f8c6b5d-4xk2p y el reparto exacto entre pods cambia de una petición a otra.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ASSETS = Path(__file__).resolve().parent.parent
WIDTH_IN = 7.0  # 100 unidades de dibujo = 7 pulgadas = 1400 px a 200 ppp
DPI = 200
UNIT = WIDTH_IN / 100

INK = "#1f2933"
MUTED = "#52606d"
OK_FILL, OK_EDGE = "#e3f9e5", "#1f7a35"
KO_FILL, KO_EDGE = "#ffe3e3", "#b3261e"
SVC_FILL, SVC_EDGE = "#e8f1fb", "#1d5fa8"
SIDE_FILL, SIDE_EDGE = "#fff4d6", "#a86d00"
OFF_FILL = "#eef0f2"  # un sidecar sin reintentos hacia ese salto (VirtualService con attempts: 0)
FONT = "DejaVu Sans"

plt.rcParams.update({
    "font.family": FONT,
    "svg.hashsalt": "reintentos",
    "path.simplify": False,
})


def new_figure(height_units: float):
    fig = plt.figure(figsize=(WIDTH_IN, height_units * UNIT), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, height_units)
    ax.set_axis_off()
    return fig, ax


def box(ax, x, y, w, h, text, fill=SVC_FILL, edge=SVC_EDGE, size=10.5, weight="normal", color=INK):
    """Caja con esquinas redondeadas centrada en (x, y)."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=1.2",
                                linewidth=1.4, facecolor=fill, edgecolor=edge))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, fontweight=weight, color=color,
            linespacing=1.25)


def arrow(ax, start, end, color=INK, width=1.3, style="-|>", dashed=False):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, linewidth=width,
                                 color=color, linestyle=(0, (4, 3)) if dashed else "solid",
                                 shrinkA=0, shrinkB=0))


def badge(ax, x, y, number, color=SIDE_EDGE, size=9.5):
    """El número de intento, en un círculo sobre la flecha."""
    ax.text(x, y, str(number), ha="center", va="center", fontsize=size, fontweight="bold", color="white",
            bbox={"boxstyle": "circle,pad=0.22", "facecolor": color, "edgecolor": color})


def status_colors(status: int):
    return (OK_FILL, OK_EDGE) if status < 500 else (KO_FILL, KO_EDGE)


def sidecar(ax, x, y, w, h, size, retries=True):
    """El sidecar Envoy de un pod, vertical; gris y con «attempts: 0» debajo si no reintenta."""
    box(ax, x, y, w, h, "Envoy", fill=SIDE_FILL if retries else OFF_FILL, edge=SIDE_EDGE if retries else MUTED,
        size=size)
    ax.texts[-1].set_rotation(90)
    if not retries:
        ax.text(x, y - h / 2 - 1.6, "attempts: 0", ha="center", va="center", fontsize=6.5, color=MUTED,
                fontweight="bold")


def scenario(path: Path, title: str, backend_status: int | list[int], app2_rounds: list[list[tuple[str, int]]],
             backend_pods: list[str], notes: list[str], no_retries: str | None = None,
             backend_header: str = "backend1 (3 pods)") -> None:
    """Árbol de una petición: curl → bff → intentos a backend1 → intentos a app2.

    app2_rounds[i] = las llamadas a app2 durante el intento i+1 a backend1: (pod, estado).
    backend_status: el estado de todos los intentos a backend1, o uno por intento.
    no_retries: el servicio cuyo sidecar no reintenta hacia el salto siguiente («bff», «backend1»).
    """
    statuses = backend_status if isinstance(backend_status, list) else [backend_status] * len(backend_pods)
    leaf_gap = 7.2 if max(len(r) for r in app2_rounds) > 1 else 12.5
    round_gap = 3.0
    leaves = sum(len(r) for r in app2_rounds)
    body = leaves * leaf_gap + (len(app2_rounds) - 1) * round_gap
    top_margin, bottom_margin = 15.0, 8.0 + 4.2 * len(notes)
    height = top_margin + body + bottom_margin
    fig, ax = new_figure(height)

    ax.text(50, height - 3.6, title, ha="center", va="center", fontsize=12.5, fontweight="bold", color=INK)
    columns = {"curl": 6.5, "bff": 23, "backend1": 52, "app2": 86}
    headers = {"curl": "cliente", "bff": "bff (1 pod)", "backend1": backend_header, "app2": "app2 (3 pods)"}
    for key, x in columns.items():
        ax.text(x, height - 9.2, headers[key], ha="center", va="center", fontsize=10, color=MUTED, fontweight="bold")

    # Posiciones verticales: cada hoja de app2 en su fila; cada backend1 centrado en su ronda.
    y = height - top_margin - leaf_gap / 2
    leaf_y: list[list[float]] = []
    for r in app2_rounds:
        ys = []
        for _ in r:
            ys.append(y)
            y -= leaf_gap
        leaf_y.append(ys)
        y -= round_gap
    backend_y = [sum(ys) / len(ys) for ys in leaf_y]
    mid = (backend_y[0] + backend_y[-1]) / 2

    # curl ⇄ bff
    box(ax, columns["curl"], mid, 10, 8, "curl", fill="#f0f4f8", edge=MUTED, weight="bold")
    box(ax, columns["bff"], mid, 15, 13, "bff\nresponde\n200", *status_colors(200), weight="bold")
    arrow(ax, (columns["curl"] + 5, mid + 1.6), (columns["bff"] - 7.5, mid + 1.6))
    arrow(ax, (columns["bff"] - 7.5, mid - 1.6), (columns["curl"] + 5, mid - 1.6), color=OK_EDGE)
    ax.text(columns["curl"], mid - 7, "200", ha="center", fontsize=9, color=OK_EDGE,
            fontweight="bold")

    # El sidecar de bff, que es quien reintenta hacia backend1.
    side_x = columns["bff"] + 7.5 + 3.2
    sidecar(ax, side_x, mid, 5.2, 13, 7.5, retries=no_retries != "bff")

    for i, (by, pod, status_b) in enumerate(zip(backend_y, backend_pods, statuses, strict=True)):
        b_fill, b_edge = status_colors(status_b)
        arrow(ax, (side_x + 2.6, mid), (columns["backend1"] - 11, by), color=SIDE_EDGE)
        bx = side_x + 2.6 + (columns["backend1"] - 11 - side_x - 2.6) * 0.55
        badge(ax, bx, mid + (by - mid) * 0.55, i + 1)
        box(ax, columns["backend1"], by, 22, 9, f"backend1 · {pod}\nresponde {status_b}", b_fill, b_edge)

        calls = app2_rounds[i]
        many = len(calls) > 1
        # El sidecar de este pod de backend1: también numera sus intentos hacia app2.
        sx = columns["backend1"] + 11 + 2.4
        sidecar(ax, sx, by, 4.2, 9, 6.5, retries=no_retries != "backend1")
        start_x = sx + 2.1
        for j, ((app_pod, status), ly) in enumerate(zip(calls, leaf_y[i], strict=True)):
            end_x = columns["app2"] - 10
            arrow(ax, (start_x, by), (end_x, ly), color=SIDE_EDGE)
            fraction = 0.62 if many else 0.45
            badge(ax, start_x + (end_x - start_x) * fraction, by + (ly - by) * fraction, j + 1, size=8.5)
            a_fill, a_edge = status_colors(status)
            label = f"app2 · {app_pod} · {status}" if many else f"app2 · {app_pod}\nresponde {status}"
            box(ax, columns["app2"], ly, 20, 5.6 if many else 9, label, a_fill, a_edge, size=9.5 if many else 10.5)

    for k, note in enumerate(notes):
        ax.text(2, bottom_margin - 4.5 - 4.2 * k, note, ha="left", va="center", fontsize=9.5, color=INK)
    save(fig, path)


def architecture(path: Path) -> None:
    height = 43.0
    fig, ax = new_figure(height)
    ax.text(50, height - 3.6, "La cadena del curso: cada pod lleva su sidecar de Istio (Envoy)",
            ha="center", va="center", fontsize=12, fontweight="bold", color=INK)
    ys = [height - 13, height - 22, height - 31]  # 30, 21, 12
    box(ax, 6.5, ys[1], 10, 8, "curl", fill="#f0f4f8", edge=MUTED, weight="bold")
    ax.text(6.5, ys[1] - 7, "NodePort\n30000", ha="center", va="center", fontsize=8.5, color=MUTED)

    def pod(x, y, name):
        box(ax, x - 3, y, 15, 7, name, size=10)
        box(ax, x + 7.5, y, 6, 7, "Envoy", fill=SIDE_FILL, edge=SIDE_EDGE, size=7)

    pod(26.5, ys[1], "bff")
    for y, letter in zip(ys, "ABC", strict=True):
        pod(57, y, f"backend1\npod {letter}")
    for y, letter in zip(ys, "XYZ", strict=True):
        pod(87, y, f"app2\npod {letter}")
    arrow(ax, (11.5, ys[1]), (16, ys[1]))
    for y in ys:
        arrow(ax, (37, ys[1]), (46.5, y), color=SIDE_EDGE)
        for target in ys:  # cualquier pod de backend1 puede llamar a cualquier pod de app2
            arrow(ax, (67.5, y), (76.5, target), color=SIDE_EDGE, width=0.9)
    ax.text(50, 3.2, "Las flechas naranjas salen de un sidecar: ahí viven los reintentos automáticos.",
            ha="center", va="center", fontsize=9.5, color=INK)
    save(fig, path)


def save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Sin «Software» ni fechas en los metadatos: el PNG depende solo de este archivo.
    fig.savefig(path, dpi=DPI, metadata={"Software": None}, pil_kwargs={"optimize": False})
    plt.close(fig)


NAMES = (
    "istioretry-arquitectura.png",
    "istioretry-scenario0-un-pod-falla.png",
    "istioretry-scenario1.png",
    "istioretry-scenario2.png",
    "istioretry-scenario3-primer-salto.png",
    "istioretry-scenario3-ultimo-salto.png",
)


def build(out: Path) -> list[Path]:
    paths = [out / name for name in NAMES]
    architecture(paths[0])
    scenario(
        paths[1],
        "Paso 1: uno de los cuatro pods de backend1 responde 503",
        backend_status=[503, 200],
        backend_pods=["v2", "pod B"],
        app2_rounds=[[("pod X", 200)], [("pod Y", 200)]],
        backend_header="backend1 (4 pods)",
        notes=[
            "El intento 1 cae en el pod de la versión v2, que responde 503. El sidecar de bff reintenta en",
            "otro pod (previous_hosts), que responde 200. curl recibe backend1_status 200: no ve el fallo.",
            "Total: bff 1 · backend1 2 · app2 2",
        ],
    )
    scenario(
        paths[2],
        "Paso 3: backend1 responde 503 aunque app2 responde 200",
        backend_status=503,
        backend_pods=["pod A", "pod B", "pod C"],
        app2_rounds=[[("pod X", 200)], [("pod Z", 200)], [("pod X", 200)]],
        notes=[
            "Números naranjas: intentos de cada sidecar (x-envoy-attempt-count). Tras el 3.º, el de",
            "bff se rinde (URX) y bff responde 200 con backend1_status 503. app2 va bien: 1 intento.",
            "Total: bff 1 · backend1 3 · app2 3",
        ],
    )
    scenario(
        paths[3],
        "Paso 4: app2 responde 503 y backend1 lo pasa tal cual",
        backend_status=503,
        backend_pods=["pod A", "pod B", "pod C"],
        app2_rounds=[
            [("pod X", 503), ("pod Y", 503), ("pod Z", 503)],
            [("pod Y", 503), ("pod X", 503), ("pod Z", 503)],
            [("pod Z", 503), ("pod Y", 503), ("pod X", 503)],
        ],
        notes=[
            "Números naranjas: intentos de cada sidecar. bff intenta 3 veces con backend1 y, en",
            "cada intento, el sidecar de backend1 intenta 3 veces con app2: 3 × 3 = 9.",
            "Total: bff 1 · backend1 3 · app2 9",
        ],
    )
    scenario(
        paths[4],
        "Paso 5: sin reintentos de bff a backend1",
        backend_status=503,
        backend_pods=["pod A"],
        app2_rounds=[[("pod X", 503), ("pod Y", 503), ("pod Z", 503)]],
        no_retries="bff",
        notes=[
            "Un VirtualService para backend1 con attempts: 0 lo aplica el sidecar de bff: un solo intento.",
            "El sidecar de backend1 sigue con la política de la malla: 3 intentos a app2.",
            "Total: bff 1 · backend1 1 · app2 3 (5 peticiones por un curl)",
        ],
    )
    scenario(
        paths[5],
        "Paso 6: sin reintentos de backend1 a app2",
        backend_status=503,
        backend_pods=["pod A", "pod B", "pod C"],
        app2_rounds=[[("pod X", 503)], [("pod Y", 503)], [("pod Z", 503)]],
        no_retries="backend1",
        notes=[
            "Un VirtualService para app2 con attempts: 0 lo aplican los sidecars de backend1: un intento",
            "cada uno. El de bff sigue con la política de la malla: 3 intentos a backend1.",
            "Total: bff 1 · backend1 3 · app2 3 (7 peticiones por un curl)",
        ],
    )
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="carpeta de salida (por defecto, assets/)")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
