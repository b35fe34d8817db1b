"""Scenarios: a topology, certificates, TLS servers and clients, steps on a
timeline, and expectations checked against what really happened."""
