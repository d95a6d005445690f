"""go-plugin's handshake, as a plugin in any language completes it.

The host (hashicorp/go-plugin's client, in convirt's core/host) starts the
plugin with, in its environment:

* the magic cookie CONVIRT_PLUGIN=convirt-plugin-v1, which only says that a
  convirt host started the process (a plugin run by hand explains and exits);
* PLUGIN_PROTOCOL_VERSIONS, the application protocol versions it speaks;
* PLUGIN_CLIENT_CERT, with AutoMTLS, the PEM certificate the host will
  present: the plugin serves TLS with a certificate of its own, requires
  client certificates signed by that one, and prints its own certificate;
* PLUGIN_UNIX_SOCKET_DIR (optional), where to create the socket.

The plugin then prints one line on stdout and serves gRPC on the address it
names:

    CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|grpc|SERVER-CERT

CORE-VERSION is go-plugin's own protocol version (1); APP-VERSION is
convirt's plugin protocol version (1); NETWORK is "unix" (ADDRESS a socket
path) or "tcp" (ADDRESS host:port); SERVER-CERT is the DER bytes of the
plugin's certificate in base64 without padding (empty without AutoMTLS).
"""

import base64
import datetime
import os
import secrets
import sys
import tempfile

CORE_PROTOCOL_VERSION = 1
PROTOCOL_VERSION = 1  # convirt's plugin protocol, sdk.ProtocolVersion
MAGIC_COOKIE_KEY = "CONVIRT_PLUGIN"
MAGIC_COOKIE_VALUE = "convirt-plugin-v1"


class NotLaunchedByHost(RuntimeError):
    """The process was started without the magic cookie."""


def check_cookie(env=None):
    env = os.environ if env is None else env
    if env.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        raise NotLaunchedByHost(
            "This program is a convirt plugin: convirt starts it (convirt plugins install PATH, then name it in a recipe); "
            "it is not meant to be run directly.")


def check_versions(env=None):
    """Fails when the host lists protocol versions and ours is not one."""
    env = os.environ if env is None else env
    vs = [v.strip() for v in env.get("PLUGIN_PROTOCOL_VERSIONS", "").split(",") if v.strip()]
    if vs and str(PROTOCOL_VERSION) not in vs:
        raise RuntimeError("the host speaks plugin protocol versions %s; this plugin speaks %d" % (",".join(vs), PROTOCOL_VERSION))


def generate_cert():
    """A fresh self-signed certificate for "localhost" (the name go-plugin's
    client verifies) and its key, both PEM, and the certificate's DER bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "convirt plugin")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_agreement=True,
                                         key_cert_sign=True, content_commitment=False, data_encipherment=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem, cert.public_bytes(serialization.Encoding.DER)


def socket_path(env=None):
    """A fresh unix socket path, in PLUGIN_UNIX_SOCKET_DIR when the host set
    it, and the private directory made for it (to remove at exit)."""
    env = os.environ if env is None else env
    d = tempfile.mkdtemp(prefix="plugin", dir=env.get("PLUGIN_UNIX_SOCKET_DIR") or None)
    return os.path.join(d, "plugin.sock"), d


def line(network, address, server_der=None):
    """The handshake line (without the newline)."""
    cert = base64.b64encode(server_der).decode("ascii").rstrip("=") if server_der else ""
    return "%d|%d|%s|%s|grpc|%s" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, network, address, cert)


def announce(network, address, server_der=None, out=None):
    """Prints the handshake line on stdout (the real one: fd 1), then points
    sys.stdout at stderr, so that stray prints become log lines."""
    out = sys.stdout if out is None else out
    out.write(line(network, address, server_der) + "\n")
    out.flush()
    if out is sys.stdout:
        sys.stdout = sys.stderr
