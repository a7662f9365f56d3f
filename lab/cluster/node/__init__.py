"""The twin's node: scheduler binding, kubelet (pods become processes), sidecar injection, and the
hooks the API server calls for `kubectl logs` and `kubectl exec`."""
