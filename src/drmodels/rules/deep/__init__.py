"""Our checks beyond the spec: checkpoint tensors against the network, graphs, the car archive."""
