// The dashboard's live updates: the server sends the whole state as a "dashboard" event
// whenever a call ends or a line changes, and this puts it in place. Text goes in with
// textContent only: caller numbers and operator names come from outside.
"use strict";
(function () {
  if (!window.EventSource) {
    return;
  }
  var reloadTimer = 0;
  function reloadSoon(ms) {
    if (!reloadTimer) {
      reloadTimer = setTimeout(function () { location.reload(); }, ms);
    }
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function setText(id, value) {
    var e = document.getElementById(id);
    if (e && e.textContent !== String(value)) { e.textContent = String(value); }
  }
  function sameLines(lines) {
    var list = document.getElementById("lines");
    var cards = list ? list.children : [];
    if (cards.length !== lines.length) { return false; }
    for (var i = 0; i < lines.length; i++) {
      if (cards[i].id !== "line-" + lines[i].id) { return false; }
    }
    return true;
  }
  function updateLine(card, l, w) {
    var state = card.querySelector(".line-head .state");
    if (state) { state.textContent = l.state; state.className = "state state-" + l.state_class; }
    var op = card.querySelector(".operator");
    if (op) {
      op.replaceChildren();
      if (l.operator) {
        op.append(l.operator);
        if (l.roaming) { op.append(" ", el("span", "muted", "(" + w.roaming + ")")); }
      } else {
        op.append(el("span", "muted", w.no_operator));
      }
    }
    var bars = card.querySelector(".bars");
    if (bars) { bars.className = "bars bars-" + l.bars; bars.setAttribute("aria-label", l.bars_label); }
    var dbm = card.querySelector(".dbm");
    if (dbm) { dbm.textContent = l.dbm ? l.dbm + " dBm" : ""; }
    var sim = card.querySelector(".sim");
    if (sim) { sim.textContent = l.sim; }
    var call = card.querySelector(".call");
    if (!call) { return; }
    call.replaceChildren();
    if (!l.in_call) {
      call.append(el("span", "muted", w.idle));
      return;
    }
    if (l.call_number && l.call_tel) {
      var a = el("a", "number", l.call_number);
      a.href = l.call_tel;
      call.append(a);
    } else if (l.call_number) {
      call.append(el("span", "number", l.call_number));
    } else {
      call.append(el("span", "muted", w.hidden));
    }
    if (l.call_since) {
      var since = el("span", "muted since", w.since + " ");
      var t = el("time", "", l.call_since);
      t.setAttribute("datetime", l.call_since_iso);
      since.append(t, " · " + l.call_for);
      call.append(" ", since);
    }
  }
  function apply(d) {
    setText("today-answered", d.today.answered);
    setText("today-missed", d.today.missed);
    setText("today-voicemail", d.today.voicemail);
    setText("today-total", d.today.total);
    setText("active-calls", d.active_calls);
    var alerts = document.getElementById("alerts");
    if (alerts) {
      var shown = Array.prototype.map.call(alerts.children, function (p) { return p.textContent; });
      if (shown.join("\n") !== d.alerts.join("\n")) {
        alerts.replaceChildren();
        d.alerts.forEach(function (text) {
          var p = el("p", "error alert", text);
          p.setAttribute("role", "alert");
          alerts.append(p);
        });
      }
    }
    if (!sameLines(d.lines)) {
      reloadSoon(0); // a line came or went: the page draws the cards anew
      return;
    }
    d.lines.forEach(function (l) {
      var card = document.getElementById("line-" + l.id);
      if (card) { updateLine(card, l, d.words); }
    });
    document.body.setAttribute("data-live", "1");
  }
  var note = document.getElementById("live-note");
  if (note) { note.hidden = false; }
  var es = new EventSource("/events");
  es.addEventListener("dashboard", function (ev) {
    try {
      apply(JSON.parse(ev.data));
    } catch (e) {
      reloadSoon(15000);
    }
  });
  es.onerror = function () {
    // A closed stream (logged out, the box restarting) falls back to reloading the page,
    // which also leads to the login when the session is gone.
    if (es.readyState === EventSource.CLOSED) {
      reloadSoon(15000);
    }
  };
})();
