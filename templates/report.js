// Draws the charts and explorers from the JSON blocks in the page. Everything is local: no network.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawChart(div) {
    var spec = readJSON(div.dataset.spec);
    if (spec) { Plotly.newPlot(div, spec.data, spec.layout, config); }
  }

  function drawExplorer(div) {
    var data = readJSON(div.dataset.explorer);
    if (!data) { return; }
    var groups = {}, order = [];
    for (var i = 0; i < data.x.length; i++) {
      var key = data.colour[i];
      if (!(key in groups)) { groups[key] = { x: [], y: [], customdata: [], text: [] }; order.push(key); }
      groups[key].x.push(data.x[i]); groups[key].y.push(data.y[i]);
      groups[key].customdata.push(i); groups[key].text.push("row " + data.rows[i]);
    }
    var traces = order.map(function (key) {
      var g = groups[key];
      return { type: "scatter", mode: "markers", name: String(key), x: g.x, y: g.y, customdata: g.customdata,
               text: g.text, hoverinfo: "text+name", marker: { size: 5, opacity: 0.8 } };
    });
    // Flagged points (outliers, neighbours with another label) get a ring drawn over their coloured dot.
    var ring = { x: [], y: [], customdata: [], text: [] };
    for (var j = 0; j < (data.flags || []).length; j++) {
      if (data.flags[j]) {
        ring.x.push(data.x[j]); ring.y.push(data.y[j]); ring.customdata.push(j);
        ring.text.push("row " + data.rows[j] + ": " + data.flags[j]);
      }
    }
    if (ring.x.length) {
      traces.push({ type: "scatter", mode: "markers", name: "flagged", x: ring.x, y: ring.y,
                    customdata: ring.customdata, text: ring.text, hoverinfo: "text",
                    marker: { size: 11, symbol: "circle-open", color: "#111", line: { width: 1.5 } } });
    }
    var layout = { margin: { l: 30, r: 10, t: 10, b: 30 }, height: 560, legend: { itemsizing: "constant" },
                   xaxis: { showticklabels: false, zeroline: false }, yaxis: { showticklabels: false, zeroline: false } };
    Plotly.newPlot(div, traces, layout, config);
    var panel = div.parentNode.querySelector(".explorer-panel");
    var img = panel.querySelector("img"), text = panel.querySelector("pre");
    div.on("plotly_hover", function (event) {
      var index = event.points[0].customdata;
      var src = data.images ? data.images[index] : null;
      if (src) { img.src = src; img.hidden = false; } else { img.hidden = true; }
      text.textContent = data.hover[index];
    });
  }

  // Plots near the viewport are drawn first; the rest are drawn one per tick in the background, so a report with
  // many charts opens fast and is complete a moment later.
  function drawOnce(node) {
    if (node.dataset.drawn) { return; }
    node.dataset.drawn = "1";
    if (node.dataset.explorer) { drawExplorer(node); } else { drawChart(node); }
  }

  var nodes = Array.prototype.slice.call(document.querySelectorAll("div.plot[data-spec], div.plot[data-explorer]"));
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { observer.unobserve(entry.target); drawOnce(entry.target); }
      });
    }, { rootMargin: "400px" });
    nodes.forEach(function (node) { observer.observe(node); });
  }
  var next = 0;
  (function background() {
    while (next < nodes.length && nodes[next].dataset.drawn) { next++; }
    if (next < nodes.length) { drawOnce(nodes[next]); setTimeout(background, 15); }
  })();
})();
