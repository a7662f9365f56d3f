"""backend1: el eslabón del medio. GET / llama a app2 y responde.

- Sin STATUS_CODE_APP, pasa tal cual el estado y el cuerpo de app2 (paso 4: app2 da 503 y
  backend1 lo propaga, así que reintentan los sidecars de backend1 y también el de bff).
- Con STATUS_CODE_APP (por ejemplo 503), llama igualmente a app2 pero responde ese estado
  (paso 3: app2 va bien, backend1 falla y reintenta solo el sidecar de bff; en el paso 1 solo
  la tiene el pod de backend1-v2).
"""

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from common import body_of, call, create_app, pod_name, status_code_from_env, upstream_url

APP2_URL = upstream_url("APP2_URL", "http://app2:8080")
STATUS_CODE_APP = status_code_from_env(default=None)  # None: no se fuerza ningún estado

app = create_app("backend1", timeout=5.0)


@app.get("/")
async def root(request: Request) -> Response:
    app2 = await call(request, APP2_URL)

    if STATUS_CODE_APP is None:
        # Pasamos la respuesta de app2 sin tocarla: mismo estado, mismo cuerpo.
        return Response(app2.content, app2.status_code, media_type=app2.headers.get("content-type"))

    # Respondemos el estado forzado, aunque app2 haya respondido bien.
    return JSONResponse(
        {
            "pod": pod_name(),
            "mensaje": f"backend1 responde {STATUS_CODE_APP} (STATUS_CODE_APP)",
            "app2_status": app2.status_code,
            "app2_body": body_of(app2),
        },
        status_code=STATUS_CODE_APP,
    )
