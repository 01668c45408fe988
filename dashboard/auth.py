"""Login for the Data refresh page (Streamlit side; the logic is in ``dashboard/users.py``).

A login lives in ``st.session_state`` (this browser tab's session) as the user name and a
stamp of the password hash. Every run re-reads the users file, so removing a user, changing
their role or password (``python -m etl users ...``) takes effect on their next click. A
session also ends after ``DX_SESSION_HOURS`` (default 12) hours.

A failed login says the same for every user name, known or not, locked or not (no count of
attempts left, no "locked"), and keeps the typed name in its box; the password box is emptied.
"""

from __future__ import annotations

import os
import time
from typing import Any

import streamlit as st

from core import i18n
from core.safety import plain
from dashboard import users

_KEY = "_dx.auth"
_OUTCOME = "_dx.auth.outcome"  # the last failed attempt's message, shown once
DEFAULT_SESSION_HOURS = 12


def _session_seconds() -> float:
    try:
        return max(float(os.environ.get("DX_SESSION_HOURS", DEFAULT_SESSION_HOURS)), 0.01) * 3600
    except ValueError:
        return DEFAULT_SESSION_HOURS * 3600


def current_user() -> users.User | None:
    """The logged-in user as the users file has them now, or None."""
    session: dict[str, Any] | None = st.session_state.get(_KEY)
    if not session:
        return None
    user = users.get_user(session["name"])
    expired = time.time() - session["login_at"] > _session_seconds()
    if user is None or user.stamp != session["stamp"] or expired:
        logout()
        return None
    return user


def logout() -> None:
    st.session_state.pop(_KEY, None)


def _submit() -> None:
    """The form's callback (runs before the next script run, so it may empty the password
    box while the user name stays as typed)."""
    ss = st.session_state
    name, password = ss.get("dx_login_name", ""), ss.get("dx_login_password", "")
    ss["dx_login_password"] = ""
    if not name.strip() or not password:
        ss[_OUTCOME] = "missing"
        return
    result = users.authenticate(name, password)
    if result.ok:
        ss[_KEY] = {"name": result.user.name, "stamp": result.user.stamp, "login_at": time.time()}
        ss.pop(_OUTCOME, None)
        return
    # 'invalid' and 'locked' look the same: neither says whether the name exists (dashboard/users.py).
    ss[_OUTCOME] = "no_users" if result.status == "no_users" else "invalid"


def _invalid_text(lang: str) -> str:
    return i18n.t("auth.invalid", lang, n=users.max_failures(), minutes=max(1, round(users.lock_seconds() / 60)))


def login_form(lang: str) -> None:
    """The user name / password form and the outcome of the last attempt. A login takes
    effect in the callback: the page's next ``current_user()`` returns the user."""
    if not users.has_users():
        st.info(i18n.t("auth.no_users", lang), icon=":material/key:")
        return
    with st.form("dx_login", border=True):
        st.header(i18n.t("auth.title", lang))
        st.text_input(i18n.t("auth.username", lang), key="dx_login_name", autocomplete="username")
        st.text_input(
            i18n.t("auth.password", lang), type="password", key="dx_login_password",
            autocomplete="current-password",
        )
        st.form_submit_button(i18n.t("auth.submit", lang), type="primary", on_click=_submit)
    outcome = st.session_state.pop(_OUTCOME, None)
    if outcome == "missing":
        st.error(i18n.t("auth.missing", lang), icon=":material/warning:")
    elif outcome == "no_users":
        st.info(i18n.t("auth.no_users", lang), icon=":material/key:")
    elif outcome == "invalid":
        st.error(_invalid_text(lang), icon=":material/warning:")


def user_bar(user: users.User, lang: str) -> None:
    """'Logged in as NAME (role)' and the logout button."""
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(i18n.t("auth.logged_in_as", lang, name=plain(user.name), role=i18n.t(f"auth.role_{user.role}", lang)))
    if right.button(i18n.t("auth.logout", lang), key="dx_logout", icon=":material/logout:"):
        logout()
        st.rerun()
