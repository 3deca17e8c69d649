// 关系图谱: the neighbourhood drawn with cytoscape.js (canvas renderer) from the JSON data element
// the server rendered (#graph-data). A double-click on a node asks the server for that node's
// edges (/ui/graph/expand: gated and logged like every pull) and adds them; a click on an edge
// shows the records behind it; paths found (htmx fragment) are highlighted; the picture export is
// logged by a POST first and offered only when the server accepted it. No inline script.
"use strict";
(() => {
  const NODE_COLOURS = { person: "#1f4e79", company: "#9a6700", petition: "#c0392b", mention: "#7a7f87" };
  const CYTOSCAPE_STYLESHEET = "__________cytoscape_stylesheet";
  let cy = null;
  let payload = null;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (_error) {
      return "";
    }
  }

  function nodeElement(node) {
    const kinds = payload.labels.node_kinds;
    return {
      group: "nodes",
      data: {
        id: node.key,
        label: node.name || kinds[node.kind] || node.key,
        kind: node.kind,
        hop: node.hop === null ? -1 : node.hop,
        handle: node.handle || "",
      },
      classes: node.hop === 0 ? "start" : "",
    };
  }

  function edgeElement(edge) {
    return {
      group: "edges",
      data: {
        id: "e-" + edge.id,
        source: edge.src,
        target: edge.dst,
        label: edge.label,
        kind: edge.kind,
        record: edge,
      },
    };
  }

  function add(graph) {
    const fresh = [];
    graph.nodes.forEach((n) => {
      if (cy.getElementById(n.key).empty()) {
        fresh.push(nodeElement(n));
      }
    });
    graph.edges.forEach((e) => {
      if (cy.getElementById("e-" + e.id).empty()) {
        fresh.push(edgeElement(e));
      }
    });
    const added = cy.add(fresh);
    return added;
  }

  function updateCounts() {
    const element = document.getElementById("graph");
    element.dataset.nodeCount = String(cy.nodes().length);
    element.dataset.edgeCount = String(cy.edges().length);
    const counts = document.getElementById("graph-counts");
    counts.textContent = counts.dataset.template
      .replace("{nodes}", String(cy.nodes().length))
      .replace("{edges}", String(cy.edges().length));
  }

  function showCuts(cuts) {
    if (!cuts.length) {
      return;
    }
    const box = document.getElementById("graph-cuts");
    if (!box.querySelector("ul")) {
      box.appendChild(document.getElementById("cut-heading").content.cloneNode(true));
      box.appendChild(document.createElement("ul"));
    }
    const list = box.querySelector("ul");
    cuts.forEach((c) => {
      const item = document.createElement("li");
      item.textContent = box.dataset.template
        .replace("{name}", c.name || c.key)
        .replace("{degree}", String(c.degree))
        .replace("{kept}", String(c.kept));
      list.appendChild(item);
    });
  }

  function showMessage(html, isText) {
    const box = document.getElementById("graph-message");
    if (isText) {
      box.textContent = html;
    } else {
      box.innerHTML = html; // a refusal fragment of this server (escaped by its templates)
    }
  }

  function layout(around) {
    const options = { name: "cose", animate: false, fit: true, padding: 24, randomize: false };
    if (around) {
      options.fit = false;
    }
    cy.layout(options).run();
  }

  function expandParams(node) {
    const request = payload.request;
    const params = new URLSearchParams();
    params.set("kind", request.kind);
    params.set("value", request.value);
    params.set("hops", String(node.data("hop") + 1));
    params.set("fan_out", String(request.fan_out));
    request.kinds.forEach((k) => params.append("kinds", k));
    params.set("focus", node.id());
    return params;
  }

  async function expandNode(node) {
    const hop = node.data("hop");
    if (hop < 0 || hop + 1 > payload.request.max_hops) {
      showMessage(document.getElementById("graph-message").dataset.atHopLimit, true);
      return;
    }
    const busy = document.getElementById("graph-busy");
    busy.classList.add("htmx-request");
    try {
      const response = await fetch("/ui/graph/expand?" + expandParams(node).toString(), {
        headers: { "HX-Request": "true", Accept: "application/json" },
        credentials: "same-origin",
      });
      const redirect = response.headers.get("HX-Redirect");
      if (redirect) {
        window.location.assign(redirect);
        return;
      }
      if (!response.ok) {
        showMessage(await response.text(), false);
        return;
      }
      const graph = await response.json();
      showMessage("", true);
      const added = add(graph);
      node.addClass("expanded");
      showCuts(graph.cuts);
      if (added.length) {
        layout(node);
      }
      updateCounts();
    } finally {
      busy.classList.remove("htmx-request");
    }
  }

  function showEdge(edge) {
    const record = edge.data("record");
    const panel = document.getElementById("edge-panel");
    const labels = payload.labels;
    const source = cy.getElementById(edge.data("source"));
    const target = cy.getElementById(edge.data("target"));
    const values = {
      chain: source.data("label") + " → " + record.label + " → " + target.data("label"),
      kind: labels.edge_kinds[record.kind] || record.kind,
      source: labels.sources[record.source] || record.source,
      period: [record.start_date || "", record.end_date || ""].join(" – "),
      percent: record.percent === null ? "" : record.percent + "%",
      post: record.post || "",
      strength: String(record.strength),
    };
    panel.querySelectorAll("[data-field]").forEach((dd) => {
      dd.textContent = values[dd.dataset.field] || "";
    });
    const list = document.getElementById("edge-records");
    list.replaceChildren(
      ...record.record_ids.map((id) => {
        const item = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = id;
        item.appendChild(code);
        return item;
      }),
    );
    panel.hidden = false;
    cy.edges().removeClass("chosen");
    edge.addClass("chosen");
  }

  function highlightPath() {
    const holder = document.querySelector("#path-results .paths");
    if (!cy || !holder) {
      return;
    }
    const keys = JSON.parse(holder.dataset.pathNodes || "[]");
    cy.nodes().removeClass("on-path");
    keys.forEach((k) => cy.getElementById(k).addClass("on-path"));
  }

  async function exportPicture(button) {
    const request = payload.request;
    const body = new URLSearchParams();
    body.set("kind", request.kind);
    body.set("value", request.value);
    body.set("hops", String(request.hops));
    body.set("fan_out", String(request.fan_out));
    request.kinds.forEach((k) => body.append("kinds", k));
    body.set("nodes", String(cy.nodes().length));
    body.set("edges", String(cy.edges().length));
    const response = await fetch("/ui/graph/picture", {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken(), "HX-Request": "true" },
      body,
      credentials: "same-origin",
    });
    if (response.status !== 204) {
      showMessage(await response.text(), false);
      return;
    }
    const blob = cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "graph.png";
    document.body.appendChild(link);
    link.click();
    link.remove();
    button.blur();
  }

  function draw() {
    const element = document.getElementById("graph");
    const source = document.getElementById("graph-data");
    if (!element || !source || !window.cytoscape) {
      return;
    }
    payload = JSON.parse(source.textContent);
    // cytoscape inserts an inline <style> (position: relative) unless an element with this id
    // exists: the CSP refuses inline styles, and app.css positions the container itself.
    if (!document.getElementById(CYTOSCAPE_STYLESHEET)) {
      const marker = document.createElement("meta");
      marker.id = CYTOSCAPE_STYLESHEET;
      document.head.appendChild(marker);
    }
    cy = window.cytoscape({
      container: element,
      renderer: { name: "canvas" },
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 1.6, // a small neighbourhood is not blown up to fill the canvas
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "font-size": 11,
            "font-family": '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif',
            "text-valign": "bottom",
            "text-margin-y": 3,
            width: 18,
            height: 18,
            "background-color": "#7a7f87",
          },
        },
        ...Object.entries(NODE_COLOURS).map(([kind, colour]) => ({
          selector: `node[kind = "${kind}"]`,
          style: { "background-color": colour },
        })),
        { selector: "node[kind = \"company\"]", style: { shape: "round-rectangle" } },
        { selector: "node.start", style: { width: 26, height: 26, "border-width": 3, "border-color": "#c0392b" } },
        { selector: "node.expanded", style: { "border-width": 2, "border-color": "#1e7b34" } },
        { selector: "node.on-path", style: { "border-width": 4, "border-color": "#e67e22" } },
        {
          selector: "edge",
          style: {
            label: "data(label)",
            "font-size": 9,
            "font-family": '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif',
            "curve-style": "bezier",
            "target-arrow-shape": "triangle",
            width: 1.5,
            "line-color": "#9aa5b4",
            "target-arrow-color": "#9aa5b4",
            "text-rotation": "autorotate",
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.8,
          },
        },
        { selector: "edge.chosen", style: { width: 3, "line-color": "#c0392b", "target-arrow-color": "#c0392b" } },
      ],
    });
    window.xiansuoGraph = cy; // for the browser tests and for debugging in the console
    add(payload.graph);
    layout(null);
    updateCounts();
    cy.on("dbltap", "node", (event) => {
      expandNode(event.target);
    });
    cy.on("tap", "edge", (event) => {
      showEdge(event.target);
    });
    const png = document.getElementById("export-png");
    if (png) {
      png.addEventListener("click", () => exportPicture(png));
    }
    element.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", highlightPath);
})();
