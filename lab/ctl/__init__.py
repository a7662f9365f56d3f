"""The learner's tools: the kubectl subset, istioctl, jsonpath and `lab shell`.

They reach the twin only through its state/client API (lab.cluster.state, lab.cluster.logs).
"""
