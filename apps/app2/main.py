"""app2: el final de la cadena. GET / responde STATUS_CODE_APP (200 si no se define).

En el paso 4 pondrás STATUS_CODE_APP=503 y verás cuántas veces llega a app2 una sola
petición del cliente: los reintentos de cada sidecar se multiplican.
"""

from fastapi.responses import JSONResponse

from common import create_app, pod_name, status_code_from_env

STATUS_CODE_APP = status_code_from_env(default=200)

app = create_app("app2")


@app.get("/")
async def root() -> JSONResponse:
    return JSONResponse(
        {"pod": pod_name(), "mensaje": f"app2 responde {STATUS_CODE_APP}"},
        status_code=STATUS_CODE_APP,
    )
