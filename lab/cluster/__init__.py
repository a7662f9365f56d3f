"""The twin: a simulated cluster built from apps/k8s and apps/istio, with real uvicorn and Envoy processes.

Imports nothing above it (no lab.ctl, lab.course, lab.preview, lab.testing).
"""
