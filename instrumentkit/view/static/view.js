// instrumentkit live view: follows /api/events (Server-Sent Events) and draws each stream
// with uPlot from /api/stream/NAME, which the server has already decimated to the plot's
// pixel width. Read-only: the page only ever sends GET requests.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83",
    "#d4388c", "#57606a"];
  const HEIGHT = 260;
  // State the tests (and curious users) can read from the console.
  const ik = (window.ikView = { status: null, final: false, paused: false, draws: [],
    panels: {} });

  function fmt(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) return "";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  }
  function fmtElapsed(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" +
      String(s % 60).padStart(2, "0");
  }
  function fmtClock(epochSeconds) {
    return epochSeconds ? new Date(epochSeconds * 1000).toLocaleTimeString() : "";
  }
  // Tick labels with as many decimals as the tick spacing needs (1.0002 V, not 1).
  function ticks(u, splits, axis, space, incr) {
    const digits = Math.min(12, Math.max(0, Math.ceil(-Math.log10(incr) + 1e-9)));
    return splits.map((v) => (v === null ? "" : Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-4)
      ? v.toExponential(2) : v.toFixed(digits)));
  }
  function withAlpha(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- run status ---------------------------------------------------------------------------
  function applyStatus(status) {
    ik.status = status;
    document.title = `${status.file} (${status.state}) - instrumentkit`;
    $("file").textContent = status.file;
    const state = $("state");
    state.textContent = status.state;
    state.className = "state " + status.state;
    $("elapsed").textContent = fmtElapsed(status.elapsed);
    $("description").textContent = status.description || "";
    $("reason").textContent = status.reason || "";
    const body = $("streams").tBodies[0];
    for (const [name, info] of Object.entries(status.streams)) {
      let row = body.querySelector(`tr[data-stream="${CSS.escape(name)}"]`);
      if (!row) {
        row = el("tr", { "data-stream": name });
        for (const cls of ["name", "kind", "rows num", "rate num", "last"]) {
          row.appendChild(el("td", { class: cls }));
        }
        body.appendChild(row);
      }
      row.cells[0].textContent = name;
      row.cells[1].textContent = info.kind;
      row.cells[2].textContent = fmt(info.rows, 0);
      row.cells[3].textContent = info.rate ? fmt(info.rate, 2) + " /s" : "";
      row.cells[4].textContent = fmtClock(info.last_time);
      ensurePanel(name, info);
      if (!ik.paused) update(name);
    }
    if (status.final) ik.final = true;
  }

  // -- one panel per stream -----------------------------------------------------------------
  function ensurePanel(name, info) {
    if (ik.panels[name]) return ik.panels[name];
    const isLog = name === "errors" && info.kind === "arrays";
    const box = isLog ? $("errors") : el("div", { class: "plot", "data-stream": name });
    if (!isLog) {
      box.appendChild(el("h3", {}, `${name} (${info.kind})`));
      box.appendChild(el("div", { class: "note" }));
      box.appendChild(el("div", { class: "canvas" }));
      $("plots").appendChild(box);
    }
    const panel = { name, box, isLog, rows: -1, busy: false, again: false, zoom: null,
      region: null, field: null, outer: null, geometry: null, plot: null, signature: "", payload: null };
    ik.panels[name] = panel;
    return panel;
  }

  function update(name, force) {
    const panel = ik.panels[name];
    const info = ik.status && ik.status.streams[name];
    if (!panel || !info) return;
    if (panel.busy) { panel.again = true; return; }
    if (!force && info.rows === panel.rows) return;
    panel.busy = true;
    const target = panel.isLog ? panel.box : panel.box.querySelector(".canvas");
    const width = Math.max(100, Math.floor(target.clientWidth || 600));
    let url = `api/stream/${encodeURIComponent(name)}?width=${width}`;
    if (panel.zoom) url += `&x0=${panel.zoom[0]}&x1=${panel.zoom[1]}`;
    if (panel.region) {
      url += `&xindex=${panel.region.xindex.join(":")}&yindex=${panel.region.yindex.join(":")}`;
    }
    if (panel.field) url += `&field=${encodeURIComponent(panel.field)}`;
    if (panel.outer) url += `&outer=${panel.outer.join(",")}`;
    fetch(url)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${r.status} ${url}`))))
      .then((payload) => {
        if (ik.paused && !force) return;
        draw(panel, payload);
        panel.rows = payload.rows;
        ik.draws.push({ stream: name, rows: payload.rows, lastTime: payload.last_time,
          at: Date.now() });
        if (ik.draws.length > 5000) ik.draws.splice(0, 1000);
      })
      .catch((error) => {
        const note = panel.box.querySelector(".note");
        if (note) note.textContent = `cannot load: ${error.message}`;
      })
      .finally(() => {
        panel.busy = false;
        if (panel.again) { panel.again = false; update(name, force); }
      });
  }

  function draw(panel, payload) {
    panel.payload = payload;
    if (payload.mode === "table") return drawTable(panel, payload);
    if (payload.mode === "heatmap") return drawHeatmap(panel, payload);
    const note = panel.box.querySelector(".note");
    const invalid = (payload.invalid_counts || [])
      .map((c) => `${fmt(c.count, 0)} x ${c.meaning}`);
    const point = Object.entries(payload.point || {}).map(([a, v]) => `${a} = ${fmt(v, 6)}`);
    note.textContent = (point.length ? `the trace of the newest point, ${point.join(", ")}. ` : "") +
      (invalid.length ? `invalid readings (marked red): ${invalid.join(", ")}` : "");
    const data = [payload.x, ...payload.series.map((s) => s.y)];
    const signature = [payload.mode, payload.xlabel,
      ...payload.series.map((s) => `${s.units}|${s.faded ? 1 : 0}|${payload.mode === "traces" ? "" : s.label}`)].join(";");
    if (panel.plot && panel.signature === signature) {
      panel.plot.setData(data, !panel.zoom);
      return;
    }
    if (panel.plot) panel.plot.destroy();
    panel.signature = signature;
    const target = panel.box.querySelector(".canvas");
    panel.plot = new uPlot(plotOptions(panel, payload, target.clientWidth || 600), data, target);
    if (panel.zoom) panel.plot.setScale("x", { min: panel.zoom[0], max: panel.zoom[1] });
    panel.plot.over.addEventListener("dblclick", () => { panel.zoom = null; update(panel.name, true); });
  }

  function plotOptions(panel, payload, width) {
    const units = [...new Set(payload.series.map((s) => s.units || ""))];
    const last = payload.series.length - 1;
    const series = [{ label: payload.xlabel }];
    payload.series.forEach((s, i) => {
      const color = payload.mode === "traces" ? COLORS[0] : COLORS[i % COLORS.length];
      const age = last - i;
      series.push({
        label: payload.mode === "traces" ? (age ? `${age} before` : "latest") : s.label,
        show: !(payload.mode === "traces" && s.label === ""),
        scale: s.units || "_",
        stroke: s.faded ? withAlpha(color, 0.45 / age) : color,
        width: s.faded ? 1 : 1.5,
        spanGaps: false,
        points: { show: payload.mode === "sweep" },
        value: (u, v) => (v === null ? "" : fmt(v, 6) + (s.units ? " " + s.units : "")),
      });
    });
    const xLabel = payload.mode === "time" ? "" :
      payload.xlabel + (payload.xunits ? ` (${payload.xunits})` : "");
    const axes = [payload.mode === "time" ? {} : { label: xLabel, values: ticks }];
    units.slice(0, 2).forEach((unit, i) => axes.push({
      scale: unit || "_", label: unit, side: i ? 1 : 3, grid: { show: i === 0 },
      values: ticks, size: 80,
    }));
    return {
      width, height: HEIGHT,
      scales: { x: { time: payload.mode === "time" } },
      series, axes,
      // Zoom only on what the user does (a drag, the wheel): uPlot also rescales on its
      // own when data arrives, which must not freeze the range.
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 2) return;
          const lo = u.posToVal(u.select.left, "x");
          const hi = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          zoomTo(panel, lo, hi);
        }],
        draw: [(u) => drawInvalid(u, panel)],
      },
      plugins: [wheelZoom(panel)],
    };
  }

  function zoomTo(panel, lo, hi) {
    panel.zoom = [lo, hi];
    panel.plot.setScale("x", { min: lo, max: hi });
    update(panel.name, true);
  }

  // Invalid readings are NaN in the file (gaps in the line): a red tick at the bottom marks
  // each one (or each pixel column holding one).
  function drawInvalid(u, panel) {
    const marks = (panel.payload && panel.payload.invalid) || [];
    const ctx = u.ctx, box = u.bbox, tick = 8 * devicePixelRatio;
    ctx.save();
    ctx.fillStyle = "#cf222e";
    for (const xs of marks) {
      for (const x of xs) {
        const px = u.valToPos(x, "x", true);
        if (px >= box.left && px <= box.left + box.width) {
          ctx.fillRect(px - devicePixelRatio, box.top + box.height - tick, 2 * devicePixelRatio, tick);
        }
      }
    }
    ctx.restore();
  }

  // Wheel zooms around the cursor, shift+wheel (or a sideways wheel) pans.
  function wheelZoom(panel) {
    return {
      hooks: {
        ready: (u) => {
          u.over.addEventListener("wheel", (event) => {
            event.preventDefault();
            const { min, max } = u.scales.x;
            if (min === null || max === null) return;
            const span = max - min;
            let lo, hi;
            if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
              const shift = span * 0.1 * Math.sign(event.deltaX || event.deltaY);
              lo = min + shift; hi = max + shift;
            } else {
              const at = u.posToVal(event.offsetX, "x");
              const factor = event.deltaY < 0 ? 0.8 : 1.25;
              lo = at - (at - min) * factor; hi = at + (max - at) * factor;
            }
            zoomTo(panel, lo, hi);
          }, { passive: false });
        },
      },
    };
  }

  // A 2-D record (a map over two axes) as colour cells; unmeasured points stay grey.
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    const at = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
    const i = Math.min(Math.floor(at), VIRIDIS.length - 2), f = at - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + (VIRIDIS[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  // Cells are drawn in index space (equal widths whatever the axis values), so a dragged
  // rectangle maps exactly to index ranges: the server sends that region at full detail.
  const MARGIN = { left: 70, top: 22, right: 90, bottom: 40 };
  const COMPLIANCE = "#cf222e";
  function drawHeatmap(panel, payload) {
    const holder = panel.box.querySelector(".canvas");
    let canvas = holder.querySelector("canvas.heatmap");
    if (!canvas) {
      holder.innerHTML = "";
      canvas = el("canvas", { class: "heatmap" });
      holder.appendChild(canvas);
      holder.appendChild(el("div", { class: "heat-select", hidden: "" }));
      heatmapZoom(panel, canvas, holder.lastChild);
    }
    const width = holder.clientWidth || 600, ratio = devicePixelRatio;
    canvas.width = width * ratio; canvas.height = HEIGHT * ratio;
    canvas.style.width = width + "px"; canvas.style.height = HEIGHT + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, HEIGHT);
    const { left, top, right } = MARGIN;
    const w = width - left - right, h = HEIGHT - top - MARGIN.bottom;
    const z = payload.z, rows = z.length, cols = rows ? z[0].length : 0;
    panel.geometry = { left, top, w, h, rows, cols };
    const [lo, hi] = payload.zrange || [0, 1];
    // Cell edges on whole pixels: no blended seams between cells.
    const xEdge = (c) => left + Math.round((c * w) / cols);
    const yEdge = (r) => top + h - Math.round((r * h) / rows);  // first row at the bottom
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = z[r][c];
        ctx.fillStyle = v === null ? "#e6e6e6" : colour(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        ctx.fillRect(xEdge(c), yEdge(r + 1), xEdge(c + 1) - xEdge(c), yEdge(r) - yEdge(r + 1));
      }
    }
    // Points in compliance: a red outline (a red cell when too small for one), a colour
    // the colour map and the grey of unmeasured cells never take.
    ctx.strokeStyle = ctx.fillStyle = COMPLIANCE;
    ctx.lineWidth = 2;
    for (const [r, c] of payload.compliance || []) {
      const x = xEdge(c), y = yEdge(r + 1), cw = xEdge(c + 1) - x, ch = yEdge(r) - y;
      if (cw >= 6 && ch >= 6) ctx.strokeRect(x + 1, y + 1, cw - 2, ch - 2);
      else ctx.fillRect(x, y, cw, ch);
    }
    for (let i = 0; i <= 20; i++) {  // colour bar
      ctx.fillStyle = colour(i / 20);
      ctx.fillRect(width - right + 15, top + h - ((i + 1) * h) / 21, 12, h / 21 + 1);
    }
    ctx.fillStyle = "#222";
    ctx.strokeStyle = "#222";
    ctx.font = "12px system-ui, sans-serif";
    const unit = (u) => (u ? ` (${u})` : "");
    ctx.textAlign = "center";
    ctx.fillText(`${payload.xlabel}${unit(payload.xunits)}`, left + w / 2, HEIGHT - 8);
    ctx.textAlign = "left";
    ctx.fillText(fmt(hi, 4) + unit(payload.units), width - right + 15, top - 6);
    ctx.fillText(fmt(lo, 4), width - right + 31, top + h);
    const [x0, x1] = payload.xindex, [y0, y1] = payload.yindex;
    panel.ticks = { x: [], y: [] };  // the labels drawn, for tests and the curious
    ctx.textAlign = "center";
    for (const [index, value] of axisTicks(payload.x, payload.xrange, x0, x1, payload.cell[1], w, 80)) {
      const px = left + ((index - x0 + 0.5) * w) / (x1 - x0);
      ctx.fillRect(px - 0.5, top + h, 1, 4);
      ctx.fillText(fmt(value, 4), px, top + h + 16);
      panel.ticks.x.push(fmt(value, 4));
    }
    ctx.textAlign = "right";
    for (const [index, value] of axisTicks(payload.y, payload.yrange, y0, y1, payload.cell[0], h, 50)) {
      const py = top + h - ((index - y0 + 0.5) * h) / (y1 - y0);
      ctx.fillRect(left - 4, py - 0.5, 4, 1);
      ctx.fillText(fmt(value, 4), left - 6, py + 4);
      panel.ticks.y.push(fmt(value, 4));
    }
    ctx.save();
    ctx.translate(14, top + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(`${payload.ylabel}${unit(payload.yunits)}`, 0, 0);
    ctx.restore();
    const zoomed = x1 - x0 < payload.shape[1] || y1 - y0 < payload.shape[0];
    panel.box.querySelector(".note").textContent = sweepNote(panel, payload) +
      `${fmt(payload.filled, 0)} of ${fmt(payload.points, 0)} points measured` +
      (zoomed ? ` in columns ${x0}..${x1 - 1}, rows ${y0}..${y1 - 1} (double-click: whole map)` : "") +
      (payload.decimated ? " (largest value per cell shown)" : "") +
      (payload.invalid_counts || []).map((c) => `; ${fmt(c.count, 0)} x ${c.meaning}`).join("") +
      ((payload.compliance || []).length ? `; red outline: a point in compliance (` +
        `${fmt(payload.compliance.length, 0)} cell${payload.compliance.length > 1 ? "s" : ""} here)` : "");
  }

  // A sweep's heat map: a selector of its read quantities (when it has several), and which
  // plane of a sweep over more than two axes is shown.
  function sweepNote(panel, payload) {
    if (!payload.fields) return "";
    let select = panel.box.querySelector("select.quantity");
    if (!select && payload.fields.length > 1) {
      select = el("select", { class: "quantity", title: "read quantity shown" });
      payload.fields.forEach((f) => select.appendChild(el("option", { value: f.name },
        f.units ? `${f.name} (${f.units})` : f.name)));
      select.addEventListener("change", () => { panel.field = select.value; update(panel.name, true); });
      panel.box.insertBefore(select, panel.box.querySelector(".note"));
    }
    if (select) select.value = payload.field;
    if (!payload.outer.length) return `${payload.field}: `;
    planeControls(panel, payload);
    const shown = payload.outer.map((a) => axisValue(a, a.index)).join(", ");
    const newest = payload.newest.map((i, k) => axisValue(payload.outer[k], i)).join(", ");
    const which = panel.outer ? `chosen; the newest point is at ${newest}` : "the newest point's";
    return `${payload.field} at ${shown} (${which}; ` +
      `the last two of ${payload.outer.length + 2} axes shown)` +
      (payload.taken ? "" : ", not measured yet") + ": ";
  }
  function axisValue(axis, index) {
    return `${axis.name} = ${fmt(axis.values[index], 6)}${axis.units ? " " + axis.units : ""}`;
  }

  // A sweep over three axes or more: a slider per outer axis picks the plane shown (kept
  // through updates, zoom and pause); "newest" follows the sweep again.
  function planeControls(panel, payload) {
    let box = panel.box.querySelector(".planes");
    if (!box) {
      box = el("div", { class: "planes" });
      payload.outer.forEach((axis, k) => {
        const label = el("label", { class: "plane" });
        const slider = el("input", { type: "range", min: 0, max: axis.values.length - 1,
          step: 1, "data-axis": axis.name, title: `plane shown: ${axis.name}` });
        slider.addEventListener("input", () => {
          panel.outer = [...box.querySelectorAll("input")].map((s) => Number(s.value));
          label.lastChild.textContent = planeText(axis, Number(slider.value));
          update(panel.name, true);
        });
        label.appendChild(slider);
        label.appendChild(el("span", { class: "value" }));
        box.appendChild(label);
      });
      const follow = el("button", { type: "button", class: "newest",
        title: "follow the plane of the newest point" }, "newest");
      follow.addEventListener("click", () => { panel.outer = null; update(panel.name, true); });
      box.appendChild(follow);
      panel.box.insertBefore(box, panel.box.querySelector(".note"));
    }
    box.querySelectorAll("label.plane").forEach((label, k) => {
      const index = panel.outer ? panel.outer[k] : payload.outer[k].index;
      label.firstChild.value = index;
      label.lastChild.textContent = planeText(payload.outer[k], index);
    });
    box.querySelector("button.newest").disabled = !panel.outer;
  }
  function planeText(axis, index) {
    return `${axisValue(axis, index)} (${index + 1} of ${axis.values.length})`;
  }

  // Tick positions (as sample indices) and labels along one axis of a heat map: the first
  // sample of evenly spread cells, and the region's last sample, about every `spacing` pixels.
  function axisTicks(cellValues, ends, start, stop, step, pixels, spacing) {
    if (!cellValues.length || ends.length < 2) return [];
    const count = Math.max(2, Math.min(cellValues.length, Math.floor(pixels / spacing) + 1));
    const ticks = [];
    for (let k = 0; k < count - 1; k++) {
      const cell = Math.round((k * (cellValues.length - 1)) / (count - 1));
      ticks.push([start + cell * step, cellValues[cell]]);
    }
    const lastAt = (stop - 1 - start) / (stop - start) * pixels;
    const prevAt = ticks.length ? (ticks[ticks.length - 1][0] - start) / (stop - start) * pixels : -1e9;
    if (lastAt - prevAt < spacing / 2) ticks.pop();  // too close: the region's end wins
    ticks.push([stop - 1, ends[1]]);
    return ticks;
  }

  // Drag a rectangle on a heat map to zoom into it; a thin one (under 4 px) zooms one
  // axis only. Double-click: the whole map again. Live updates keep the region.
  function heatmapZoom(panel, canvas, box) {
    let from = null;
    const at = (event) => {
      const r = canvas.getBoundingClientRect();
      return [event.clientX - r.left, event.clientY - r.top];
    };
    const move = (event) => {
      const [x, y] = at(event);
      Object.assign(box.style, {
        left: Math.min(x, from[0]) + "px", top: Math.min(y, from[1]) + "px",
        width: Math.abs(x - from[0]) + "px", height: Math.abs(y - from[1]) + "px",
      });
    };
    const up = (event) => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
      box.hidden = true;
      const region = dragRegion(panel, from, at(event));
      from = null;
      if (region) {
        panel.region = region;
        update(panel.name, true);
      }
    };
    canvas.addEventListener("mousedown", (event) => {
      if (event.button !== 0 || !panel.geometry) return;
      event.preventDefault();
      from = at(event);
      box.hidden = false;
      move(event);
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
    });
    canvas.addEventListener("dblclick", () => {
      panel.region = null;
      update(panel.name, true);
    });
  }

  // The index ranges under a dragged rectangle (whole cells), or null for a click.
  function dragRegion(panel, from, to) {
    const g = panel.geometry, payload = panel.payload;
    const wide = Math.abs(to[0] - from[0]) >= 4, tall = Math.abs(to[1] - from[1]) >= 4;
    if (!g || !payload || payload.mode !== "heatmap" || !(wide || tall) || !g.cols) return null;
    const cell = (fraction, count) => Math.min(count - 1, Math.max(0, Math.floor(fraction * count)));
    const span = (a, b, count, [start, stop], step) => {
      const first = cell(Math.min(a, b), count), last = cell(Math.max(a, b), count);
      return [start + first * step, Math.min(stop, start + (last + 1) * step)];
    };
    const fx = (px) => (px - g.left) / g.w, fy = (py) => (g.top + g.h - py) / g.h;
    return {
      xindex: wide ? span(fx(from[0]), fx(to[0]), g.cols, payload.xindex, payload.cell[1])
        : payload.xindex,
      yindex: tall ? span(fy(from[1]), fy(to[1]), g.rows, payload.yindex, payload.cell[0])
        : payload.yindex,
    };
  }

  function drawTable(panel, payload) {
    let table = panel.box.querySelector("table");
    if (!panel.isLog && !table) {
      table = el("table");
      panel.box.querySelector(".canvas").appendChild(table);
    }
    if (panel.isLog) panel.box.hidden = payload.cells.length === 0;
    const head = table.tHead || table.createTHead();
    head.innerHTML = "";
    const headRow = head.insertRow();
    payload.columns.forEach((c) => headRow.appendChild(el("th", {}, c)));
    const body = table.tBodies[0] || table.createTBody();
    body.innerHTML = "";
    for (const cells of payload.cells.slice().reverse()) {  // newest first
      const row = body.insertRow();
      cells.forEach((value, i) => row.appendChild(el("td", {}, i ? value : fmtClock(value))));
    }
  }

  // -- controls and updates -----------------------------------------------------------------
  $("pause").addEventListener("click", () => {
    ik.paused = !ik.paused;
    $("pause").textContent = ik.paused ? "Resume" : "Pause";
    if (!ik.paused) Object.keys(ik.panels).forEach((name) => update(name));
  });
  window.addEventListener("resize", () => {
    for (const panel of Object.values(ik.panels)) {
      if (panel.plot) {
        const width = panel.box.querySelector(".canvas").clientWidth;
        panel.plot.setSize({ width, height: HEIGHT });
      } else if (panel.payload && panel.payload.mode === "heatmap") {
        drawHeatmap(panel, panel.payload);
      }
    }
  });

  const events = new EventSource("api/events");
  events.onmessage = (event) => applyStatus(JSON.parse(event.data));
  events.addEventListener("end", (event) => {
    events.close();
    applyStatus(JSON.parse(event.data));
  });
  events.onerror = () => {
    if (!ik.final) {
      $("state").textContent = "reconnecting";
      $("state").className = "state waiting";
    }
  };
})();
