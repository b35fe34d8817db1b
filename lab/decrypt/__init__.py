"""Decrypting captured TLS: key logs, the TLS 1.2 PRF and TLS 1.3 key
schedule, AEAD records, and RSA key exchange opened with the server's key.

Pure functions over bytes and lab.analysis connections; nothing here reads
the network.

    keylog = load_keylog("run/keys/all.keylog")
    opened = open_connection(conn, keylog, load_server_keys(run_key_files("run")))
    opened.app_data(from_client=True)   # what the client sent, decrypted
"""
from lab.decrypt.keylog import KeyLog, load_keylog, parse_keylog
from lab.decrypt.rsa_kx import RsaCheck, ServerKey, load_server_keys, run_key_files
from lab.decrypt.model import Decryption, HandshakeMessage, RecordView
from lab.decrypt.session import open_connection

__all__ = ["Decryption", "HandshakeMessage", "KeyLog", "RecordView", "RsaCheck", "ServerKey",
           "load_keylog", "load_server_keys", "open_connection", "parse_keylog",
           "run_key_files"]
