"""What a MITM attack should do, as frozen data; strict parsing from a mapping.

Which keys each mode accepts is data (KEYS), so an unknown or misplaced key
fails with the list of the ones that mode takes. Paths to PKI material that a
forging variant needs are checked when the attack starts (see forge_needs),
so `tlslab validate` can parse a scenario before any certificate exists.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from lab.errors import InputError
from lab.pki.keys import parse_key_spec
from lab.tls.names import suite

MODES = ("passive", "arp-spoof", "intercept", "downgrade", "in-path")

# What the intercepting proxy presents to the client; all but replay-real-cert
# are lab.pki variants. replay-real-cert: the genuine chain with a key that is not its own.
FORGES = ("clone-untrusted-ca", "self-signed", "wrong-host", "expired", "replay-real-cert",
          "trusted-ca")
_NEEDS = {"wrong-host": ("ca_cert", "ca_key"), "expired": ("ca_cert", "ca_key"),
          "trusted-ca": ("trusted_ca_cert", "trusted_ca_key")}

_ARP = frozenset({"victims", "interval", "restore"})
_REDIRECT = _ARP | {"spoof", "port", "proxy_port"}
KEYS: Mapping[str, frozenset[str]] = {
    "passive": frozenset({"interfaces", "search"}),
    "in-path": frozenset({"interfaces", "search"}),
    "arp-spoof": _ARP,
    "intercept": _REDIRECT | {"forge", "ca_cert", "ca_key", "trusted_ca_cert", "trusted_ca_key",
                              "key"},
    "downgrade": _REDIRECT | {"max_version", "ciphers"},
}
MAX_VERSIONS = ("1.0", "1.1", "1.2")


@dataclass(frozen=True)
class MitmConfig:
    mode: str
    victims: tuple[str, ...] = ()    # lab host names or their addresses
    spoof: bool = True               # intercept/downgrade: reach victims by ARP spoofing
    interval: float = 0.5            # seconds between poisoning rounds
    restore: int = 5                 # correct ARP rounds sent on stop
    port: int = 443                  # TCP port to intercept
    proxy_port: int = 10443          # where the redirect delivers it on the mitm
    forge: str = "clone-untrusted-ca"
    ca_cert: str | None = None       # the run's issuing CA (wrong-host, expired)
    ca_key: str | None = None
    trusted_ca_cert: str | None = None  # attacker CA the client trusts (trusted-ca)
    trusted_ca_key: str | None = None
    key: str = "rsa2048"             # key type of forged leaves
    max_version: str = "1.2"         # downgrade: highest version left in the ClientHello
    ciphers: tuple[str, ...] = ()    # downgrade: keep only these offered suites (IANA)
    interfaces: tuple[str, ...] = ()  # passive/in-path: mitm interfaces to tap (default all)
    search: tuple[str, ...] = ()     # passive/in-path: plaintext to look for on the wire

    def __post_init__(self):
        if self.mode not in MODES:
            raise InputError(f"unknown mitm mode {self.mode!r}; supported: {', '.join(MODES)}")
        for name in ("victims", "ciphers", "interfaces", "search"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _check(self)


def parse_config(mode: str, data: Mapping[str, Any] | None) -> MitmConfig:
    """A MitmConfig from YAML-shaped data; unknown keys are errors."""
    if mode not in MODES:
        raise InputError(f"unknown mitm mode {mode!r}; supported: {', '.join(MODES)}")
    data = dict(data or {})
    unknown = sorted(set(data) - KEYS[mode])
    if unknown:
        allowed = ", ".join(sorted(KEYS[mode])) or "none"
        raise InputError(f"mitm mode {mode!r} does not take {', '.join(unknown)}; it takes: {allowed}")
    for name in ("victims", "ciphers", "interfaces", "search"):
        if name in data:
            data[name] = _strings(name, data[name])
    return MitmConfig(mode=mode, **data)


def forge_needs(forge: str) -> tuple[str, ...]:
    """Config keys (PEM paths) the forging variant needs filled in."""
    return _NEEDS.get(forge, ())


def missing_inputs(config: MitmConfig) -> list[str]:
    if config.mode != "intercept":
        return []
    return [k for k in forge_needs(config.forge) if not getattr(config, k)]


def to_json(config: MitmConfig) -> dict:
    return {f.name: getattr(config, f.name) for f in fields(config)}


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) \
            or not all(isinstance(v, str) for v in value):
        raise InputError(f"mitm {name} must be a list of strings, got {value!r}")
    return tuple(value)


def _check(c: MitmConfig) -> None:
    for name, lo, hi in (("port", 1, 65535), ("proxy_port", 1, 65535), ("restore", 1, 50)):
        value = getattr(c, name)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise InputError(f"mitm {name} must be an integer {lo}..{hi}, got {value!r}")
    if not isinstance(c.interval, (int, float)) or isinstance(c.interval, bool) \
            or not 0.05 <= c.interval <= 10:
        raise InputError(f"mitm interval must be 0.05..10 seconds, got {c.interval!r}")
    if not isinstance(c.spoof, bool):
        raise InputError(f"mitm spoof must be true or false, got {c.spoof!r}")
    if c.forge not in FORGES:
        raise InputError(f"unknown forge {c.forge!r}; supported: {', '.join(FORGES)}")
    if not isinstance(c.key, str):
        raise InputError(f"mitm key must be a key type name, got {c.key!r}")
    parse_key_spec(c.key)
    if c.max_version not in MAX_VERSIONS:
        raise InputError(f"mitm max_version must be one of {', '.join(MAX_VERSIONS)}, "
                         f"got {c.max_version!r}")
    for name in c.ciphers:
        if suite(name) is None or suite(name).iana != name:
            raise InputError(f"unknown cipher suite {name!r} (use IANA names)")
    if c.port == c.proxy_port and c.mode in ("intercept", "downgrade"):
        raise InputError("mitm proxy_port must differ from port")
    if len(set(c.victims)) != len(c.victims):
        raise InputError(f"mitm victims repeat a name: {list(c.victims)}")
    least = 2 if c.mode == "arp-spoof" or (c.mode in ("intercept", "downgrade") and c.spoof) else 1
    if c.mode in ("arp-spoof", "intercept", "downgrade") and len(c.victims) < least:
        why = "ARP spoofing poisons pairs of hosts" if least == 2 else "it needs a server to intercept"
        raise InputError(f"mitm mode {c.mode!r} needs at least {least} victims ({why})")
