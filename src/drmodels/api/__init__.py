"""The API entrypoint: the DeepRacer service's JSON 1.1 face, the DeepRacer-on-AWS style REST face,
download links and health, over the same service and accounts."""
