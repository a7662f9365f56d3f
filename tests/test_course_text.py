"""El texto del curso frente a lo que define el repositorio (sin clúster ni laboratorio).

- Cada comando de un bloque {{exec}} usa solo el subconjunto de kubectl/istioctl que emula el
  laboratorio, y solo nombres que definen los manifiestos (deployments, etiquetas, contenedores,
  puerto NodePort), leídos de apps/k8s/*.yaml, nunca escritos aquí a mano.
- Cada imagen enlazada existe, es un PNG legible y tiene un texto alternativo con contenido.
- Los números que promete el texto: la marca `<!-- promesa: ... -->` de cada página es la única
  fuente (`lab play` la compara con Envoy de verdad, por request_id); aquí se comprueba que las
  salidas de ejemplo, los totales de traza y los umbrales de los verify.sh dicen lo mismo que ella.
- Las réplicas que nombra la prosa (p. ej. «backend1 (3 pods)») son las de los manifiestos.
"""

from __future__ import annotations

import json
import re
import shlex
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab.cluster.meshpolicy import convert_policy
from lab.course.model import Block, load_course

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("intro.md", *(f"step{n}/text.md" for n in range(1, 7)), "finish.md")

SERVICES = ("bff", "backend1", "app2")


# --------------------------------------------------------------------------- manifiestos


@dataclass(frozen=True)
class Manifests:
    deployments: dict[str, dict]  # nombre → Deployment
    services: dict[str, dict]  # nombre → Service

    def app_labels(self) -> set[str]:
        return {d["spec"]["template"]["metadata"]["labels"]["app"] for d in self.deployments.values()}

    def containers(self, deployment: str) -> set[str]:
        return {c["name"] for c in self.deployments[deployment]["spec"]["template"]["spec"]["containers"]}

    def deployment_for_label(self, app: str) -> str:
        (name,) = [n for n, d in self.deployments.items() if d["spec"]["template"]["metadata"]["labels"]["app"] == app]
        return name

    def node_ports(self) -> dict[int, str]:
        return {
            port["nodePort"]: name
            for name, svc in self.services.items()
            for port in svc["spec"]["ports"]
            if "nodePort" in port
        }


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    deployments: dict[str, dict] = {}
    services: dict[str, dict] = {}
    for path in sorted((ROOT / "apps" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc:
                continue
            if doc["kind"] == "Deployment":
                deployments[doc["metadata"]["name"]] = doc
            elif doc["kind"] == "Service":
                services[doc["metadata"]["name"]] = doc
    assert set(SERVICES) <= set(deployments), "los manifiestos deben definir bff, backend1 y app2"
    return Manifests(deployments, services)


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    course = load_course(ROOT)
    found = [block for page in course.pages for block in page.blocks]
    assert found, "el curso no tiene ningún bloque {{exec}}"
    return found


# --------------------------------------------------------------------------- comandos


HEREDOC = re.compile(r"<<-?\s*'?(?P<tag>[A-Za-z_]+)'?")


def split_commands(code: str) -> tuple[list[list[str]], list[str]]:
    """Los comandos simples de un bloque (tokens) y los cuerpos de sus here-documents."""
    commands: list[list[str]] = []
    heredocs: list[str] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        match = HEREDOC.search(line)
        if match:
            body = []
            while i < len(lines) and lines[i].strip() != match["tag"]:
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"here-document sin cerrar: {line!r}"
            i += 1
            heredocs.append("\n".join(body))
            line = line[: match.start()]
        # $(...) se analiza aparte, como un comando más (también dentro de comillas dobles).
        inner = re.findall(r"\$\(([^()]*)\)", line)
        line = re.sub(r"\$\(([^()]*)\)", "SUBST", line)
        for part in [*inner, line]:
            commands.extend(simple_commands(part))
    return commands, heredocs


def simple_commands(text: str) -> list[list[str]]:
    """Las órdenes de una línea de shell, partida por |, ;, && y || fuera de las comillas."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";|&")
    lexer.whitespace_split = True
    found, tokens = [], []
    for token in [*lexer, ";"]:
        if token and set(token) <= set(";|&"):
            while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
                tokens = tokens[1:]  # ID=... delante del comando
            if tokens:
                found.append(tokens)
            tokens = []
        else:
            tokens.append(token)
    return found


# Lo que el texto puede pedirle a istioctl (lab/ctl/istioctl.py: no hay istioctl real en el laboratorio);
# kubectl es el real, así que el texto puede pedirle cualquier cosa que exista en los manifiestos.
ISTIOCTL_FORMS = [r"proxy-config route deploy/\S+( --name \d+)?( -o json)?"]
OTHER_COMMANDS = {"echo", "sed", "grep", "sleep", "traza", "curl", "seq", "sort", "uniq", "cut", "jq"}


def course_deployments(blocks: list[Block]) -> dict[str, dict]:
    """Los Deployment que el propio texto aplica con `kubectl apply -f - <<'EOF'` (backend1-v2)."""
    found = {}
    for block in blocks:
        for body in split_commands(block.code)[1]:
            doc = yaml.safe_load(body)
            if doc.get("kind") == "Deployment":
                found[doc["metadata"]["name"]] = doc
    return found


def check_names(tokens: list[str], m: Manifests, extra: dict[str, dict] | None = None) -> None:
    """Los nombres de un comando kubectl existen en los manifiestos (o en un Deployment del texto)."""
    deployment = None
    known = {**m.deployments, **(extra or {})}
    for i, token in enumerate(tokens):
        found = re.fullmatch(r"(?:deployment|deploy)/(\S+)", token)
        if found:
            deployment = found[1]
            assert deployment in known, f"{shlex.join(tokens)}: no hay deployment {deployment!r}"
        if token == "-l":
            app = tokens[i + 1].removeprefix("app=")
            assert app in m.app_labels(), f"{shlex.join(tokens)}: ningún pod tiene la etiqueta app={app}"
            deployment = m.deployment_for_label(app)
        if token == "-c":
            assert deployment, f"{shlex.join(tokens)}: -c sin deployment"
            container = tokens[i + 1]
            containers = {c["name"] for c in known[deployment]["spec"]["template"]["spec"]["containers"]}
            assert container in containers | {"istio-proxy"}, (
                f"{shlex.join(tokens)}: {deployment} no tiene el contenedor {container!r}"
            )
    if tokens[1:3] == ["set", "env"]:
        name = re.split(r"[=-]$|=", tokens[4])[0]
        source = (ROOT / "apps" / deployment / "main.py").read_text(encoding="utf-8")
        assert name in source, f"{shlex.join(tokens)}: apps/{deployment}/main.py no lee {name}"


def test_every_exec_command_uses_manifest_names_and_istioctl_forms_the_lab_has(blocks, manifests):
    seen = set()
    extra = course_deployments(blocks)
    for block in blocks:
        assert block.action == "exec", f"{block.file}:{block.line}: acción inesperada {block.action}"
        commands, _ = split_commands(block.code)
        for tokens in commands:
            if tokens[0] in ("for", "done"):  # for i in $(seq 60); do … done: el cuerpo se mira igual
                continue
            tokens = tokens[1:] if tokens[0] == "do" else tokens
            if not tokens:
                continue
            where = f"{block.file.relative_to(ROOT)}:{block.line}: {shlex.join(tokens)}"
            program = tokens[0]
            seen.add(program)
            if program == "kubectl":
                check_names(tokens, manifests, extra)
            elif program == "istioctl":
                rest = " ".join(tokens[1:])
                assert any(re.fullmatch(form, rest) for form in ISTIOCTL_FORMS), f"{where}: fuera del subconjunto"
                check_names(tokens, manifests)
            else:
                assert program in OTHER_COMMANDS, f"{where}: comando inesperado"
    assert {"kubectl", "curl", "traza"} <= seen


def test_curl_targets_the_bff_node_port(blocks, manifests):
    ports = manifests.node_ports()
    bff_source = (ROOT / "apps" / "bff" / "main.py").read_text(encoding="utf-8")
    curls = [tokens for block in blocks for tokens in split_commands(block.code)[0] if tokens[0] == "curl"]
    assert curls
    for tokens in curls:
        assert tokens[:2] == ["curl", "-s"] and len(tokens) == 3, shlex.join(tokens)
        found = re.fullmatch(r"localhost:(\d+)(/\S*)", tokens[2])
        assert found, shlex.join(tokens)
        assert ports.get(int(found[1])) == "bff", f"{tokens[2]}: el NodePort de bff es {ports}"
        assert f'"{found[2]}"' in bff_source, f"bff no sirve {found[2]}"


def test_heredoc_virtualservices_are_valid_and_name_real_services(blocks, manifests):
    applied, deleted = [], []
    for block in blocks:
        for tokens, body in zip(
            [t for t in split_commands(block.code)[0] if t[:3] in (["kubectl", "apply", "-f"], ["kubectl", "delete", "-f"])],
            split_commands(block.code)[1], strict=True,
        ):
            doc = yaml.safe_load(body)
            if doc["kind"] != "Deployment":  # backend1-v2: test_the_bad_release_is_backend1_with_503
                (applied if tokens[1] == "apply" else deleted).append(doc)
    assert applied, "los pasos 5 y 6 aplican los VirtualService de sus dos opciones"
    for doc in applied + deleted:
        assert doc["apiVersion"] == "networking.istio.io/v1" and doc["kind"] == "VirtualService"
    for doc in applied:
        assert set(doc["spec"]["hosts"]) <= set(manifests.services)
        for http in doc["spec"]["http"]:
            for route in http["route"]:
                assert route["destination"]["host"] in manifests.services
            retries = http.get("retries", {})
            if retries.get("attempts") == 0:  # Istio rechaza attempts: 0 junto con retryOn/perTryTimeout
                assert set(retries) == {"attempts"}
    # Pasos 5 y 6: sin reintentos en el primer salto (host backend1) y luego en el último (host app2).
    assert [d["spec"]["hosts"] for d in applied] == [["backend1"], ["app2"]]
    assert all(h["retries"] == {"attempts": 0} for d in applied for h in d["spec"]["http"])
    # Para borrar basta con el tipo y el nombre: el YAML completo está una sola vez, en el apply.
    assert deleted and all(set(d) == {"apiVersion", "kind", "metadata"} for d in deleted)
    assert {d["metadata"]["name"] for d in deleted} <= {d["metadata"]["name"] for d in applied}


def test_the_bad_release_is_backend1_with_503(blocks, manifests):
    """backend1-v2 (paso 1) es backend1 con STATUS_CODE_APP=503: misma imagen, contenedor, puerto y
    sonda que apps/k8s, la etiqueta app que selecciona el Service backend1 y otra `version`, para que
    el ReplicaSet de backend1 no adopte su pod."""
    (name, v2), = course_deployments(blocks).items()
    v1 = manifests.deployments["backend1"]
    assert name == "backend1-v2" and v2["spec"]["replicas"] == 1
    (c1,), (c2,) = v1["spec"]["template"]["spec"]["containers"], v2["spec"]["template"]["spec"]["containers"]
    assert (c2["name"], c2["image"], c2["ports"]) == (c1["name"], c1["image"], c1["ports"])
    assert c2["readinessProbe"]["httpGet"] == c1["readinessProbe"]["httpGet"]
    assert c2["resources"] == c1["resources"]
    env = {e["name"]: e for e in c2["env"]}
    assert env["STATUS_CODE_APP"]["value"] == "503" and env["POD_NAME"] == {e["name"]: e for e in c1["env"]}["POD_NAME"]
    labels = v2["spec"]["template"]["metadata"]["labels"]
    assert labels == v2["spec"]["selector"]["matchLabels"] == v2["metadata"]["labels"]
    selector = manifests.services["backend1"]["spec"]["selector"]
    assert selector.items() <= labels.items(), "el Service backend1 debe seleccionar el pod de backend1-v2"
    assert not v1["spec"]["selector"]["matchLabels"].items() <= labels.items(), "v1 adoptaría el pod de v2"


def test_step_pages_use_wait_commands_prefix_and_full_tail(blocks):
    codes = {page: "\n".join(b.code for b in blocks if b.file == ROOT / page) for page in PAGES}
    assert "kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}'" in codes["step1/text.md"]
    assert "kubectl rollout status deployment/backend1-v2" in codes["step1/text.md"]
    assert "kubectl delete deployment backend1-v2" in codes["step2/text.md"]
    assert "kubectl exec deploy/bff -c istio-proxy -- pilot-agent request GET stats" in codes["step2/text.md"]
    assert "kubectl set env deployment/backend1 STATUS_CODE_APP=503" in codes["step3/text.md"]
    assert "kubectl set env deployment/backend1 STATUS_CODE_APP-" in codes["step4/text.md"]
    assert "kubectl set env deployment/app2 STATUS_CODE_APP=503" in codes["step4/text.md"]
    for page, apps in (("step2/text.md", ["backend1"]), ("step3/text.md", ["backend1", "app2"]),
                       ("step4/text.md", ["app2"])):
        for app in apps:
            assert f'kubectl logs -l app={app} --prefix --tail=-1 | grep "$ID"' in codes[page]
    for page in ("step3/text.md", "step4/text.md"):
        assert "kubectl rollout status deployment/backend1" in codes[page]
        # El request_id sale de la respuesta de bff, no del registro (un bff viejo podría seguir ahí).
        assert """ID=$(echo "$RESPUESTA" | grep -o '"request_id":"[^"]*' | cut -d'"' -f4)""" in codes[page]
    assert 'kubectl logs deploy/bff -c istio-proxy | grep "$ID"' in codes["step3/text.md"]


def test_the_istio_facts_are_stated_where_they_are_used():
    operator = yaml.safe_load((ROOT / "apps/istio/istio-operator.yaml").read_text(encoding="utf-8"))
    mesh = operator["spec"]["meshConfig"]
    step1 = (ROOT / "step1/text.md").read_text(encoding="utf-8")
    assert "Istio 1.24" in step1 and "/root/curso/apps/istio/istio-operator.yaml" in step1
    # La política y los contadores que el texto enseña son los del archivo que instala Istio.
    policy = mesh["defaultHttpRetryPolicy"]
    assert f"attempts: {policy['attempts']}" in step1 and f"retryOn: {policy['retryOn']}" in step1
    assert "503" in policy["retryOn"].split(",")
    for suffix in mesh["defaultConfig"]["proxyStatsMatcher"]["inclusionSuffixes"]:
        assert f"    - {suffix}\n" in step1
        assert f".{suffix}: …" in (ROOT / "step2/text.md").read_text(encoding="utf-8")
    step3 = (ROOT / "step3/text.md").read_text(encoding="utf-8")
    assert "previous_hosts" in step3 and "9 de cada" in step3 and "URX" in step3
    assert "reset-before-request" in (ROOT / "intro.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- imágenes


IMAGE_MD = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)")
IMAGE_HTML = re.compile(r"<img\b[^>]*\bsrc=\"(?P<src>[^\"]+)\"[^>]*>")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} no es un PNG"
    return struct.unpack(">II", data[16:24])


def test_every_image_link_resolves_and_has_meaningful_alt_text():
    found = 0
    for page in PAGES:
        path = ROOT / page
        text = path.read_text(encoding="utf-8")
        assert not IMAGE_HTML.search(text) or all(
            (path.parent / m["src"]).is_file() for m in IMAGE_HTML.finditer(text)
        )
        for match in IMAGE_MD.finditer(text):
            found += 1
            target = (path.parent / match["src"]).resolve()
            assert target.is_file(), f"{page}: no existe {match['src']}"
            assert target.parent == ROOT / "assets", f"{page}: las imágenes viven en assets/"
            width, height = png_size(target)
            assert 1000 <= width <= 1600 and height <= 2000, f"{target.name}: {width}×{height}"
            alt = match["alt"]
            assert len(alt) >= 60 and target.stem not in alt, f"{page}: texto alternativo pobre: {alt!r}"
    assert found >= 3
    for page, name in (("step1/text.md", "istioretry-scenario0-un-pod-falla.png"),
                       ("step3/text.md", "istioretry-scenario1.png"), ("step4/text.md", "istioretry-scenario2.png"),
                       ("step5/text.md", "istioretry-scenario3-primer-salto.png"),
                       ("step6/text.md", "istioretry-scenario3-ultimo-salto.png")):
        assert f"../assets/{name}" in (ROOT / page).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- números


PROMISE = re.compile(r"<!-- promesa: bff=(\d+) backend1=(\d+) app2=(\d+) -->")
TOTAL = re.compile(r"Total: bff (\d+) · backend1 (\d+) · app2 (\d+)")
LOGLINE = re.compile(r"pod=(bff|backend1|app2)-\S+ path=\S+ status=\d{3} attempt=\S+ request_id=(\S+)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```(\{\{exec\}\})?$", re.S | re.M)


def counts(values) -> dict[str, int]:
    return dict(zip(SERVICES, map(int, values), strict=True))


def promises(page: str) -> list[dict[str, int]]:
    """Las marcas de promesa de una página, en orden: la única fuente de sus números (lab play las
    comprueba; cada una cuenta las peticiones desde la anterior)."""
    found = [counts(m.groups()) for m in PROMISE.finditer((ROOT / page).read_text(encoding="utf-8"))]
    assert found, f"{page}: se espera al menos una marca <!-- promesa: bff=… backend1=… app2=… -->"
    return found


def promise(page: str) -> dict[str, int]:
    """La marca de una página que promete una sola cosa."""
    found = promises(page)
    assert len(found) == 1, f"{page}: se espera una sola marca de promesa: {found}"
    return found[0]


def next_promise(page: str, offset: int) -> dict[str, int]:
    """La marca que sigue a la posición `offset` del texto: la que cubre lo que hay antes de ella."""
    text = (ROOT / page).read_text(encoding="utf-8")
    following = [counts(m.groups()) for m in PROMISE.finditer(text) if m.start() > offset]
    assert following, f"{page}: nada promete lo que hay en la posición {offset}"
    return following[0]


# Las páginas con marcas «cada petición» (bff=… backend1=… app2=…); el paso 1 usa las de «alguna» y
# «final» (test_step1_promises_some_retried_request_and_every_answer_a_success).
PROMISING = ("step3/text.md", "step4/text.md", "step5/text.md", "step6/text.md")
SOME = re.compile(r"<!-- promesa: alguna bff=(\d+) backend1=(\d+) app2=(\d+) -->")
ANY_PROMISE = re.compile(r"<!-- promesa:")


def test_pages_with_curl_promise_and_the_others_do_not():
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        has_curl = "curl -s localhost" in "\n".join(m[2] for m in FENCE.finditer(text) if m[3])
        assert (page in (*PROMISING, "step1/text.md")) == has_curl, page
        assert bool(ANY_PROMISE.search(text)) == has_curl, f"{page}: curl sin marca de promesa, o marca sin curl"


def test_step1_promises_some_retried_request_and_every_answer_a_success():
    """El paso 1 promete, de sus peticiones, que todas acaban con el 200 de backend1 y que alguna dejó
    bff 1 · backend1 2 · app2 2 (503 en backend1-v2, 200 en otro pod); el paso 2 enseña esa petición
    con traza, y la salida esperada del lote dice cuántas peticiones hace el bucle, todas con 200."""
    text = (ROOT / "step1/text.md").read_text(encoding="utf-8")
    assert "<!-- promesa: final backend1=200 -->" in text
    (some,) = [counts(m.groups()) for m in SOME.finditer(text)]
    assert some == {"bff": 1, "backend1": 2, "app2": 2}
    assert not PROMISE.search(text)
    batch = int(re.search(r"for i in \$\(seq (\d+)\)", text)[1])
    assert (3 / 4) ** batch < 1e-6  # ninguna petición cae en el pod malo: ver el comentario del texto
    assert re.search(rf'^\s+{batch} "backend1_status":200$', text, re.M)
    # El tamaño del lote sale en la prosa de los pasos 1 y 2 y del final: el mismo número.
    for page in ("step1/text.md", "step2/text.md", "finish.md"):
        found = re.findall(r"\b(\d+) (?:peticiones|respuestas)\b|\bde (\d+)\b", (ROOT / page).read_text(encoding="utf-8"))
        said = {int(number) for pair in found for number in pair if number}
        assert batch in said, f"{page}: no nombra el lote de {batch} peticiones"
    totals = [counts(m.groups()) for m in TOTAL.finditer((ROOT / "step2/text.md").read_text(encoding="utf-8"))]
    assert totals == [some]


@pytest.mark.parametrize("page", PROMISING)
def test_traza_totals_match_the_promise(page):
    """Cada «Total:» de una salida de traza dice lo mismo que la marca que lo sigue, y cada marca
    tiene su árbol de traza delante."""
    text = (ROOT / page).read_text(encoding="utf-8")
    totals = [(counts(m.groups()), next_promise(page, m.start())) for m in TOTAL.finditer(text)]
    assert totals and all(total == wanted for total, wanted in totals), f"{page}: totales de traza {totals}"
    assert [wanted for _, wanted in totals] == promises(page), f"{page}: una marca sin su árbol de traza"


@pytest.mark.parametrize(("page", "wanted"), [("step2/text.md", {"backend1": 2}),
                                             ("step3/text.md", {"backend1": 3, "app2": 3}),
                                             ("step4/text.md", {"app2": 9})])
def test_example_outputs_show_the_promised_counts(page, wanted):
    """La salida de ejemplo de `kubectl logs -l app=X --prefix --tail=-1 | grep "$ID"` tiene tantas
    líneas de X, todas del mismo request_id de ejemplo, como promete la marca de la página (la del
    paso 1 para el paso 2)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    promised = {**promise(page)} if page in PROMISING else counts(SOME.search(
        (ROOT / "step1/text.md").read_text(encoding="utf-8")).groups())
    assert wanted.items() <= promised.items()
    fences = [(m[1], m[2], bool(m[3])) for m in FENCE.finditer(text)]
    found = {}
    for (_info, code, is_exec), following in zip(fences, fences[1:], strict=False):
        apps = re.findall(r'^kubectl logs -l app=(\w+) --prefix --tail=-1 \| grep "\$ID"$', code, re.M)
        if is_exec and apps and following[0] == "text":
            lines = list(LOGLINE.finditer(following[1]))
            assert len({m[2] for m in lines}) == 1, f"{page}: un solo request_id en el ejemplo"
            for app in apps:
                found[app] = sum(m[1] == app for m in lines)
    assert found == wanted, f"{page}: {found}"


@pytest.mark.parametrize(("step", "pages"), [("step3", ["step3"]), ("step4", ["step4"]), ("step5", ["step5"]),
                                           ("step6", ["step5", "step6"])])
def test_verify_thresholds_match_the_promise(step, pages):
    """El verify.sh busca en `traza --recuento` una petición con las cuentas de cada marca, en orden
    (el del paso 6 también la del paso 5: comprueba las dos opciones)."""
    script = (ROOT / step / "verify.sh").read_text(encoding="utf-8")
    wanted = re.findall(r" bff=(\d+) backend1=(\d+) app2=(\d+) estados_bff=200 "
                        r"estados_backend1=((?:\d{3},?)+) estados_app2=((?:\d{3},?)+)\$", script)
    assert wanted, f"{step}/verify.sh: patrón de traza --recuento no encontrado"
    assert [counts(w[:3]) for w in wanted] == [p for page in pages for p in promises(f"{page}/text.md")]
    for _, backend1, app2, states1, states2 in wanted:
        assert len(states1.split(",")) == int(backend1) and len(states2.split(",")) == int(app2)


def test_prose_replica_counts_are_the_manifests():
    """«backend1 (3 pods)» en la prosa son las réplicas de apps/k8s/*.yaml; el total de pods no se
    escribe (ni en las páginas ni en foreground.sh): «todos los pods», «cada pod»."""
    replicas = {}
    for path in sorted((ROOT / "apps" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc["kind"] == "Deployment":
                replicas[doc["metadata"]["name"]] = doc["spec"]["replicas"]
    total = sum(replicas.values())
    spelled = {5: "cinco", 6: "seis", 7: "siete", 8: "ocho", 9: "nueve"}.get(total, str(total))
    whole = re.compile(rf"\b({total}|{spelled}) (pods|sidecars|réplicas)\b", re.I)
    found = 0
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for name, n in re.findall(r"\b(bff|backend1|app2)`? \((\d+) pods?", text):
            found += 1
            assert int(n) == replicas[name], f"{page}: «{name} ({n} pods)», pero tiene {replicas[name]} réplicas"
        for number, line in prose(page):
            assert not whole.search(line), f"{page}:{number}: di «todos los pods»: {line}"
    for number, line in enumerate((ROOT / "foreground.sh").read_text(encoding="utf-8").splitlines(), 1):
        assert not whole.search(line), f"foreground.sh:{number}: di «todos los pods»: {line}"
    assert found >= 5


def test_spanish_questions_are_opened():
    """Cada «?» de la prosa tiene su «¿» (las URL y el código no cuentan)."""
    for page in PAGES:
        for number, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), 1):
            prose = re.sub(r"`[^`]*`|\([^)]*https?://[^)]*\)|https?://\S+", "", line)
            if "pod=" in prose or prose.startswith(("[", "{", "kubectl", "ID=")):
                continue
            assert prose.count("?") <= prose.count("¿"), f"{page}:{number}: falta «¿»: {line}"


# --------------------------------------------------------------------------- redacción


def prose(page: str) -> list[tuple[int, str]]:
    """Las líneas de prosa de una página: sin bloques de código ni código en línea ni enlaces."""
    out, fenced = [], False
    for number, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, re.sub(r"`[^`]*`|\]\([^)]*\)", "", line)))
    return out


# Un término por concepto (decisión editorial): «petición» (no «solicitud»), «fallo» (no «bug»),
# «entorno» (no «sandbox»); voz de tú, sin voseo.
AVOID = {
    r"\bsolicitud(es)?\b": "petición",
    r"\bbugs?\b": "fallo",
    r"\bsandbox\b": "entorno",
    r"\bendpoints?\b": "la ruta (p. ej. /toapp)",
    r"\b(fijate|pulsá|mirá|probá|podés|tenés|querés|sabés)\b": "tú (fíjate, pulsa, mira...)",
}


@pytest.mark.parametrize("page", PAGES)
def test_one_term_per_concept_and_tu(page):
    for number, line in prose(page):
        for pattern, better in AVOID.items():
            found = re.search(pattern, line, re.I)
            assert not found, f"{page}:{number}: «{found[0]}»: usa {better}"


@pytest.mark.parametrize("page", [f"step{n}/text.md" for n in range(1, 7)])
def test_every_expected_output_is_announced_and_not_executable(page):
    """Tras cada bloque {{exec}} que imprime algo viene «Salida esperada…» y un bloque ```text
    (sin {{exec}}: Killercoda no debe ofrecer ejecutarlo)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    for fence, following in zip(fences, fences[1:], strict=False):
        if fence[1] == "text":
            assert not fence[3], f"{page}: una salida esperada no puede ser {{{{exec}}}}"
            between = text[text.rfind("\n\n", 0, fence.start() - 1): fence.start()]
            assert "Salida esperada" in between, f"{page}: salida sin anunciar: {fence[2][:60]!r}"
        if fence[3]:
            assert following[1] == "text", f"{page}: tras {fence[2].splitlines()[0]!r} falta la salida esperada"
    assert fences and fences[-1][1] == "text"


def test_rollout_status_outputs_have_kubectl_shapes():
    """Las líneas de `kubectl rollout status` del texto son las que escribe kubectl de verdad."""
    shapes = [
        r'Waiting for deployment "[\w-]+" rollout to finish: \d+ out of \d+ new replicas have been updated\.\.\.',
        r'Waiting for deployment "[\w-]+" rollout to finish: \d+ old replicas are pending termination\.\.\.',
        r'Waiting for deployment "[\w-]+" rollout to finish: \d+ of \d+ updated replicas are available\.\.\.',
        r'deployment "[\w-]+" successfully rolled out',
    ]
    for page in ("step1/text.md", "step3/text.md", "step4/text.md"):
        lines = [line for line in (ROOT / page).read_text(encoding="utf-8").splitlines()
                 if line.startswith(("Waiting for deployment", "deployment \""))]
        assert lines, page
        for line in lines:
            assert any(re.fullmatch(s, line) for s in shapes), f"{page}: {line!r}"


POD_NAME = re.compile(r"\b(?:bff|backend1(?:-v2)?|app2)-(?P<hash>[0-9a-z]{10})-(?P<suffix>[0-9a-z]{5})\b")


def test_example_pod_names_look_like_kubernetes_ones():
    """Kubernetes arma los nombres con un alfabeto sin vocales ni 0, 1, 3 (SafeEncodeString)."""
    alphabet = set("bcdfghjklmnpqrstvwxz2456789")
    for page in PAGES:
        for match in POD_NAME.finditer((ROOT / page).read_text(encoding="utf-8")):
            bad = set(match["hash"] + match["suffix"]) - alphabet
            assert not bad, f"{page}: {match[0]} tiene {sorted(bad)}, que Kubernetes nunca usa"


def test_links_to_istio_use_the_latest_docs():
    links = re.findall(r"\]\((https?://[^)\s]+)\)", "\n".join((ROOT / p).read_text(encoding="utf-8") for p in PAGES))
    istio = [link for link in links if "istio.io" in link]
    assert len(istio) >= 5
    for link in istio:
        assert re.match(r"https://istio\.io/latest/(docs|news)/", link), link


# --------------------------------------------------------------------------- pasos 5 y 6, y final


TABLE_ROW = re.compile(r"^\| (?P<who>[^|]+) \| (\d+) \| (\d+) \| (\d+) \| (?P<total>\d+) \|$", re.M)


def test_step6_comparison_table_is_the_promises_of_steps_4_to_6():
    """La tabla «Comparemos» repite las cuentas de las marcas (pasos 4, 5 y 6), en ese orden, y su
    última columna es la suma de la fila."""
    text = (ROOT / "step6/text.md").read_text(encoding="utf-8")
    rows = [(counts(m.groups()[1:4]), int(m["total"])) for m in TABLE_ROW.finditer(text)]
    assert [row for row, _ in rows] == [promise(f"step{n}/text.md") for n in (4, 5, 6)]
    assert all(total == sum(row.values()) for row, total in rows), rows


def test_finish_summary_repeats_the_promises_of_every_step():
    """«Lo que has visto» nombra las cuentas de cada marca, en el orden de los pasos (la de «alguna»
    del paso 1 primero); el final no tiene bloques ejecutables ni promete nada."""
    text = (ROOT / "finish.md").read_text(encoding="utf-8")
    summary = text[text.index("## Lo que has visto"):text.index("## Qué hacer")]
    named = [counts(m.groups()) for m in re.finditer(r"bff (\d+) · backend1 (\d+) · \**app2 (\d+)", summary)]
    some = counts(SOME.search((ROOT / "step1/text.md").read_text(encoding="utf-8")).groups())
    assert named == [some, *(p for page in PROMISING for p in promises(page))]
    assert "{{exec" not in text and not ANY_PROMISE.search(text)


JQ_POLICY = re.compile(r"""^istioctl proxy-config route deploy/(?P<caller>\w+) --name 8080 -o json \| jq """
                       r"""'.*startswith\("(?P<host>\w+)\."\).*\.retryPolicy'$""", re.M)


def test_route_outputs_are_istios_conversion_and_follow_the_virtualservices(manifests):
    """Cada salida esperada de `istioctl proxy-config route … | jq …retryPolicy` es la retryPolicy
    que istiod programa (lab/cluster/meshpolicy.convert_policy, con los datos de Istio) para la política
    de la malla, o `null` si en ese punto del texto hay un VirtualService con `attempts: 0` para ese
    host (siguiendo sus apply/delete de los pasos 5 y 6)."""
    operator = yaml.safe_load((ROOT / "apps/istio/istio-operator.yaml").read_text(encoding="utf-8"))
    policy = convert_policy(operator["spec"]["meshConfig"]["defaultHttpRetryPolicy"])
    without_retries: set[str] = set()
    seen = []
    for page in ("step5/text.md", "step6/text.md"):
        fences = list(FENCE.finditer((ROOT / page).read_text(encoding="utf-8")))
        for fence, following in zip(fences, fences[1:], strict=False):
            if not fence[3]:
                continue
            commands, bodies = split_commands(fence[2])
            edits = [t for t in commands if t[:3] in (["kubectl", "apply", "-f"], ["kubectl", "delete", "-f"])]
            for tokens, body in zip(edits, bodies, strict=True):
                name = yaml.safe_load(body)["metadata"]["name"]
                (without_retries.add if tokens[1] == "apply" else without_retries.discard)(name)
            for match in JQ_POLICY.finditer(fence[2]):
                assert match["host"] in manifests.services
                shown = json.loads(following[2])
                assert shown == (None if match["host"] in without_retries else policy), f"{page}: {match[0]}"
                seen.append((match["caller"], match["host"], shown is None))
    assert seen == [("bff", "backend1", False), ("bff", "backend1", True), ("backend1", "app2", True)]
