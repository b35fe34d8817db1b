"""`tlslab inspect`: per-connection timelines of a run directory or a capture,
with every TLS field the walkthrough names, decrypted where keys allow.

    target = open_target("runs/<run>")            # or a .pcap, with --keylog
    views = host_views(target, target.default_host())
    print(render_views(views, color=False))       # or to_json(views)
    compare_target(target, "client")              # the same connection at every host

Modules: target (what to read), timeline (one connection's rows), fields
(the walkthrough's fields per message), compare (across hosts), text and
jsonout (rendering), model (the dataclasses all of them share).
"""
