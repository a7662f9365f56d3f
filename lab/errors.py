"""El único tipo de error que la orden `lab` convierte en un mensaje claro (y código de salida 1)."""


class LabError(Exception):
    """Un error explicable al usuario: su texto (en castellano) es todo lo que se muestra."""
