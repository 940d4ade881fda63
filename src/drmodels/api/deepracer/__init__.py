"""The DeepRacer service's AWS JSON 1.1 face (X-Amz-Target operations)."""
