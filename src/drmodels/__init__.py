"""drmodels: a self-hostable store for AWS DeepRacer models."""
