"""Login for the Data refresh page (Streamlit side; the logic is in ``etl/users.py``).

A login lives in ``st.session_state`` (this browser tab's session) as the user name and a
stamp of the password hash. Every run re-reads the users file, so removing a user, changing
their role or password (``python -m etl users ...``) takes effect on their next click. A
session also ends after ``DX_SESSION_HOURS`` (default 12) hours.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import streamlit as st

from dashboard import i18n
from etl import users

_KEY = "_dx.auth"
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


def _lock_text(until: float, lang: str) -> str:
    minutes = max(1, int((until - time.time() + 59) // 60))
    clock = dt.datetime.fromtimestamp(until).strftime("%H:%M")
    return i18n.t("auth.locked", lang, minutes=minutes, time=clock)


def login_form(lang: str) -> users.User | None:
    """The user name / password form; returns the user when this run logged them in."""
    if not users.has_users():
        st.info(i18n.t("auth.no_users", lang, path=str(users.users_path())), icon=":material/key:")
        return None
    with st.form("dx_login", clear_on_submit=True, border=True):
        st.subheader(i18n.t("auth.title", lang))
        name = st.text_input(i18n.t("auth.username", lang), key="dx_login_name", autocomplete="username")
        password = st.text_input(
            i18n.t("auth.password", lang), type="password", key="dx_login_password",
            autocomplete="current-password",
        )
        submitted = st.form_submit_button(i18n.t("auth.submit", lang), type="primary")
    if not submitted:
        return None
    if not name.strip() or not password:
        st.error(i18n.t("auth.missing", lang), icon=":material/warning:")
        return None
    result = users.authenticate(name, password)
    if result.ok:
        st.session_state[_KEY] = {
            "name": result.user.name, "stamp": result.user.stamp, "login_at": time.time(),
        }
        return result.user
    if result.status == "locked":
        st.error(_lock_text(result.locked_until, lang), icon=":material/lock:")
    elif result.status == "no_users":
        st.info(i18n.t("auth.no_users", lang, path=str(users.users_path())), icon=":material/key:")
    else:
        text = i18n.t("auth.invalid", lang)
        if result.attempts_left is not None and result.attempts_left <= 2:
            text += " " + i18n.t("auth.attempts_left", lang, n=result.attempts_left)
        st.error(text, icon=":material/warning:")
    return None


def user_bar(user: users.User, lang: str) -> None:
    """'Logged in as NAME (role)' and the logout button."""
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(i18n.t("auth.logged_in_as", lang, name=user.name, role=i18n.t(f"auth.role_{user.role}", lang)))
    if right.button(i18n.t("auth.logout", lang), key="dx_logout", icon=":material/logout:"):
        logout()
        st.rerun()
