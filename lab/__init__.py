"""tlslab: multi-host TLS scenarios on real virtual networks."""

__version__ = "0.1.0"
