"""El curso «Reintentos en Istio» en una sola máquina: sidecars Envoy reales y un kubectl reducido.

Módulos (uno por concepto; los datos fluyen en un solo sentido):
archivos → modelo (topology, meshpolicy) → configuración (envoyconfig, appcmd) → procesos
(procs, pods, rollout, supervisor) → lo que ve quien aprende (kubectl, istioctl, logs, shell).
"""
