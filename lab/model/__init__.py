"""The parsed, validated description of a lab: frozen data, no I/O."""
