"""Real sign-on servers for the tests, each started on a free port of 127.0.0.1 as the current
user: Debian's slapd (a private instance on a directory loaded from ldap/directory.ldif),
django-mama-cas (in .venv-cas, see the Makefile) and the npm oidc-provider (tests/servers/oidc).
Each `start_*` is a context manager yielding what a test needs to reach the server; it raises
ServerUnavailable when the server's software is missing or it does not come up."""
import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
CAS_PYTHON = ROOT / ".venv-cas" / "bin" / "python"
OIDC_PROVIDER = ROOT / "node_modules" / "oidc-provider"
STARTUP_SECONDS = 30

LDAP_BASE = "dc=campus,dc=example"
LDAP_ROOT_DN = "cn=admin," + LDAP_BASE
LDAP_ROOT_PASSWORD = "root-pass-2026"
LDAP_SYNC_DN = "cn=sync,ou=services," + LDAP_BASE
LDAP_SYNC_PASSWORD = "sync-pass-2026"
LDAP_PASSWORD = "ldap-pass-2026"  # of every person in directory.ldif
CAS_PASSWORD = "cas-pass-2026"
OIDC_CLIENTS = [{"client_id": "booking-a", "client_secret": "secret-a-2026"},
                {"client_id": "booking-b", "client_secret": "secret-b-2026"}]


class ServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"exited with {process.returncode}: "
                                    f"{log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServerUnavailable(f"no answer on port {port} after {STARTUP_SECONDS} s")


@contextlib.contextmanager
def _running(command: list[str], ports: list[int], folder: Path, env: dict | None = None):
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                   env={**os.environ, **(env or {})}, cwd=folder)
    try:
        for port in ports:
            _wait_for_port(port, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- LDAP -------------------------------------------------------------------------------------
@dataclass
class LdapServer:
    url: str
    ldaps_url: str
    ca_file: str
    base: str = LDAP_BASE
    people: str = "ou=people," + LDAP_BASE

    def admin_connection(self):
        from ldap3 import Connection

        return Connection(self.url, LDAP_ROOT_DN, LDAP_ROOT_PASSWORD, auto_bind=True)

    def add_person(self, uid: str, *, mail: str, cn: str, employee_types=("staff",),
                   password: str = LDAP_PASSWORD) -> str:
        dn = f"uid={uid},{self.people}"
        with self.admin_connection() as conn:
            conn.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": cn, "sn": cn.split()[-1],
                                             "mail": mail, "userPassword": password,
                                             "employeeType": list(employee_types)})
            assert conn.result["result"] == 0, conn.result
        return dn

    def remove_person(self, uid: str) -> None:
        with self.admin_connection() as conn:
            conn.delete(f"uid={uid},{self.people}")


def _self_signed_certificate(folder: Path) -> None:
    """A certificate for 127.0.0.1 and localhost, for StartTLS and LDAPS."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@contextlib.contextmanager
def start_ldap(folder: Path):
    if not os.path.exists(SLAPD):
        raise ServerUnavailable(f"{SLAPD} is missing (install Debian's slapd)")
    (folder / "data").mkdir(parents=True)
    _self_signed_certificate(folder)
    config = folder / "slapd.conf"
    config.write_text((HERE / "ldap" / "slapd.conf.in").read_text()
                      .replace("{dir}", str(folder)).replace("{rootpw}", LDAP_ROOT_PASSWORD))
    loaded = subprocess.run([SLAPADD, "-q", "-f", str(config), "-l",  # noqa: S603
                             str(HERE / "ldap" / "directory.ldif")],
                            capture_output=True, text=True, check=False)
    if loaded.returncode != 0:
        raise ServerUnavailable("slapadd failed: " + loaded.stderr[-2000:])
    port, tls_port = free_port(), free_port()
    command = [SLAPD, "-f", str(config), "-d", "0",
               "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"]
    with _running(command, [port, tls_port], folder):
        yield LdapServer(url=f"ldap://127.0.0.1:{port}", ldaps_url=f"ldaps://127.0.0.1:{tls_port}",
                         ca_file=str(folder / "cert.pem"))


# --- CAS --------------------------------------------------------------------------------------
@dataclass
class CasServer:
    url: str  # the CAS base, e.g. http://127.0.0.1:PORT/cas
    password: str = CAS_PASSWORD


@contextlib.contextmanager
def start_cas(folder: Path):
    if not CAS_PYTHON.exists():
        raise ServerUnavailable(f"{CAS_PYTHON} is missing (make .venv-cas/.installed)")
    port = free_port()
    command = [str(CAS_PYTHON), str(HERE / "cas" / "serve.py"), str(port),
               str(folder / "cas.sqlite")]
    with _running(command, [port], folder):
        yield CasServer(url=f"http://127.0.0.1:{port}/cas")


# --- OpenID Connect ---------------------------------------------------------------------------
@dataclass
class OidcServer:
    issuer: str
    clients: list = field(default_factory=lambda: OIDC_CLIENTS)


@contextlib.contextmanager
def start_oidc(folder: Path):
    node = shutil.which("node")
    if node is None or not OIDC_PROVIDER.exists():
        raise ServerUnavailable("node or node_modules/oidc-provider is missing (npm ci)")
    port = free_port()
    with _running([node, str(HERE / "oidc" / "server.mjs"), str(port)], [port], folder,
                  env={"OIDC_CLIENTS": json.dumps(OIDC_CLIENTS)}):
        yield OidcServer(issuer=f"http://127.0.0.1:{port}")
