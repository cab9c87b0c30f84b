"""What the PostgreSQL and MariaDB launchers share: ports, OS users, masked secrets."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional


class MaskedPassword(str):
    """A password that is a ``str`` for drivers but never shows itself in a repr or log line."""

    def __repr__(self) -> str:
        return "'***'"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_root() -> bool:
    return os.geteuid() == 0


def server_dir(prefix: str, owner: str) -> Path:
    """A short private directory the server's OS user can enter.

    Short because unix-socket paths are limited to about 107 bytes; under /tmp rather than
    pytest's tmp_path because pytest's base directory is private to root.
    """
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if is_root():
        chown_tree(directory, owner)
    return directory


def chown_tree(path: Path, owner: str) -> None:
    entry = pwd.getpwnam(owner)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def as_user(owner: str, argv: Sequence[str]) -> list[str]:
    """Prefix a command so it runs as ``owner`` when we are root (servers refuse to run as root)."""
    if is_root():
        return ["runuser", "-u", owner, "--", *argv]
    return list(argv)


def copy_private(source: Path, target: Path, owner: str, mode: int = 0o600) -> Path:
    shutil.copyfile(source, target)
    os.chmod(target, mode)
    if is_root():
        entry = pwd.getpwnam(owner)
        os.chown(target, entry.pw_uid, entry.pw_gid)
    return target


# PostgreSQL 15 and MariaDB 10.11 have no setting for TLS 1.3 suites (ssl_ciphers covers TLS 1.2
# and older), and OpenSSL enables TLS_CHACHA20_POLY1305_SHA256 by default. A hardened server
# restricts them through OpenSSL's own configuration, loaded via OPENSSL_CONF.
TLS13_ALLOWLISTED_SUITES = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"


def write_openssl_conf(directory: Path, owner: str, tls13_suites: str = TLS13_ALLOWLISTED_SUITES,
                       weak_certificates: bool = False, lines: Optional[Mapping[str, str]] = None) -> Path:
    """An OpenSSL config for a server started with OPENSSL_CONF: by default it restricts the TLS
    1.3 suites; ``lines`` replace that with any ``system_default`` commands (Groups, ...).

    ``weak_certificates`` drops the security level to 0 so that the server agrees to load an
    RSA-1024 key or a SHA-1-signed chain (OpenSSL refuses them at load time otherwise: "ee key too
    small", "ca md too weak"), as a misconfigured server elsewhere would serve them.
    """
    conf = directory / "openssl.cnf"
    commands = dict(lines) if lines is not None else {"Ciphersuites": tls13_suites}
    if weak_certificates:
        commands["CipherString"] = "DEFAULT:@SECLEVEL=0"
    conf.write_text(
        "openssl_conf = default_conf\n"
        "[default_conf]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n"
        "[system_default_sect]\n" + "".join(f"{key} = {value}\n" for key, value in commands.items())
    )
    if is_root():
        chown_tree(conf, owner)
    return conf


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(could not read {path}: {exc})"
