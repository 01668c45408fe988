"""Present: a deck for a bridge meeting, one view per slide. Ready-made for a month (the whole
country, one province), or put together with "add to deck" under any chart and saved by name.
Set up here (preview, order, save, PPTX/PDF/HTML); ``play=1`` shows the deck alone, full window,
with no sidebar, toolbar or widget: that is the deck's own address (and its QR code).
URL: /present?deck=national|province|mine|<saved name>&period=YYYY-MM&province=NN&auto=0|5|…&play=1&lang=vi"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

from urllib.parse import urlencode

import streamlit as st

from core import catalog
from core.safety import plain
from dashboard import auth, queries, state, ui
from dashboard.present import collect, compose, decks, export, serve

lang, t = ui.page_language()
HEADLINE = catalog.headline()
AUTO = [0, 5, 10, 15, 30, 60]  # seconds per slide; 0 = by hand
PREVIEW_HEIGHT = 600
MIME = {"html": "text/html", "pdf": "application/pdf",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
# The deck alone: no sidebar, header, toolbar or status; its frame fills the window.
CHROME_FREE = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"] { display: none !important; }
iframe[data-testid="stIFrame"] { position: fixed; inset: 0; width: 100vw !important; height: 100vh !important;
  border: 0; z-index: 999990; background: #000; }
</style>"""

play = st.query_params.get("play") == "1"
saved = decks.saved()
kinds = [decks.NATIONAL, decks.PROVINCE, decks.MINE, *sorted(saved)]
periods = list(reversed(queries.periods(HEADLINE.code)))
provinces = queries.provinces()
names = dict(zip(provinces["code"], provinces["name"]))


def kind_label(kind: str) -> str:
    if kind == decks.MINE:
        return t("present.kind_mine", n=len(collect.working()))
    return t(f"present.kind_{kind}") if kind in decks.RESERVED else kind


def make(kind: str, period: str | None, code: str | None) -> decks.Deck | None:
    if kind == decks.NATIONAL:
        return decks.national(period) if period else None
    if kind == decks.PROVINCE:
        return decks.province(code, period) if period and code else None
    if kind == decks.MINE:
        return decks.mine(collect.working()) if collect.working() else None
    return decks.saved_deck(kind)


def show(deck: decks.Deck, auto: int, *, full: bool) -> None:
    """The deck's document in a frame: the whole window (``full``), or a 16:9 preview."""
    url = serve.deck_url(deck, lang)
    options = {"auto": auto, **({"keys": "parent"} if full else {})}
    if full:
        st.html(CHROME_FREE)
    source = f"{url}?{urlencode(options)}" if url else serve.inline_html(deck, lang)
    st.iframe(source, height=PREVIEW_HEIGHT, alt=deck.title(lang))


# ----------------------------------------------------------------------------- the deck alone

if play:
    kind = st.query_params.get("deck") or decks.NATIONAL
    if kind not in kinds:
        st.error(t("present.no_such_deck", name=plain(kind)), icon=":material/slideshow:")
        st.stop()
    period = state.resolve("period", periods, periods[0] if periods else None, lang=lang)
    code = state.resolve("province", list(names), "01", lang=lang)
    auto = state.resolve("auto", AUTO, 0, lang=lang)
    deck = make(kind, period, code)
    if deck is None:
        st.info(t("present.mine_empty"), icon=":material/slideshow:")
        st.stop()
    show(deck, auto, full=True)
    st.stop()


# ----------------------------------------------------------------------------- setting up


def is_staff() -> bool:
    """Saved decks are shared: staff logged in (Data refresh page) save and delete them."""
    user = auth.current_user()
    return user is not None and user.is_staff


def _copy(views: tuple[str, ...]) -> None:
    collect.set_working(list(views))
    state.set_value("deck", decks.MINE)


def _move(index: int, step: int) -> None:
    views = collect.working()
    other = index + step
    if 0 <= other < len(views):
        views[index], views[other] = views[other], views[index]
    collect.set_working(views)


def _remove(index: int) -> None:
    views = collect.working()
    del views[index]
    collect.set_working(views)


def _save() -> None:
    if not is_staff():  # (logged out, or the role changed, since the button was drawn)
        return
    try:
        name = decks.save(st.session_state.get("deck.name", ""), collect.working())
    except decks.DeckError as exc:
        st.session_state["_dx.deck_message"] = ("error", t(str(exc)))
        return
    state.set_value("deck", name)
    st.session_state["_dx.deck_message"] = ("success", t("present.saved", name=plain(name)))


def _delete(name: str) -> None:
    if not is_staff():
        return
    decks.delete(name)
    state.set_value("deck", decks.NATIONAL)


st.title(t("present.title"))
staff = is_staff()
st.caption(t("present.intro"))
c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
with c1:
    kind = state.selectbox("deck", t("present.deck"), kinds, decks.NATIONAL, format_func=kind_label,
                           warn_key="present.unknown_deck", lang=lang)
period = code = None
if kind in (decks.NATIONAL, decks.PROVINCE):
    period = ui.period_picker(HEADLINE.code, lang, c2)
if kind == decks.PROVINCE:
    code = ui.province_picker(lang, c3, default="01")
with c4:
    auto = state.selectbox("auto", t("present.auto"), AUTO, 0, lang=lang,
                           format_func=lambda s: t("present.auto_off") if s == 0 else t("present.auto_every", n=s))
if message := st.session_state.pop("_dx.deck_message", None):
    (st.error if message[0] == "error" else st.success)(message[1], icon=":material/slideshow:")

deck = make(kind, period, code)
if deck is None:
    st.info(t("present.mine_empty"), icon=":material/slideshow:")
else:
    show(deck, auto, full=False)
    st.caption(t("present.preview_help"))
    if deck.name == decks.MINE:
        st.caption(t("present.mine_not_shared"))
    else:
        address = compose.deck_url(deck, lang)
        link = address or f"/present?{deck.url_query(lang)}"
        left, right = st.columns([1, 3])
        left.link_button(t("present.open"), link, icon=":material/slideshow:", type="primary")
        right.code(link, language=None)
        if address is None:
            right.caption(t("present.no_public_url"))
    stem = compose.file_stem(deck, lang)
    columns = st.columns([1, 1, 1, 3])
    for column, fmt in zip(columns, export.FORMATS):
        column.download_button(
            t(f"present.download_{fmt}"), data=lambda fmt=fmt: export.export(deck, lang, fmt),
            file_name=f"{stem}.{fmt}", mime=MIME[fmt], key=f"present.{fmt}", on_click="ignore",
            icon=":material/download:", help=t("present.download_help"),
        )
    if deck.name != decks.MINE:
        st.button(t("present.copy"), on_click=_copy, args=(deck.views,), icon=":material/edit:", key="present.copy")
    if deck.name in saved and staff:
        st.button(t("present.delete", name=plain(deck.name)), on_click=_delete, args=(deck.name,),
                  icon=":material/delete:", key="present.delete")

# ---- my deck: what "add to deck" collected, in order; saved by name it gets its own address
st.header(t("present.mine_title"))
views = collect.working()
if not views:
    st.caption(t("present.mine_empty"))
for index, link in enumerate(views):
    text, up, down, remove = st.columns([12, 1, 1, 1])
    text.markdown(f"{index + 1}. {plain(compose.slide_title(link, lang))}")
    up.button("", key=f"deck.up.{index}", icon=":material/arrow_upward:", on_click=_move, args=(index, -1),
              disabled=index == 0, help=t("present.move_up"))
    down.button("", key=f"deck.down.{index}", icon=":material/arrow_downward:", on_click=_move, args=(index, 1),
                disabled=index == len(views) - 1, help=t("present.move_down"))
    remove.button("", key=f"deck.remove.{index}", icon=":material/close:", on_click=_remove, args=(index,),
                  help=t("present.remove"))
if views and staff:
    name_col, save_col = st.columns([3, 1], vertical_alignment="bottom")
    name_col.text_input(t("present.name"), key="deck.name", max_chars=decks.MAX_NAME)
    save_col.button(t("present.save"), on_click=_save, icon=":material/save:", type="primary", key="present.save")
elif views:  # saved decks are shared by everyone: only staff save and delete them
    st.caption(t("present.login_to_save"))
    st.page_link("pages/7_data_refresh.py", label=t("present.login_link"), icon=":material/key:")
