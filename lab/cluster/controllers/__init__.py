"""The twin's kube-controller-manager: Deployment → ReplicaSets → Pods, Services → EndpointSlices,
owners → garbage collection. Each module cites the upstream controller it follows."""
