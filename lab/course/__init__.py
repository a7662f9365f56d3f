"""Course tools: the course model (pages, blocks, promises), the player, the checker and the bundle.

They act on a target through the learner's tools, never on the twin's processes.
"""
