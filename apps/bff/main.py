"""bff: la puerta de entrada de la cadena  curl → bff → backend1 → app2.

GET /toapp llama a backend1 y responde SIEMPRE 200 si backend1 contestó algo, aunque fuera un
error: el cuerpo enseña qué pasó detrás. Así ves, con un solo curl, que los reintentos del
sidecar de bff pueden «arreglar» un 503 de backend1 sin que el cliente se entere.
"""

from fastapi import Request

from common import body_of, call, create_app, request_id, upstream_url

BACKEND1_URL = upstream_url("BACKEND1_URL", "http://backend1:8080")

# bff espera más que backend1 (5 s): si app2 se cuelga, es backend1 quien corta primero
# y bff puede contarte que backend1 respondió 504.
app = create_app("bff", timeout=10.0)


@app.get("/toapp")
async def toapp(request: Request) -> dict[str, object]:
    # Si backend1 no responde, call() ya contesta por nosotros: 502 (sin conexión) o 504 (tiempo).
    backend1 = await call(request, BACKEND1_URL)
    return {
        "request_id": request_id(request),  # el mismo id aparece en los registros de todos los pods
        "backend1_status": backend1.status_code,
        "backend1_body": body_of(backend1),
    }
