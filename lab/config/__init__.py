"""Strict loading of tlslab's YAML files into located nodes."""
