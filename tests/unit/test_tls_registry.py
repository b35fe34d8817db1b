import json

import pytest

from lab.errors import InputError
from lab.tls import ClientSpec, Outcome, ServerSpec, available, get, variant
from lab.tls.agents.common import decode_args, encode_args
from lab.tls.gnutls import priority
from lab.tls.interop import Cell, CellResult, expand, judge, render_markdown, unsupported
from lab.tls.openssl import client_argv, server_argv


def client(**kw):
    base = dict(address="127.0.0.1", port=4433, sni="localhost", ca="ca.pem")
    return ClientSpec(**{**base, **kw})


def server(**kw):
    return ServerSpec(**{**dict(port=4433, cert="c.pem", key="k.pem"), **kw})


def test_registry_lists_every_implementation_and_rejects_unknown():
    assert {"openssl", "gnutls", "python", "tlslite"} <= set(available())
    with pytest.raises(InputError, match="supported: openssl, gnutls, python, tlslite"):
        get("boringssl")


def test_unknown_variant_lists_supported():
    with pytest.raises(InputError, match="tls12-rsa"):
        variant("tls14")


@pytest.mark.parametrize("kw, message", [
    (dict(versions=()), "at least one"),
    (dict(versions=("1.4",)), "unknown TLS version"),
    (dict(versions=("1.1", "1.3")), "not contiguous"),
    (dict(port=0), "port"),
    (dict(connections=0), "connections"),
    (dict(cert="c.pem"), "both cert and key"),
    (dict(ca=None), "no CA bundle"),
    (dict(pin="not base64!"), "pin"),
])
def test_client_spec_validation(kw, message):
    with pytest.raises(InputError, match=message):
        client(**kw)


def test_resume_means_two_connections():
    assert client(resume=True).count == 2 and client(resume=True, connections=3).count == 3
    assert client().count == 1


@pytest.mark.parametrize("impl, spec, reason", [
    ("python", client(ciphers=("TLS_AES_128_GCM_SHA256",)), "cannot choose TLS 1.3 cipher suites"),
    ("python", client(groups=("x25519", "secp256r1")), "single group"),
    ("python", client(groups=("ffdhe2048",)), "cannot select ffdhe2048"),
    ("openssl", client(pin="A" * 43 + "="), "cannot pin"),
    ("gnutls", client(resume=True, connections=3), "exactly two connections"),
    ("tlslite", client(ciphers=("TLS_FOO",)), "unknown cipher suite 'TLS_FOO'; supported: TLS_AES_128_GCM_SHA256"),
    ("openssl", client(ciphers=("AES128-SHA",)), "unknown cipher suite 'AES128-SHA'"),  # IANA names only
])
def test_unsupported_client_options_raise_input_error(impl, spec, reason):
    with pytest.raises(InputError, match=reason):
        get(impl).check_client(spec)


def test_unsupported_server_option():
    with pytest.raises(InputError, match="session-ID cache"):
        get("python").check_server(server(resumption=False))
    get("python").check_server(server(resumption=False, versions=("1.3",)))


def test_supports_reports_reasons_per_variant():
    assert get("openssl").supports(variant("tls12-rsa"), "client") is None
    assert get("gnutls").supports(variant("tls13-resume"), "client") is None
    assert get("python").supports(variant("mtls"), "server") is None


def test_openssl_argv():
    argv = client_argv(client(versions=("1.2",), ciphers=("TLS_RSA_WITH_AES_128_GCM_SHA256",)), "m", "in", "out")
    assert argv[:3] == ["openssl", "s_client", "-connect"]
    for pair in (["-cipher", "AES128-GCM-SHA256"], ["-verify_hostname", "localhost"],
                 ["-max_protocol", "TLSv1.2"], ["-sess_in", "in"]):
        assert argv[argv.index(pair[0]):argv.index(pair[0]) + 2] == pair
    assert "-verify_return_error" in argv
    assert "-verify_return_error" not in client_argv(client(verify=False), "m", None, "o")
    assert "-verify_ip" in client_argv(client(sni=None), "m", None, "o")
    srv = server_argv(server(client_ca="ca.pem", tickets=False, groups=("x25519",)))
    assert {"-HTTP", "-no_ticket", "-verify_return_error"} <= set(srv)
    assert srv[srv.index("-groups") + 1] == "X25519"


def test_gnutls_priority_strings():
    assert priority(client()) == "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"
    assert priority(client(versions=("1.2",), ciphers=("TLS_RSA_WITH_AES_128_GCM_SHA256",),
                           groups=("secp256r1",))) == (
        "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD"
        ":-GROUP-ALL:+GROUP-SECP256R1")


def test_agent_arguments_round_trip_bytes():
    spec = client(data=b"\x00\xffbinary", resume=True)
    role, back, timeout = decode_args(encode_args("client", spec, 3.5))
    assert (role, back, timeout) == ("client", spec, 3.5)
    json.loads(encode_args("server", server(response=b"\x01"), 1))


def test_outcome_json_round_trip():
    o = Outcome(implementation="x", role="client", connected=True)
    o.set_received(b"abc")
    assert Outcome.from_json(json.loads(json.dumps(o.to_json()))) == o
    with pytest.raises(ValueError):
        Outcome.from_json({"implementation": "x", "role": "client", "colour": 1})


def test_expand_is_ordered_and_validates():
    cells = expand(["python", "openssl"], ["gnutls"], ["tls13", "tls12-rsa"])
    assert cells == [Cell("python", "gnutls", "tls13"), Cell("openssl", "gnutls", "tls13"),
                     Cell("python", "gnutls", "tls12-rsa"), Cell("openssl", "gnutls", "tls12-rsa")]
    with pytest.raises(InputError):
        expand(["python"], ["nope"], ["tls13"])
    assert unsupported(Cell("python", "python", "tls13")) is None


def _ok(index=0, **kw):
    o = Outcome(implementation="python", role="client", index=index, connected=True,
                version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", resumed=False, bytes_received=5)
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def test_judge():
    assert judge(variant("tls13"), [_ok()], None) == ("ok", "")
    assert judge(variant("tls12-rsa"), [_ok()], None)[0] == "fail"
    assert judge(variant("tls13-resume"), [_ok(), _ok(1)], None) == ("fail", "last connection was not resumed")
    assert judge(variant("tls13-resume"), [_ok(), _ok(1, resumed=True)], None) == ("ok", "")
    bad = _ok(connected=False, error_class="verify_failed", error_message="x")
    assert "verify_failed" in judge(variant("tls13"), [bad], None)[1]


def test_render_markdown():
    text = render_markdown([
        CellResult(Cell("python", "gnutls", "tls13"), "ok", "", [_ok()]),
        CellResult(Cell("gnutls", "gnutls", "tls13-resume"), "unsupported", "gnutls client: a|b"),
    ])
    lines = text.splitlines()
    assert lines[0].startswith("| variant | client | server | result")
    assert "| tls13 | python | gnutls | ok | TLSv1.3 | TLS_AES_128_GCM_SHA256 | no |  |" in lines
    assert "unsupported: gnutls client: a\\|b" in lines[3]


def test_scapy_is_a_client_only_and_says_so():
    scapy = get("scapy")
    assert scapy.supports(variant("tls13"), "server") == "scapy has no server role"
    assert "resumes only TLS 1.3" in scapy.supports(variant("tls12-resume"), "client")
    with pytest.raises(InputError, match="cannot act as a server"):
        scapy.check_server(server())
    with pytest.raises(InputError, match="exactly one version"):
        scapy.check_client(client())
