/* The deck's whole slide machinery (no library): show one slide, keys, full screen,
   auto-advance, swipe, scale to the window, draw each chart once.
   URL options: #N opens slide N; ?auto=SECONDS advances by itself; ?keys=parent also takes
   keys from the embedding page (the app's Present page); ?print draws every slide for printing. */
(function () {
  "use strict";
  var deck = document.getElementById("deck");
  var slides = Array.prototype.slice.call(deck.querySelectorAll(".slide"));
  var figures = JSON.parse(document.getElementById("deck-figures").textContent);
  var params = new URLSearchParams(location.search);
  var printing = params.has("print");
  var auto = Math.max(0, Number(params.get("auto")) || 0);
  var config = { displayModeBar: false, displaylogo: false, scrollZoom: false, responsive: false };
  var drawn = {};
  var current = -1;
  var timer = null;

  function draw(i) {
    if (drawn[i]) { return drawn[i]; }
    var box = slides[i].querySelector(".chart");
    var spec = box ? figures[Number(box.getAttribute("data-figure"))] : null;
    if (!spec || typeof Plotly === "undefined") {
      drawn[i] = Promise.resolve();
      return drawn[i];
    }
    var layout = Object.assign({}, spec.layout, { width: box.clientWidth, height: box.clientHeight, autosize: false });
    drawn[i] = Plotly.newPlot(box, spec.data, layout, config);
    return drawn[i];
  }

  function drawAll() {
    // one after the other, so the first slides are ready first
    return slides.reduce(function (done, _slide, i) { return done.then(function () { return draw(i); }); },
                         Promise.resolve());
  }

  function fit() {
    if (printing) { return; }
    deck.style.zoom = String(Math.min(window.innerWidth / 1920, window.innerHeight / 1080));
  }

  function restartTimer() {
    if (timer) { clearTimeout(timer); }
    timer = auto > 0 ? setTimeout(function () { show((current + 1) % slides.length); }, auto * 1000) : null;
  }

  function show(i) {
    i = Math.max(0, Math.min(slides.length - 1, i));
    if (current >= 0) { slides[current].classList.remove("current"); }
    current = i;
    slides[i].classList.add("current");
    history.replaceState(null, "", "#" + (i + 1));
    draw(i).then(function () { document.documentElement.setAttribute("data-shown", String(i + 1)); });
    restartTimer();
  }

  function fullscreen() {
    var target = document.documentElement;
    var owner = document;
    try {
      if (window.frameElement) { target = window.frameElement; owner = window.parent.document; }
    } catch (e) { /* a page of another origin: the deck's own document goes full screen */ }
    if (owner.fullscreenElement) { owner.exitFullscreen(); } else if (target.requestFullscreen) {
      target.requestFullscreen().catch(function () {});
    }
  }

  function onKey(event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) { return; }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    var key = event.key;
    if (key === "ArrowRight" || key === "ArrowDown" || key === "PageDown" || key === "Enter" ||
        (key === " " && !event.shiftKey)) {
      show(current + 1);
    } else if (key === "ArrowLeft" || key === "ArrowUp" || key === "PageUp" || key === "Backspace" ||
               (key === " " && event.shiftKey)) {
      show(current - 1);
    } else if (key === "Home") {
      show(0);
    } else if (key === "End") {
      show(slides.length - 1);
    } else if (key === "f" || key === "F") {
      fullscreen();
    } else {
      return;
    }
    event.preventDefault();
  }

  var touchX = null;
  document.addEventListener("touchstart", function (e) { touchX = e.changedTouches[0].clientX; }, { passive: true });
  document.addEventListener("touchend", function (e) {
    if (touchX === null) { return; }
    var dx = e.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(dx) > 60) { show(current + (dx < 0 ? 1 : -1)); }
  }, { passive: true });

  if (printing) {
    document.documentElement.classList.add("print");
    slides.forEach(function (s) { s.classList.add("current"); });
    window.deckReady = drawAll().then(function () { document.documentElement.setAttribute("data-ready", "1"); });
    return;
  }
  document.addEventListener("keydown", onKey);
  if (params.get("keys") === "parent") {
    try { window.parent.document.addEventListener("keydown", onKey); } catch (e) { /* another origin */ }
  }
  window.addEventListener("resize", fit);
  fit();
  var start = Number((location.hash || "#1").slice(1)) || 1;
  show(start - 1);
  window.deckReady = draw(current).then(drawAll).then(function () {
    document.documentElement.setAttribute("data-ready", "1");
  });
  window.deck = { show: show, current: function () { return current + 1; }, count: slides.length };
}());
