// The report's behaviour: charts, the t-SNE map, finding montages, the samples explorer and the row detail view.
// Everything is local: no network. Text handed to plotly goes through plotlyText (plotly renders HTML in labels);
// text put in the page goes through textContent, never innerHTML.
(function () {
  "use strict";
  performance.mark("audit-script-start");
  var PAGE_SIZE = 50, STRIP_TILES = 5, MONTAGE_TILES = 60, RELATED_MAX = 50, RELATED_TILES = 24;
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
                 "#dbdb8d", "#9edae5"];
  var data = readJSON("explorer-data");
  var config = data.plotlyConfig;
  var count = data.count;
  var columns = data.columns, byName = {};
  columns.forEach(function (c) { byName[c.name] = c; });
  var findings = data.findings, rowFindings = new Array(count);
  findings.forEach(function (f) {
    f.members.forEach(function (i) { (rowFindings[i] = rowFindings[i] || []).push(f.id); });
  });
  var missingTiles = {};
  if (data.sprites) { data.sprites.missing.forEach(function (i) { missingTiles[i] = true; }); }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function value(column, i) {  // the encodings of explorer.py
    if (!column) { return null; }
    if ("constant" in column) { return column.constant; }
    if (column.kind === "cat") { return column.levels[column.codes[i]]; }
    if (column.start !== undefined) { return column.start + i; }
    if (column.folders) { return column.folders[column.folderCodes[i]] + column.names[i]; }
    return column.values[i];
  }
  function plotlyText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function unescapePlotly(text) {
    return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function formatNumber(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v !== "number") { return String(v); }
    if (Math.abs(v) >= 1e21) { return String(v); }  // "1.7e+308", not 309 grouped digits (JS writes 1e21 up so)
    return Number.isInteger(v) ? v.toLocaleString("en") : String(Number(v.toPrecision(4)));
  }
  function plural(n, noun) { return n.toLocaleString("en") + " " + noun + (n === 1 ? "" : "s"); }

  // ---- thumbnails: sprite sheets become one CSS rule each; a tile is a background position ----------------------
  (function installSheets() {
    if (!data.sprites) { return; }
    var style = document.createElement("style");
    document.head.appendChild(style);
    data.sprites.sheets.forEach(function (uri, k) {
      style.sheet.insertRule(".sp-" + k + " { background-image: url(\"" + uri + "\"); }", style.sheet.cssRules.length);
    });
  })();

  function describeRow(i) {
    var label = value(byName.label, i), path = value(byName.path, i);
    return "row " + value(byName.row, i) + (label !== null && label !== undefined ? ", label " + label : "") +
      (path ? ": " + path : "");
  }

  function paintThumb(node, i, size) {
    node.textContent = "";
    node.style.width = size + "px"; node.style.height = size + "px";
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", describeRow(i));
    var sprites = data.sprites;
    if (!sprites || missingTiles[i]) {
      node.classList.add("noimg"); node.textContent = sprites ? "no image" : "";
      return;
    }
    if (data.big[i] && size > sprites.side) {
      var img = el("img"); img.src = data.big[i]; img.alt = describeRow(i);
      img.style.width = size + "px"; img.style.height = size + "px";
      node.appendChild(img);
      return;
    }
    var cell = i % sprites.perSheet, scale = size / sprites.side;
    node.classList.add("sp-" + Math.floor(i / sprites.perSheet));
    node.style.backgroundSize = (sprites.perLine * size) + "px auto";
    node.style.backgroundPosition = -(cell % sprites.perLine) * size + "px " +
      -Math.floor(cell / sprites.perLine) * size * 1 + "px";
    if (scale > 1) { node.classList.add("pixelated"); }
  }
  function thumb(i, size) {
    var node = el("span", "thumb");
    paintThumb(node, i, size);
    return node;
  }
  function tile(i, caption) {
    var figure = el("figure", "tile");
    figure.dataset.i = i; figure.tabIndex = 0; figure.setAttribute("role", "button");
    figure.title = describeRow(i);
    figure.appendChild(thumb(i, 96));
    var cap = el("figcaption");
    cap.appendChild(el("span", "row", "row " + value(byName.row, i)));
    var label = value(byName.label, i), split = value(byName.split, i);
    if (label !== null && label !== undefined) { cap.appendChild(el("span", "label", label)); }
    if (split) { cap.appendChild(el("span", "split", split)); }
    if (caption) { cap.appendChild(el("span", "cap", caption)); }
    cap.appendChild(el("span", "path", value(byName.path, i) || ""));
    figure.appendChild(cap);
    return figure;
  }
  function smallTile(i) {
    var figure = el("figure", "tile small");
    figure.dataset.i = i; figure.tabIndex = 0; figure.setAttribute("role", "button"); figure.title = describeRow(i);
    figure.appendChild(thumb(i, 32));
    return figure;
  }
  function paintStrips() {  // the first images of every finding, in its collapsed line
    Array.prototype.forEach.call(document.querySelectorAll("span.strip[data-strip]"), function (strip) {
      var members = findings[Number(strip.dataset.strip)].members;
      members.slice(0, STRIP_TILES).forEach(function (i) { strip.appendChild(smallTile(i)); });
      if (members.length > STRIP_TILES) { strip.appendChild(el("span", "muted", "+" + (members.length - STRIP_TILES).toLocaleString("en"))); }
    });
  }
  function paintAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll("span.thumb[data-i]"), function (node) {
      var small = node.closest(".tile.small");
      paintThumb(node, Number(node.dataset.i), small ? 32 : 96);
    });
  }

  // ---- copy paths / download CSV ---------------------------------------------------------------------------------
  function csvCell(v) {
    var text = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(text) ? "\"" + text.replace(/"/g, "\"\"") + "\"" : text;
  }
  function findingRowsCSV(list) {
    var lines = [["analyser", "kind", "severity", "row", "path", "label", "split", "message"].join(",")];
    list.forEach(function (f) {
      f.members.forEach(function (i) {
        lines.push([f.analyser, f.kind, f.severity, value(byName.row, i), value(byName.path, i),
                    value(byName.label, i), value(byName.split, i), f.message].map(csvCell).join(","));
      });
      if (!f.members.length) { lines.push([f.analyser, f.kind, f.severity, "", "", "", "", f.message].map(csvCell).join(",")); }
    });
    return lines.join("\n") + "\n";
  }
  function rowsCSV(indices) {
    var lines = [columns.map(function (c) { return csvCell(c.name); }).concat(["findings"]).join(",")];
    indices.forEach(function (i) {
      lines.push(columns.map(function (c) { return csvCell(value(c, i)); })
        .concat([csvCell((rowFindings[i] || []).map(function (id) { return findings[id].kind; }).join("; "))]).join(","));
    });
    return lines.join("\n") + "\n";
  }
  function pathsOf(indices) {
    var seen = {}, out = [];
    indices.forEach(function (i) {
      var p = value(byName.path, i);
      if (p && !seen[p]) { seen[p] = true; out.push(p); }
    });
    return out;
  }
  function download(name, text) {
    var link = el("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    link.download = name;
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }
  function copyText(text, button, what) {
    function done(ok) {
      var old = button.dataset.label || button.textContent;
      button.dataset.label = old;
      button.textContent = ok ? "copied " + what : "copy failed";
      setTimeout(function () { button.textContent = old; }, 2000);
    }
    var area = el("textarea"); area.value = text; area.setAttribute("readonly", "");
    area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    if (!ok && navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else { done(ok); }
  }
  function findingsFor(button) {
    if (button.dataset.finding !== undefined) { return [findings[Number(button.dataset.finding)]]; }
    return findings.filter(function (f) { return f.section === button.dataset.section; });
  }
  function membersOf(list) {
    var out = [];
    list.forEach(function (f) { out = out.concat(f.members); });
    return out;
  }

  // ---- charts and the map ----------------------------------------------------------------------------------------
  function drawChart(div) {
    var spec = readJSON(div.dataset.spec);
    if (!spec) { return; }
    Plotly.newPlot(div, spec.data, spec.layout, config);
    var labels = byName.label;
    if (!labels) { return; }
    div.on("plotly_click", function (event) {  // a bar of a per-class chart filters the explorer by that class
      var point = event.points[0];
      var candidates = [point.x, point.y, point.label].filter(function (v) { return typeof v === "string"; })
        .map(unescapePlotly);
      for (var k = 0; k < candidates.length; k++) {
        if (labels.kind === "cat" ? labels.levels.indexOf(candidates[k]) >= 0 : false) {
          setState({ label: candidates[k] }, true);
          return;
        }
      }
    });
  }

  function drawMap(div) {
    var map = readJSON(div.dataset.map);
    if (!map) { return; }
    var groups = {}, order = [];
    for (var i = 0; i < map.x.length; i++) {
      var key = map.colour[i];
      if (!(key in groups)) { groups[key] = { x: [], y: [], customdata: [], text: [], rx: [], ry: [], rc: [], rt: [] }; order.push(key); }
      var g = groups[key];
      g.x.push(map.x[i]); g.y.push(map.y[i]); g.customdata.push(i); g.text.push(plotlyText(map.hover[i].split("\n")[0]));
      if (map.flags[i]) {  // flagged points get a ring in their class's legend group: isolating a class keeps them
        g.rx.push(map.x[i]); g.ry.push(map.y[i]); g.rc.push(i); g.rt.push(plotlyText(map.flags[i]));
      }
    }
    var traces = [];
    order.forEach(function (key, k) {
      var g = groups[key], name = plotlyText(key);
      // Colours are set per class: plotly would count the ring traces too and give two classes one colour.
      traces.push({ type: "scatter", mode: "markers", name: name, legendgroup: name, x: g.x, y: g.y,
                    customdata: g.customdata, text: g.text, hoverinfo: "text+name",
                    marker: { size: 5, opacity: 0.8, color: PALETTE[k % PALETTE.length] } });
      if (g.rx.length) {
        traces.push({ type: "scatter", mode: "markers", name: name + " (flagged)", legendgroup: name, showlegend: false,
                      x: g.rx, y: g.ry, customdata: g.rc, text: g.rt, hoverinfo: "text",
                      marker: { size: 11, symbol: "circle-open", color: "#111", line: { width: 1.5 } } });
      }
    });
    // The legend sits under the map, away from the mode bar in the top right corner.
    var layout = { margin: { l: 20, r: 10, t: 36, b: 20 }, height: 600, dragmode: "select",
                   legend: { itemsizing: "constant", orientation: "h", y: -0.02, yanchor: "top" },
                   xaxis: { showticklabels: false, zeroline: false }, yaxis: { showticklabels: false, zeroline: false } };
    Plotly.newPlot(div, traces, layout, config);
    var wrap = div.parentNode, panel = wrap.querySelector(".map-panel");
    var picture = panel.querySelector(".thumb"), text = panel.querySelector("pre");
    div.on("plotly_hover", function (event) {
      var point = map.index[event.points[0].customdata];
      paintThumb(picture, point, 192); picture.hidden = false;
      text.textContent = map.hover[event.points[0].customdata];
    });
    div.on("plotly_click", function (event) { openDetail(map.index[event.points[0].customdata]); });
    var selection = wrap.nextElementSibling;
    div.on("plotly_selected", function (event) {
      if (!event || !event.points) { return; }
      var seen = {}, picked = [];
      event.points.forEach(function (p) {
        var index = map.index[p.customdata];
        if (!seen[index]) { seen[index] = true; picked.push(index); }
      });
      showSelection(selection, picked);
      setState({ selection: picked }, false);
    });
    div.on("plotly_deselect", function () { showSelection(selection, []); setState({ selection: null }, false); });
    selection.querySelector(".selection-clear").addEventListener("click", function () {
      Plotly.restyle(div, { selectedpoints: [null] });
      showSelection(selection, []); setState({ selection: null }, false);
    });
  }
  function showSelection(box, picked) {
    box.hidden = !picked.length;
    box.querySelector(".selection-count").textContent = plural(picked.length, "image") + " selected" +
      (picked.length > MONTAGE_TILES ? " (the first " + MONTAGE_TILES + " shown)" : "") + ".";
    var montage = box.querySelector(".montage");
    montage.textContent = "";
    picked.slice(0, MONTAGE_TILES).forEach(function (i) { montage.appendChild(tile(i)); });
  }

  // ---- finding montages (drawn when a finding is opened) ---------------------------------------------------------
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.dataset || details.dataset.finding === undefined || details.dataset.drawn) { return; }
    details.dataset.drawn = "1";
    var finding = findings[Number(details.dataset.finding)];
    var montage = details.querySelector(".montage");
    finding.members.slice(0, MONTAGE_TILES).forEach(function (i) { montage.appendChild(tile(i)); });
    var unlisted = finding.rows - finding.members.length;  // above the explorer's row cap (findings.json has all)
    if (finding.members.length > MONTAGE_TILES) {
      montage.appendChild(el("div", "more", "+" + (finding.members.length - MONTAGE_TILES).toLocaleString("en") +
        " more: \"show in the explorer\" lists " + (unlisted > 0 ? "those in this page" : "them all")));
    }
    if (unlisted > 0) {
      montage.appendChild(el("div", "more", plural(unlisted, "more row") + " not in this page (it lists at most " +
        data.cap.toLocaleString("en") + " rows): findings.json lists them all"));
    }
  }, true);

  // ---- the explorer ----------------------------------------------------------------------------------------------
  var explorer = document.getElementById("explorer");
  var form = explorer.querySelector("form.filters");
  var state = { q: "", analyser: "", kind: "", severity: "", label: "", split: "", finding: "", sort: "", page: 1,
                selection: null };
  var searchText = null, current = [], selectionSet = null;
  var FILTER_KEYS = ["q", "analyser", "kind", "severity", "label", "split", "finding", "sort", "page"];

  function fillSelect(name, values) {
    var select = form.elements[name];
    if (!select) { return; }
    values.forEach(function (v) { var option = el("option", "", v); option.value = v; select.appendChild(option); });
  }
  function distinct(list) {
    var seen = {}, out = [];
    list.forEach(function (v) { if (!seen[v]) { seen[v] = true; out.push(v); } });
    return out.sort();
  }
  fillSelect("analyser", distinct(findings.map(function (f) { return f.analyser; })));
  fillSelect("kind", distinct(findings.map(function (f) { return f.kind; })));
  ["label", "split"].forEach(function (name) {
    var column = byName[name];
    if (!column) { form.elements[name].closest("label").hidden = true; return; }
    fillSelect(name, column.kind === "cat" ? column.levels.slice() : distinct(column.values));
  });

  function rowText(i) {
    if (!searchText) {
      var textual = columns.filter(function (c) { return c.kind !== "num"; });
      searchText = new Array(count);
      for (var r = 0; r < count; r++) {
        var parts = [];
        for (var k = 0; k < textual.length; k++) { parts.push(value(textual[k], r)); }
        searchText[r] = parts.join("\u0001").toLowerCase();
      }
    }
    return searchText[i];
  }
  function findingMatches(i) {
    var ids = rowFindings[i] || [];
    if (state.severity === "none") { return ids.length === 0 && !state.analyser && !state.kind && state.finding === ""; }
    if (!state.analyser && !state.kind && !state.severity && state.finding === "") { return true; }
    for (var k = 0; k < ids.length; k++) {
      var f = findings[ids[k]];
      if ((state.finding === "" || String(f.id) === String(state.finding)) &&
          (!state.analyser || f.analyser === state.analyser) && (!state.kind || f.kind === state.kind) &&
          (!state.severity || state.severity === "flagged" || f.severity === state.severity)) { return true; }
    }
    return false;
  }
  function filtered() {
    var out = [], q = state.q.toLowerCase().trim();
    var label = byName.label, split = byName.split;
    for (var i = 0; i < count; i++) {
      if (selectionSet && !selectionSet[i]) { continue; }
      if (state.label && String(value(label, i)) !== state.label) { continue; }
      if (state.split && String(value(split, i)) !== state.split) { continue; }
      if (!findingMatches(i)) { continue; }
      if (q && rowText(i).indexOf(q) < 0) { continue; }
      out.push(i);
    }
    if (state.sort) {
      var descending = state.sort.charAt(0) === "-", column = byName[state.sort.replace(/^-/, "")];
      if (column) {
        var keys = out.map(function (i) { return value(column, i); });
        var order = out.map(function (_, k) { return k; });
        order.sort(function (a, b) {
          var x = keys[a], y = keys[b];
          var xMissing = x === null || x === undefined || x === "", yMissing = y === null || y === undefined || y === "";
          if (xMissing || yMissing) { return xMissing === yMissing ? a - b : xMissing ? 1 : -1; }  // blanks last
          var c = x < y ? -1 : x > y ? 1 : 0;
          return (descending ? -c : c) || a - b;
        });
        out = order.map(function (k) { return out[k]; });
      }
    }
    return out;
  }

  // A column with one value in every row (CIFAR-10's width, format, ...) is left to the detail view.
  function varies(c) { return !("constant" in c); }
  var shownColumns = ["row", "path", "label", "split"].filter(function (n) { return byName[n]; })
    .map(function (n) { return byName[n]; })
    .concat(columns.filter(function (c) { return c.group === "score"; }))
    .concat(columns.filter(function (c) { return c.group === "image" && c.kind === "num" && varies(c); }))
    .concat(columns.filter(function (c) { return c.group === "image" && c.kind !== "num" && varies(c); }))
    .concat(columns.filter(function (c) {
      return c.group === "table" && varies(c) && ["row", "path", "label", "split"].indexOf(c.name) < 0;
    }));
  var table = explorer.querySelector("table.rows-table");

  function drawHeader() {
    var tr = el("tr");
    var base = ["row", "path", "label", "split"].filter(function (n) { return byName[n]; }).length;
    var headers = (data.sprites ? [{ name: "", text: "image" }] : []).concat(shownColumns.map(function (c) {
      return { name: c.name, text: c.name, kind: c.kind };
    }));
    // The findings go after path/label/split: where the eye looks next.
    headers.splice((data.sprites ? 1 : 0) + base, 0, { name: "findings", text: "findings" });
    headers.forEach(function (h) {
      var th = el("th"); th.scope = "col";
      if (h.name && h.name !== "findings") {
        var button = el("button", "sort", h.text); button.type = "button"; button.dataset.sort = h.name;
        var active = state.sort.replace(/^-/, "") === h.name;
        th.setAttribute("aria-sort", active ? (state.sort.charAt(0) === "-" ? "descending" : "ascending") : "none");
        if (active) { button.textContent += state.sort.charAt(0) === "-" ? " \u25BC" : " \u25B2"; }
        if (h.kind === "num") { th.className = "num"; }
        th.appendChild(button);
      } else { th.textContent = h.text; }
      tr.appendChild(th);
    });
    var head = table.querySelector("thead"); head.textContent = ""; head.appendChild(tr);
    return headers;
  }

  function findingChips(i) {
    var box = el("span", "chips");
    (rowFindings[i] || []).slice(0, 6).forEach(function (id) {
      var f = findings[id];
      var chip = el("span", "chip sev-" + f.severity, f.kind); chip.title = f.analyser + ": " + f.message;
      box.appendChild(chip);
    });
    if ((rowFindings[i] || []).length > 6) { box.appendChild(el("span", "muted", "+" + (rowFindings[i].length - 6))); }
    return box;
  }

  function render() {
    current = filtered();
    var pages = Math.max(1, Math.ceil(current.length / PAGE_SIZE));
    state.page = Math.min(Math.max(1, Number(state.page) || 1), pages);
    var headers = drawHeader();
    var body = table.querySelector("tbody"), fragment = document.createDocumentFragment();
    current.slice((state.page - 1) * PAGE_SIZE, state.page * PAGE_SIZE).forEach(function (i) {
      var tr = el("tr"); tr.dataset.i = i; tr.tabIndex = 0;
      headers.forEach(function (h) {
        var td = el("td");
        if (!h.name) { td.appendChild(thumb(i, 40)); } else if (h.name === "findings") { td.appendChild(findingChips(i)); } else {
          var v = value(byName[h.name], i);
          td.textContent = h.kind === "num" ? formatNumber(v) : (v === null || v === undefined ? "" : String(v));
          if (h.kind === "num") { td.className = "num"; }
          if (h.name === "path") { td.className = "path"; }
        }
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.textContent = ""; body.appendChild(fragment);
    var status = explorer.querySelector(".explorer-status");
    status.textContent = plural(current.length, "row") + " of " + count.toLocaleString("en") + " match" +
      (selectionSet ? " (within the " + plural(Object.keys(selectionSet).length, "point") + " selected on the map)" : "") +
      (state.finding !== "" && findings[state.finding] ? "; finding: " + findings[state.finding].kind + " (" +
        findings[state.finding].analyser + ")" : "") + ".";
    drawPager(pages);
    syncForm();
    writeHash();
  }
  function drawPager(pages) {
    var pager = explorer.querySelector(".pager"); pager.textContent = "";
    function add(text, page, disabled) {
      var b = el("button", "", text); b.type = "button"; b.disabled = disabled; b.dataset.page = page; pager.appendChild(b);
    }
    add("\u00AB first", 1, state.page === 1); add("\u2039 previous", state.page - 1, state.page === 1);
    pager.appendChild(el("span", "", " page " + state.page + " of " + pages.toLocaleString("en") + " "));
    add("next \u203A", state.page + 1, state.page === pages); add("last \u00BB", pages, state.page === pages);
  }
  function syncForm() {
    ["q", "analyser", "kind", "severity", "label", "split"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value !== state[name]) {
        if (field.tagName === "SELECT" && state[name] && !Array.prototype.some.call(field.options, function (o) { return o.value === state[name]; })) {
          var option = el("option", "", state[name]); option.value = state[name]; field.appendChild(option);
        }
        field.value = state[name];
      }
    });
  }
  var MAX_SELECTION_IN_HASH = 2000;
  function writeHash() {
    var params = new URLSearchParams();
    FILTER_KEYS.forEach(function (key) {
      if (state[key] !== "" && !(key === "page" && Number(state[key]) === 1)) { params.set(key, state[key]); }
    });
    // A map selection is part of the view too, while it stays short enough for an address (a few thousand rows).
    var picked = selectionSet ? Object.keys(selectionSet) : [];
    if (picked.length && picked.length <= MAX_SELECTION_IN_HASH) { params.set("sel", picked.join(".")); }
    var text = params.toString();
    var hash = text ? "#explorer?" + text : (location.hash.indexOf("#explorer") === 0 ? "#explorer" : location.hash);
    if (hash !== location.hash) { history.replaceState(null, "", hash || location.pathname); }
  }
  function readHash() {
    var hash = location.hash;
    if (hash.indexOf("#explorer?") !== 0) { return false; }
    var params = new URLSearchParams(hash.slice("#explorer?".length));
    FILTER_KEYS.forEach(function (key) { state[key] = params.get(key) || (key === "page" ? 1 : ""); });
    selectionSet = null;
    if (params.get("sel")) {
      selectionSet = {};
      params.get("sel").split(".").forEach(function (i) { if (/^[0-9]+$/.test(i)) { selectionSet[Number(i)] = true; } });
    }
    return true;
  }
  function setState(changes, scroll) {
    Object.keys(changes).forEach(function (key) { state[key] = changes[key]; });
    if ("selection" in changes) {
      selectionSet = null;
      if (changes.selection) { selectionSet = {}; changes.selection.forEach(function (i) { selectionSet[i] = true; }); }
    }
    if (!("page" in changes)) { state.page = 1; }
    render();
    if (scroll) { explorer.scrollIntoView(); }
  }

  var searchTimer = null;
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("input", function (event) {
    var field = event.target;
    if (field.name === "q") {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () { setState({ q: field.value }, false); }, 150);
    } else if (field.name) {
      var change = {}; change[field.name] = field.value; setState(change, false);
    }
  });
  form.querySelector(".reset").addEventListener("click", function () {
    setState({ q: "", analyser: "", kind: "", severity: "", label: "", split: "", finding: "", sort: "", selection: null }, false);
  });
  table.addEventListener("click", function (event) {
    var sort = event.target.closest("button.sort");
    if (sort) {
      var name = sort.dataset.sort, column = byName[name];
      var first = column.kind === "num" ? "-" + name : name;  // numbers sort largest first: that is where problems are
      setState({ sort: state.sort === first ? (first.charAt(0) === "-" ? name : "-" + name) : first }, false);
      return;
    }
    var tr = event.target.closest("tbody tr");
    if (tr) { openDetail(Number(tr.dataset.i)); }
  });
  explorer.querySelector(".pager").addEventListener("click", function (event) {
    var b = event.target.closest("button[data-page]");
    if (b && !b.disabled) { setState({ page: Number(b.dataset.page) }, false); table.scrollIntoView(); }
  });
  (function explorerTools() {
    var tools = explorer.querySelector(".explorer-tools");
    var copy = el("button", "", "copy paths of the matching rows"); copy.type = "button";
    var csv = el("button", "", "download the matching rows as CSV"); csv.type = "button";
    copy.addEventListener("click", function () { var p = pathsOf(current); copyText(p.join("\n") + "\n", copy, plural(p.length, "path")); });
    csv.addEventListener("click", function () { download("rows.csv", rowsCSV(current)); });
    tools.appendChild(copy); tools.appendChild(csv);
  })();

  // A class x finding-kind table: which classes carry which problems. A cell filters the explorer.
  (function pivot() {
    var labels = byName.label;
    if (!labels || labels.kind !== "cat" || !findings.length) { return; }
    var kinds = distinct(findings.map(function (f) { return f.kind; }));
    var counts = {}, seen = {};
    findings.forEach(function (f) {
      f.members.forEach(function (i) {
        var key = labels.codes[i] + "\u0001" + f.kind;
        if (seen[key + "\u0001" + i]) { return; }
        seen[key + "\u0001" + i] = true;
        counts[key] = (counts[key] || 0) + 1;
      });
    });
    var details = el("details", "pivot"); details.open = labels.levels.length <= 30;
    details.appendChild(el("summary", "", "Rows with each kind of finding, per class (click a number to list them)"));
    var wrap = el("div", "table-scroll"), grid = el("table", "grid pivot-table"), head = el("tr");
    head.appendChild(el("th", "", "class"));
    kinds.forEach(function (k) { var th = el("th", "num", k); th.scope = "col"; head.appendChild(th); });
    var thead = el("thead"); thead.appendChild(head); grid.appendChild(thead);
    var body = el("tbody");
    labels.levels.forEach(function (level, code) {
      var tr = el("tr"); var th = el("th", "", level); th.scope = "row"; tr.appendChild(th);
      kinds.forEach(function (k) {
        var n = counts[code + "\u0001" + k] || 0, td = el("td", "num");
        if (n) { var b = el("button", "cell", n.toLocaleString("en")); b.type = "button"; b.dataset.label = level; b.dataset.kind = k; td.appendChild(b); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    grid.appendChild(body); wrap.appendChild(grid); details.appendChild(wrap);
    details.addEventListener("click", function (event) {
      var b = event.target.closest("button.cell");
      if (b) { setState({ label: b.dataset.label, kind: b.dataset.kind, analyser: "", severity: "", finding: "" }, false); }
    });
    explorer.querySelector(".pivot-wrap").appendChild(details);
  })();

  // ---- the detail view -------------------------------------------------------------------------------------------
  var dialog = document.getElementById("detail"), shownRow = null;
  function openDetail(i) {
    shownRow = i;
    document.getElementById("detail-title").textContent = describeRow(i);
    var body = dialog.querySelector(".detail-body"); body.textContent = "";
    var top = el("div", data.sprites ? "detail-top" : "detail-top no-image");
    if (data.sprites) { top.appendChild(thumb(i, 256)); }
    var values = el("table", "kv");
    columns.forEach(function (c) {
      var v = value(c, i);
      if (v === null || v === undefined || v === "") { return; }
      var tr = el("tr"); tr.appendChild(el("th", "", c.name));
      tr.appendChild(el("td", c.name === "path" ? "path" : "", c.kind === "num" ? formatNumber(v) : v));
      values.appendChild(tr);
    });
    var right = el("div"); right.appendChild(values);
    var ids = rowFindings[i] || [];
    right.appendChild(el("h3", "", ids.length ? plural(ids.length, "finding") : "No findings for this row"));
    var list = el("ul", "detail-findings");
    ids.forEach(function (id) {
      var f = findings[id], li = el("li");
      li.appendChild(el("span", "badge " + (f.severity === "error" ? "bad" : f.severity === "warning" ? "warn" : "info"), f.severity));
      li.appendChild(document.createTextNode(" " + f.analyser + " / "));
      li.appendChild(el("code", "", f.kind));
      li.appendChild(document.createTextNode(": " + f.message));
      list.appendChild(li);
    });
    right.appendChild(list); top.appendChild(right); body.appendChild(top);
    // Duplicates, leakage pairs, conflicting rows: the other members of its small group findings, side by side,
    // each once, captioned with the findings it shares.
    var related = [], shared = {};
    ids.forEach(function (id) {
      var f = findings[id];
      if (f.members.length < 2 || f.members.length > RELATED_MAX) { return; }
      f.members.forEach(function (m) {
        if (m === i) { return; }
        if (!shared[m]) { shared[m] = []; related.push(m); }
        if (shared[m].indexOf(f.kind) < 0) { shared[m].push(f.kind); }
      });
    });
    if (related.length) {
      body.appendChild(el("h3", "", "Rows in the same group (" + plural(related.length, "row") +
        (related.length > RELATED_TILES ? ", the first " + RELATED_TILES + " shown" : "") + ")"));
      var montage = el("div", "montage");
      related.slice(0, RELATED_TILES).forEach(function (m) { montage.appendChild(tile(m, shared[m].join(", "))); });
      body.appendChild(montage);
    }
    var position = current.indexOf(i);
    dialog.querySelector(".detail-prev").disabled = position <= 0;
    dialog.querySelector(".detail-next").disabled = position < 0 || position >= current.length - 1;
    if (!dialog.open) { dialog.showModal(); }
    dialog.querySelector(".detail-close").focus();
  }
  dialog.querySelector(".detail-close").addEventListener("click", function () { dialog.close(); });
  dialog.querySelector(".detail-prev").addEventListener("click", function () { step(-1); });
  dialog.querySelector(".detail-next").addEventListener("click", function () { step(1); });
  dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
  function step(delta) {
    var position = current.indexOf(shownRow) + delta;
    if (position >= 0 && position < current.length) { openDetail(current[position]); }
  }

  // ---- page-wide delegation: tiles open the detail view; copy and download buttons -------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy-paths, button.download-csv");
    if (button) {
      var list = findingsFor(button);
      if (button.classList.contains("copy-paths")) {
        var paths = pathsOf(membersOf(list));
        copyText(paths.join("\n") + "\n", button, plural(paths.length, "path"));
      } else {
        download((button.dataset.section || "finding-" + button.dataset.finding) + "-findings.csv", findingRowsCSV(list));
      }
      return;
    }
    var figure = event.target.closest(".tile[data-i]");
    if (figure && !event.target.closest("tbody")) {
      event.preventDefault(); event.stopPropagation();
      openDetail(Number(figure.dataset.i));
    }
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") { return; }
    var target = event.target;
    if (target.matches && (target.matches(".tile[data-i]") || target.matches("tbody tr[data-i]"))) {
      event.preventDefault(); openDetail(Number(target.dataset.i));
    }
  });
  window.addEventListener("hashchange", function () {
    if (readHash()) { render(); explorer.scrollIntoView(); }
  });

  // ---- start: the explorer first (it is what people click), then the plots near the viewport, then the rest ------
  var fromHash = readHash();
  paintAll(document);
  paintStrips();
  render();
  if (fromHash) { explorer.scrollIntoView(); }

  function drawOnce(node) {
    if (node.dataset.drawn) { return; }
    node.dataset.drawn = "1";
    if (node.dataset.map) { drawMap(node); } else { drawChart(node); }
  }
  // plotly.js comes after this script, so the summary and the explorer work while the browser is still compiling it.
  function whenPlotly(start) {
    if (window.Plotly) { start(); } else { setTimeout(function () { whenPlotly(start); }, 30); }
  }
  var nodes = Array.prototype.slice.call(document.querySelectorAll("div.plot[data-spec], div.plot[data-map]"));
  function startDrawing() {
    performance.mark("audit-plotly-loaded");
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
      if (next < nodes.length) { drawOnce(nodes[next]); setTimeout(background, 15); } else { document.body.dataset.plotsDrawn = "1"; }
    })();
  }
  whenPlotly(startDrawing);
  performance.mark("audit-ready");
  document.body.dataset.ready = "1";
})();
