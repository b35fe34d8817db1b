"""`intercept`: transparent TLS interception with a forged certificate
chosen by name (lab.mitm.config.FORGES); the proxy is lab.mitm.proxy."""
from __future__ import annotations

import os

from lab.errors import InputError
from lab.mitm.config import missing_inputs
from lab.mitm.eventlog import saw_plaintext
from lab.mitm.redirect import Redirecting


class Intercept(Redirecting):
    mode = "intercept"
    module = "lab.mitm.proxy"

    def _start(self) -> None:
        missing = missing_inputs(self.config)
        if missing:
            raise InputError(f"forge {self.config.forge!r} needs {', '.join(missing)} "
                             "(PEM paths of the CA it signs with)")
        os.makedirs(os.path.join(self.dir, "certs"))
        super()._start()

    def proxy_options(self) -> dict:
        c = self.config
        return {**super().proxy_options(), "forge": c.forge, "key": c.key,
                "ca_cert": c.ca_cert, "ca_key": c.ca_key,
                "trusted_ca_cert": c.trusted_ca_cert, "trusted_ca_key": c.trusted_ca_key,
                "certs": os.path.join(self.dir, "certs"),
                "keylog": os.path.join(self.dir, "proxy.keylog")}

    def _report(self) -> dict:
        out = super()._report()
        conns = out["connections"]
        out["proxy_keylog"] = self.proxy_options()["keylog"]  # decrypts the client's leg
        out["mitm_saw_plaintext"] = saw_plaintext(conns)
        out["certificates_presented"] = sorted({c["forged_sha256"] for c in conns
                                                if c.get("forged_sha256")})
        out["clients_accepted"] = sum(1 for c in conns if c.get("accepted") is True)
        out["clients_rejected"] = sum(1 for c in conns if c.get("accepted") is False)
        return out
