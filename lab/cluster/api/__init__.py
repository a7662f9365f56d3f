"""The lab's Kubernetes API server: what the real kubectl (and any client) talks to."""
