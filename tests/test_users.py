"""Dashboard users (dashboard/users.py): salted PBKDF2 hashes, roles, lockout, atomic file, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from dashboard import users

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse 57"


@pytest.fixture
def users_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    monkeypatch.setenv("DX_USERS", str(path))
    monkeypatch.setenv("DX_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("DX_LOGIN_LOCK_SECONDS", "600")
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "200000")  # the floor; the default is 600,000
    return path


def test_no_users_and_no_default_password(users_file):
    assert not users_file.exists()
    assert users.list_users() == []
    assert users.authenticate("admin", "admin").status == "no_users"
    assert users.authenticate("admin", "").status == "no_users"
    assert not users_file.exists() or not users.list_users()


def test_hashes_are_salted_and_the_file_holds_no_password(users_file):
    alice = users.add_user("Alice", PASSWORD, "staff")
    bob = users.add_user("bob", PASSWORD, "viewer")
    assert alice.name == "alice"  # names are case-insensitive
    assert alice.salt != bob.salt and alice.hash != bob.hash
    assert len(bytes.fromhex(alice.salt)) == 16
    assert alice.iterations >= 200_000 and alice.algorithm == "pbkdf2_sha256"
    text = users_file.read_text(encoding="utf-8")
    assert PASSWORD not in text and PASSWORD.encode().hex() not in text
    stored = tomllib.loads(text)["users"]
    assert stored["alice"]["role"] == "staff" and stored["bob"]["role"] == "viewer"
    assert "password" not in stored["alice"]
    assert users_file.stat().st_mode & 0o077 == 0  # owner-only
    # The stored hash is PBKDF2-HMAC-SHA256 of the password with the user's salt.
    import hashlib

    expected = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), bytes.fromhex(alice.salt), alice.iterations)
    assert stored["alice"]["hash"] == expected.hex()


def test_login_right_and_wrong(users_file):
    users.add_user("alice", PASSWORD, "staff")
    good = users.authenticate("ALICE ", PASSWORD)
    assert good.ok and good.user.name == "alice" and good.user.is_staff
    assert users.get_user("alice").last_login_at
    wrong = users.authenticate("alice", PASSWORD + "x")
    assert wrong.status == "invalid" and wrong.user is None
    assert users.get_user("alice").failed == 1
    unknown = users.authenticate("mallory", PASSWORD)
    assert unknown.status == "invalid" and unknown.user is None
    assert users.authenticate("../etc", PASSWORD).status == "invalid"


def test_lockout_after_failures_and_unlock_after_the_window(users_file):
    users.add_user("alice", PASSWORD, "staff")
    t0 = 1_800_000_000.0
    assert users.authenticate("alice", "nope-1", now=t0).status == "invalid"
    assert users.authenticate("alice", "nope-2", now=t0 + 1).status == "invalid"
    assert users.get_user("alice").failed == 2
    third = users.authenticate("alice", "nope-3", now=t0 + 2)
    assert third.status == "locked" and third.locked_until == t0 + 2 + 600
    # Locked: even the right password is refused until the window ends.
    assert users.authenticate("alice", PASSWORD, now=t0 + 300).status == "locked"
    assert users.get_user("alice").is_locked(t0 + 300)
    # After the window: the right password works and the count starts afresh.
    assert users.authenticate("alice", PASSWORD, now=t0 + 603).ok
    assert users.get_user("alice").failed == 0
    # A success resets the count: two failures, success, two failures -> not locked.
    for i in range(2):
        users.authenticate("alice", "bad", now=t0 + 700 + i)
    assert users.authenticate("alice", PASSWORD, now=t0 + 710).ok
    for i in range(2):
        assert users.authenticate("alice", "bad", now=t0 + 720 + i).status == "invalid"


def test_unlock_and_passwd_clear_the_lock(users_file):
    users.add_user("alice", PASSWORD, "staff")
    for _ in range(3):
        users.authenticate("alice", "bad")
    assert users.authenticate("alice", PASSWORD).status == "locked"
    users.unlock("alice")
    assert users.authenticate("alice", PASSWORD).ok
    for _ in range(3):
        users.authenticate("alice", "bad")
    old_stamp = users.get_user("alice").stamp
    users.set_password("alice", "another password")
    assert users.get_user("alice").stamp != old_stamp
    assert users.authenticate("alice", "another password").ok
    assert users.authenticate("alice", PASSWORD).status == "invalid"


def test_rejected_requests(users_file):
    users.add_user("alice", PASSWORD, "staff")
    with pytest.raises(users.UserError, match="already exists"):
        users.add_user("ALICE", PASSWORD, "viewer")
    with pytest.raises(users.UserError, match="role"):
        users.add_user("carol", PASSWORD, "admin")
    with pytest.raises(users.UserError, match="at least 8"):
        users.add_user("carol", "short", "viewer")
    with pytest.raises(users.UserError, match="invalid user name"):
        users.add_user('x"]\n[users.evil', PASSWORD, "staff")
    with pytest.raises(users.UserError, match="no user"):
        users.remove_user("nobody")
    assert [u.name for u in users.list_users()] == ["alice"]


def test_concurrent_writers_lose_no_update(users_file, monkeypatch):
    users.add_user("alice", PASSWORD, "staff")
    monkeypatch.setenv("DX_LOGIN_MAX_FAILURES", "100")
    threads = [threading.Thread(target=users.authenticate, args=("alice", f"bad-{i}")) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert users.get_user("alice").failed == 6
    assert not list(users_file.parent.glob(".users.toml.*.tmp"))


def test_iterations_never_below_the_floor(monkeypatch):
    monkeypatch.delenv("DX_PBKDF2_ITERATIONS", raising=False)
    assert users.iterations() == 600_000
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "1000")
    assert users.iterations() == 200_000


def _cli(*args: str, stdin: str = "", env_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DX_USERS": str(env_file), "PYTHONPATH": str(ROOT), "DX_PBKDF2_ITERATIONS": "200000"}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "users", *args], input=stdin, capture_output=True,
        text=True, cwd=ROOT, env=env, timeout=60,
    )


def test_cli_add_list_remove(tmp_path):
    path = tmp_path / "cli-users.toml"
    added = _cli("add", "Dung", "--role", "staff", "--password-stdin", stdin=PASSWORD + "\n", env_file=path)
    assert added.returncode == 0, added.stderr
    assert "dung" in added.stdout
    assert PASSWORD not in path.read_text(encoding="utf-8")
    assert users.authenticate("dung", PASSWORD, path).ok
    listed = _cli("list", env_file=path)
    assert listed.returncode == 0 and "dung" in listed.stdout and "staff" in listed.stdout
    assert PASSWORD not in listed.stdout and "hash" not in listed.stdout
    removed = _cli("remove", "dung", env_file=path)
    assert removed.returncode == 0, removed.stderr
    assert users.list_users(path) == []


def test_cli_errors_in_process(users_file, monkeypatch, capsys):
    import io

    from dashboard.__main__ import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "dung", "--role", "staff", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "DUNG", "--role", "viewer", "--password-stdin"]) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("abc\n"))
    assert main(["users", "add", "em", "--role", "viewer", "--password-stdin"]) == 1
    assert "at least" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new password\n"))
    assert main(["users", "passwd", "dung", "--password-stdin"]) == 0
    assert users.authenticate("dung", "a new password").ok
    assert main(["users", "unlock", "dung"]) == 0
    assert main(["users", "role", "dung", "--role", "viewer"]) == 0
    assert users.get_user("dung").role == "viewer"
    assert main(["users", "remove", "nobody"]) == 1
    assert main(["users", "remove", "dung"]) == 0
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    assert "users add" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["users", "add", "x", "--role", "admin", "--password-stdin"])
