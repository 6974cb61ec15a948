"""Throwaway certificates for TLS and mTLS tests and benchmarks (the `cryptography` package).

    pki = Pki.create(tmp_path)   # a CA; a server certificate for 127.0.0.1 / localhost;
                                 # a client certificate; a client certificate of another CA
    pki.ca, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key,
    pki.stranger_cert, pki.stranger_key     # PEM files

EC P-256 keys, valid from an hour ago for a day.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pki"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path

    @classmethod
    def create(cls, folder: Path) -> Pki:
        folder.mkdir(parents=True, exist_ok=True)
        ca_key, ca_cert = _issue("feedback test CA", None, None, ca=True)
        server_key, server_cert = _issue("127.0.0.1", ca_key, ca_cert, server=True)
        client_key, client_cert = _issue("test-backend", ca_key, ca_cert)
        other_key, other_cert = _issue("other CA", None, None, ca=True)
        stranger_key, stranger_cert = _issue("stranger", other_key, other_cert)
        files = {
            "ca": _pem(folder / "ca.pem", ca_cert),
            "server_cert": _pem(folder / "server.pem", server_cert),
            "server_key": _key(folder / "server.key", server_key),
            "client_cert": _pem(folder / "client.pem", client_cert),
            "client_key": _key(folder / "client.key", client_key),
            "stranger_cert": _pem(folder / "stranger.pem", stranger_cert),
            "stranger_key": _key(folder / "stranger.key", stranger_key),
        }
        return cls(**files)


def _issue(
    name: str, issuer_key: object, issuer_cert: object, *, ca: bool = False, server: bool = False
) -> tuple[object, object]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    signer = issuer_key if issuer_key is not None else key
    return key, builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]


def _pem(path: Path, cert: object) -> Path:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))  # type: ignore[attr-defined]
    return path


def _key(path: Path, key: object) -> Path:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path
