"""Dashboard users for the Data refresh page: salted password hashes, roles, lockout.

No Streamlit here: the app (``dashboard/auth.py``) and the command line both use it::

    python -m dashboard users add NAME --role staff|viewer [--password-stdin]
    python -m dashboard users list | remove NAME | unlock NAME | passwd NAME [--password-stdin]

Where users live: ``data/users.toml`` (git-ignored; never commit it) or the file named by
``DX_USERS``. There are no default users and no default password: until someone runs
``users add``, nobody can log in. The file holds, per user: role (``staff`` may load and
undo data, ``viewer`` may only look), a random 16-byte salt, the PBKDF2-HMAC-SHA256 hash
and its iteration count, the number of failed logins in a row and the time until which the
user is locked. Never the password.

Lockout: ``DX_LOGIN_MAX_FAILURES`` (default 5) failed logins in a row lock the user for
``DX_LOGIN_LOCK_SECONDS`` (default 900 = 15 minutes); ``users unlock NAME`` lifts it. A
successful login resets the count.

A login attempt tells nobody whether a user name exists: an unknown name, a wrong password
and any password for a locked user each cost one PBKDF2 verification and one rewrite of the
file, and the app shows all three the same message (``AuthResult.status`` says which it was,
for the command line and tests). A locked account does not say so even to the right
password: if it did, the lock would tell a guesser when they had found the password.

Every change is a read-modify-write under an exclusive ``fcntl`` lock on ``<file>.lock``,
written to a temporary file in the same folder and moved over the original with
``os.replace`` (mode 0600): concurrent logins and commands never lose an update and
readers never see half a file.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import getpass
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import sys
import time
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import files, paths

ROLES = ("staff", "viewer")
ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000  # OWASP 2023 guidance for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 200_000
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCK_SECONDS = 15 * 60
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")

HEADER = (
    "# Dashboard users (Data refresh page). Written by `python -m dashboard users ...`; do not edit\n"
    "# by hand and never commit this file. Passwords are stored only as salted PBKDF2 hashes.\n"
)


class UserError(ValueError):
    """A request that cannot be done (unknown user, user exists, weak password, bad name)."""


@dataclass
class User:
    name: str
    role: str
    salt: str  # hex
    hash: str  # hex
    iterations: int = DEFAULT_ITERATIONS
    algorithm: str = ALGORITHM
    failed: int = 0
    locked_until: float = 0.0  # epoch seconds; 0 = not locked
    created_at: str = ""
    password_changed_at: str = ""
    last_login_at: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    def is_locked(self, now: float | None = None) -> bool:
        return self.locked_until > (time.time() if now is None else now)

    @property
    def stamp(self) -> str:
        """Changes when the password changes: a login session keeps it and ends when it differs."""
        return hashlib.sha256(f"{self.salt}:{self.hash}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AuthResult:
    status: str  # 'ok' | 'invalid' (unknown name or wrong password) | 'locked' | 'no_users'
    user: User | None = None
    locked_until: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- configuration

def users_path() -> Path:
    """``DX_USERS`` or ``data/users.toml`` (git-ignored)."""
    return Path(os.environ.get("DX_USERS") or paths.DATA / "users.toml").resolve()


def _env_int(name: str, default: int, minimum: int) -> int:
    try:
        return max(int(float(os.environ.get(name, default))), minimum)
    except ValueError:
        return default


def max_failures() -> int:
    return _env_int("DX_LOGIN_MAX_FAILURES", DEFAULT_MAX_FAILURES, 1)


def lock_seconds() -> int:
    return _env_int("DX_LOGIN_LOCK_SECONDS", DEFAULT_LOCK_SECONDS, 1)


def iterations() -> int:
    """PBKDF2 iterations for new hashes: ``DX_PBKDF2_ITERATIONS``, never below 200,000."""
    return _env_int("DX_PBKDF2_ITERATIONS", DEFAULT_ITERATIONS, MIN_ITERATIONS)


# --------------------------------------------------------------------------- hashing

def hash_password(password: str, salt: bytes | None = None, rounds: int | None = None) -> tuple[str, str, int]:
    """(salt hex, hash hex, iterations) of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    rounds = rounds or iterations()
    digest = hashlib.pbkdf2_hmac("sha256", _password_bytes(password), salt, rounds)
    return salt.hex(), digest.hex(), rounds


def verify_password(password: str, salt_hex: str, hash_hex: str, rounds: int) -> bool:
    try:
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", _password_bytes(password), salt, int(rounds))
    return hmac.compare_digest(digest, expected)


def _password_bytes(password: str) -> bytes:
    # NFC so the same password typed on a Mac (NFD) and on Windows (NFC) matches.
    return unicodedata.normalize("NFC", password).encode("utf-8")


_DUMMY_SALT = b"dx-no-such-user!"


def _burn_time(password: str, rounds: int) -> None:
    """Spend the time of one verification (unknown user names must not answer faster)."""
    hashlib.pbkdf2_hmac("sha256", _password_bytes(password), _DUMMY_SALT, rounds)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise UserError("the password must not start or end with spaces")


def normalise_name(name: str) -> str:
    key = unicodedata.normalize("NFC", str(name)).strip().lower()
    if not NAME_PATTERN.match(key):
        raise UserError(
            f"invalid user name {name!r}: use 1–64 letters a–z, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit"
        )
    return key


# --------------------------------------------------------------------------- storage

def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read(path: Path) -> dict[str, User]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = tomllib.loads(text).get("users", {})
    fields = set(User.__dataclass_fields__)
    users = {}
    for name, entry in data.items():
        known = {k: v for k, v in entry.items() if k in fields and k != "name"}
        users[name] = User(name=name, **known)
    return users


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "0.0"
    # JSON string escapes (\", \\, \n, \uXXXX) are valid TOML basic-string escapes.
    return json.dumps(str(value), ensure_ascii=True)


def _render(users: dict[str, User]) -> str:
    parts = [HEADER]
    for name in sorted(users):
        parts.append(f"\n[users.{_toml_value(name)}]\n")
        for key, value in asdict(users[name]).items():
            if key != "name":
                parts.append(f"{key} = {_toml_value(value)}\n")
    return "".join(parts)


def _write(path: Path, users: dict[str, User]) -> None:
    text = _render(users)
    tomllib.loads(text)  # never write a file we could not read back
    files.write_atomic(path, text, 0o600)


@contextlib.contextmanager
def _transaction(path: Path | None, *, always_write: bool = False) -> Iterator[dict[str, User]]:
    """Users as a dict to change in place; written back atomically if the block succeeds and
    changed them (or always, where writing or not would tell something)."""
    path = path or users_path()
    with _locked(path):
        users = _read(path)
        before = _render(users)
        yield users
        if (always_write and users) or _render(users) != before:
            _write(path, users)


def _known(users: dict[str, User], key: str) -> User:
    """The user ``key``, or the error that names it."""
    if key not in users:
        raise UserError(f"no user {key!r}")
    return users[key]


def _now_text(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return moment.replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- public API

def list_users(path: Path | None = None) -> list[User]:
    return [u for _, u in sorted(_read(path or users_path()).items())]


def get_user(name: str, path: Path | None = None) -> User | None:
    try:
        key = normalise_name(name)
    except UserError:
        return None
    return _read(path or users_path()).get(key)


def has_users(path: Path | None = None) -> bool:
    return bool(_read(path or users_path()))


def add_user(name: str, password: str, role: str, path: Path | None = None, *,
             now: float | None = None) -> User:
    key = normalise_name(name)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    check_password_strength(password)
    salt, digest, rounds = hash_password(password)
    stamp = _now_text(now)
    with _transaction(path) as users:
        if key in users:
            raise UserError(f"user {key!r} already exists (use `users passwd` to change the password)")
        users[key] = User(key, role, salt, digest, rounds, created_at=stamp, password_changed_at=stamp)
        return users[key]


def remove_user(name: str, path: Path | None = None) -> None:
    key = normalise_name(name)
    with _transaction(path) as users:
        _known(users, key)
        del users[key]


def set_password(name: str, password: str, path: Path | None = None, *, now: float | None = None) -> User:
    """New password (new salt); also clears failed attempts and any lock."""
    key = normalise_name(name)
    check_password_strength(password)
    salt, digest, rounds = hash_password(password)
    with _transaction(path) as users:
        user = _known(users, key)
        user.salt, user.hash, user.iterations, user.algorithm = salt, digest, rounds, ALGORITHM
        user.failed, user.locked_until = 0, 0.0
        user.password_changed_at = _now_text(now)
        return user


def set_role(name: str, role: str, path: Path | None = None) -> User:
    key = normalise_name(name)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    with _transaction(path) as users:
        user = _known(users, key)
        user.role = role
        return user


def unlock(name: str, path: Path | None = None) -> User:
    key = normalise_name(name)
    with _transaction(path) as users:
        user = _known(users, key)
        user.failed, user.locked_until = 0, 0.0
        return user


def authenticate(name: str, password: str, path: Path | None = None, *,
                 now: float | None = None) -> AuthResult:
    """Check a login; counts failures and locks the user after too many in a row. Every
    outcome but 'no_users' costs one PBKDF2 run and one rewrite of the file (module doc)."""
    now = time.time() if now is None else now
    try:
        key = normalise_name(name)
    except UserError:
        key = None
    path = path or users_path()
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH]
    with _transaction(path, always_write=True) as users:
        if not users:
            return AuthResult("no_users")
        user = users.get(key) if key else None
        if user is None:
            _burn_time(password, iterations())
            return AuthResult("invalid")
        if user.is_locked(now):
            _burn_time(password, user.iterations)  # the right password changes nothing while locked
            return AuthResult("locked", locked_until=user.locked_until)
        if user.locked_until:  # the lock has run out: start counting afresh
            user.failed, user.locked_until = 0, 0.0
        if user.algorithm == ALGORITHM and verify_password(password, user.salt, user.hash, user.iterations):
            user.failed, user.locked_until = 0, 0.0
            user.last_login_at = _now_text(now)
            if user.iterations < iterations():  # upgrade old hashes on the next good login
                user.salt, user.hash, user.iterations = hash_password(password)
            return AuthResult("ok", user=User(**asdict(user)))
        user.failed += 1
        if user.failed >= max_failures():
            user.locked_until = now + lock_seconds()
            return AuthResult("locked", locked_until=user.locked_until)
        return AuthResult("invalid")


# --------------------------------------------------------------------------- command line

def _read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Repeat password: ")
    if first != second:
        raise UserError("the two passwords differ")
    return first


def _fmt_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _cli(args: argparse.Namespace) -> int:
    path = Path(args.file).resolve() if getattr(args, "file", None) else None
    action = args.users_command
    try:
        if action == "add":
            user = add_user(args.name, _read_password(args), args.role, path)
            print(f"added user {user.name!r} (role {user.role}) to {path or users_path()}")
        elif action == "list":
            users = list_users(path)
            if not users:
                print(f"no users in {path or users_path()}; add one with "
                      "`python -m dashboard users add NAME --role staff`")
                return 0
            now = time.time()
            width = max(len(u.name) for u in users)
            print(f"{'name':<{width}}  role    failed  locked until               last login")
            for u in users:
                locked = _fmt_time(u.locked_until) if u.is_locked(now) else "-"
                print(f"{u.name:<{width}}  {u.role:<6}  {u.failed:>6}  {locked:<25}  {u.last_login_at or '-'}")
        elif action == "remove":
            remove_user(args.name, path)
            print(f"removed user {normalise_name(args.name)!r}")
        elif action == "unlock":
            user = unlock(args.name, path)
            print(f"unlocked user {user.name!r}")
        elif action == "passwd":
            user = set_password(args.name, _read_password(args), path)
            print(f"changed the password of {user.name!r}")
        elif action == "role":
            user = set_role(args.name, args.role, path)
            print(f"user {user.name!r} now has role {user.role}")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("\ncancelled", file=sys.stderr)
        return 1
    return 0


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", help="users file (default $DX_USERS or data/users.toml)")
    sub = parser.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="create a user (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input (scripts)")
    sub.add_parser("list", help="list users, roles and locks (never passwords)")
    for action, text in (("remove", "delete a user"), ("unlock", "clear failed logins and the lock")):
        sub.add_parser(action, help=text).add_argument("name")
    passwd = sub.add_parser("passwd", help="set a new password (also unlocks)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    role = sub.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("--role", choices=ROLES, required=True)


COMMAND_HELP = "manage dashboard users (Data refresh page): add, list, remove, unlock, passwd, role"


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``users`` command of ``python -m dashboard`` (dashboard/__main__.py)."""
    _configure(parser)
    parser.set_defaults(handler=_cli)
