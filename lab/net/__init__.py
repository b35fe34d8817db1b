"""The lab engine: the only package that touches namespaces, links and Mininet."""
