"""Los errores que la orden `lab` convierte en un mensaje claro (y código de salida 1)."""

from __future__ import annotations

from typing import Any


class LabError(Exception):
    """Un error explicable al usuario: su texto (en castellano) es todo lo que se muestra."""


class StatusError(LabError):
    """La respuesta de error del servidor de API (un `metav1.Status`): código, `reason`, mensaje y
    detalles. El clúster la da tal cual; kubectl la escribe con su forma (lab/ctl/kubectl.py)."""

    def __init__(self, message: str, code: int, reason: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status: dict[str, Any] = {"message": message, "code": code, "reason": reason, "details": details}

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> StatusError:
        return cls(status["message"], status["code"], status.get("reason", ""), status.get("details"))
