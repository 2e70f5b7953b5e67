// posml UI: draws the metric charts (uPlot) in every element with a
// data-chart attribute, when it scrolls into view, from the JSON that URL
// returns: {key, series: [{run, name, x: [steps], y: [values|null], total}]}.
(function () {
  "use strict";
  var palette = ["#2456c7", "#d1495b", "#1b998b", "#e09f3e", "#6a4c93", "#3d5a80", "#8ac926", "#ff595e", "#525252", "#00a6ed"];

  function draw(el, data) {
    el.textContent = "";
    var series = data.series.filter(function (s) { return s.x.length > 0; });
    if (series.length === 0) {
      el.innerHTML = '<p class="empty">No values.</p>';
      return;
    }
    var aligned = series.length === 1
      ? [series[0].x, series[0].y]
      : uPlot.join(series.map(function (s) { return [s.x, s.y]; }));
    var opts = {
      width: Math.max(el.clientWidth, 280),
      height: 220,
      scales: { x: { time: false } },
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      axes: [{ label: "step", size: 36 }, { size: 60 }],
      series: [{ label: "step" }].concat(series.map(function (s, i) {
        return { label: s.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: series.length > 1, points: { show: s.x.length < 50 } };
      })),
    };
    var plot = new uPlot(opts, aligned, el);
    var shown = series.reduce(function (n, s) { return n + s.x.length; }, 0);
    var total = series.reduce(function (n, s) { return n + s.total; }, 0);
    var note = document.createElement("p");
    note.className = "note";
    var values = total.toLocaleString() + (total === 1 ? " value" : " values");
    note.textContent = shown < total
      ? values + ", drawn with " + shown.toLocaleString() + " points (min/max of each bucket kept). Drag to zoom, double-click to reset."
      : values + ". Drag to zoom, double-click to reset.";
    el.appendChild(note);
    el.dataset.drawn = String(shown);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(el.clientWidth, 280);
        if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: 220 });
      }).observe(el);
    }
  }

  function load(el) {
    if (el.dataset.loading) return;
    el.dataset.loading = "1";
    fetch(el.dataset.chart, { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) { draw(el, data); })
      .catch(function (err) {
        el.innerHTML = "";
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = "Could not load the chart: " + err.message;
        el.appendChild(p);
      });
  }

  function init(root) {
    var els = root.querySelectorAll ? root.querySelectorAll("[data-chart]") : [];
    if (!els.length) return;
    if (!window.IntersectionObserver) {
      els.forEach(load);
      return;
    }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) {
          io.unobserve(e.target);
          load(e.target);
        }
      });
    }, { rootMargin: "200px" });
    els.forEach(function (el) { io.observe(el); });
  }

  // Keep the compare button honest: 2 to 10 runs.
  function compareForm(root) {
    var form = root.querySelector && root.querySelector("#compare-form");
    if (!form) return;
    var button = form.querySelector("#compare-button");
    var update = function () {
      var n = form.querySelectorAll('input[name="run"]:checked').length;
      button.disabled = n < 2 || n > 10;
      button.textContent = n ? "Compare " + n + " selected" : "Compare selected";
    };
    form.addEventListener("change", update);
    update();
  }

  // Follows a pipeline run's log (server-sent events of the REST API's
  // /api/posml/runs/{id}/logs?follow=1) into every pre[data-log]: a line
  // per message, a header per attempt, and the final state at the end.
  var streams = [];
  function follow(root) {
    // Close the streams of logs no longer in the page (htmx swapped them out).
    streams = streams.filter(function (s) {
      if (document.contains(s.pre)) return true;
      s.es.close();
      return false;
    });
    var els = root.querySelectorAll ? root.querySelectorAll("pre[data-log]") : [];
    els.forEach(function (pre) {
      if (pre.dataset.following) return;
      pre.dataset.following = "1";
      var status = document.getElementById(pre.getAttribute("aria-describedby"));
      var es = new EventSource(pre.dataset.log);
      streams.push({ es: es, pre: pre });
      var add = function (text, cls) {
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        var node = cls ? document.createElement("span") : document.createTextNode(text + "\n");
        if (cls) { node.className = cls; node.textContent = text; }
        pre.appendChild(node);
        pre.dataset.lines = String(Number(pre.dataset.lines || 0) + (cls ? 0 : 1));
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      };
      es.onmessage = function (e) { add(e.data); };
      es.addEventListener("attempt", function (e) { add("── attempt " + e.data + " ──", "attempt"); });
      es.addEventListener("end", function (e) {
        es.close();
        var end = {};
        try { end = JSON.parse(e.data); } catch (err) { /* keep {} */ }
        add("── run " + (end.state || "ended") + (end.reason ? ": " + end.reason : "") + " ──", "end");
        pre.dataset.ended = end.state || "ended";
        if (status) status.textContent = "The run has ended (" + (end.state || "?") + "); this is its whole log.";
      });
      es.onerror = function () {
        if (pre.dataset.ended) return;
        if (status) status.textContent = "Lost the log stream; retrying…";
      };
      es.onopen = function () {
        if (status && !pre.dataset.ended) status.textContent = "Following the log as it grows…";
      };
    });
  }
  function stopStreams() {
    streams.forEach(function (s) { s.es.close(); });
    streams = [];
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail && e.detail.boosted) stopStreams();
  });
  document.addEventListener("htmx:beforeHistorySave", stopStreams);
  window.addEventListener("pagehide", stopStreams);

  function boot() {
    if (window.htmx) {
      htmx.onLoad(function (el) { init(el); compareForm(el); follow(el); });
    } else {
      init(document);
      compareForm(document);
      follow(document);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
