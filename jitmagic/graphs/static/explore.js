// jitmagic explorer (appended to viz.js): the widget's `dot` laid out in the page by Viz.js,
// wheel to zoom about the pointer, drag to pan, a button to fit; a click on a cluster
// collapses it and a click on a collapsed (▸) node expands it. Collapsing is done by the
// kernel (`collapsed` trait -> new `dot`), which keeps the model of the graph.
let explorerViz;

function px(svg, attr) {
  const v = svg.getAttribute(attr) || "0";
  return parseFloat(v) * (v.endsWith("pt") ? 4 / 3 : 1);
}

async function render({ model, el }) {
  explorerViz ??= instance();
  const viz = await explorerViz;
  el.classList.add("jitmagic-explorer");
  const bar = document.createElement("div");
  bar.className = "jm-explore-help";
  bar.textContent = "wheel: zoom · drag: pan · click a cluster to collapse it, " +
    "a ▸ node to expand it ";
  bar.style.cssText = "font:11px sans-serif;opacity:.8;margin-bottom:4px";
  const fitButton = document.createElement("button");
  fitButton.className = "jm-explore-fit";
  fitButton.textContent = "fit";
  fitButton.style.cssText = "font:11px sans-serif;padding:0 6px";
  bar.append(fitButton);
  const pane = document.createElement("div");
  pane.className = "jm-explore-pane";
  pane.style.cssText = "overflow:hidden;position:relative;cursor:grab;touch-action:none;" +
    "border:1px solid rgba(128,128,128,.3);border-radius:4px";
  const stage = document.createElement("div");
  stage.style.cssText = "transform-origin:0 0;position:absolute;left:0;top:0";
  pane.append(stage);
  el.replaceChildren(bar, pane);
  const view = { x: 0, y: 0, k: 1 };
  let size = { w: 1, h: 1 };
  const apply = () => {
    stage.style.transform = `translate(${view.x}px,${view.y}px) scale(${view.k})`;
    el.dataset.zoom = view.k.toFixed(3);
    el.dataset.pan = `${Math.round(view.x)},${Math.round(view.y)}`;
  };
  const fit = () => {
    const width = pane.clientWidth || el.clientWidth || 800;
    view.k = Math.min(1, width / size.w);
    view.x = 0;
    view.y = 0;
    pane.style.height = Math.min(size.h * view.k + 2, window.innerHeight * 0.8) + "px";
    apply();
  };
  const draw = () => {
    try {
      const text = viz.renderString(model.get("dot"), { format: "svg" });
      const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
      svg.classList.add("jitmagic-graph");
      size = { w: px(svg, "width"), h: px(svg, "height") };
      svg.querySelectorAll("g.cluster > :is(polygon, path)").forEach(
        (s) => (s.style.pointerEvents = "all"));
      stage.replaceChildren(svg);
      el.dataset.nodes = svg.querySelectorAll("g.node").length;
      fit();
    } catch (err) {
      const pre = document.createElement("pre");
      pre.textContent = "jitmagic: in-browser Graphviz failed: " + err;
      stage.replaceChildren(pre);
    }
  };
  pane.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = pane.getBoundingClientRect();
    const f = Math.exp(-e.deltaY * 0.0015);
    const x = e.clientX - r.left, y = e.clientY - r.top;
    view.x = x - (x - view.x) * f;
    view.y = y - (y - view.y) * f;
    view.k *= f;
    apply();
  }, { passive: false });
  let drag = null;
  pane.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false };
  });
  const onMove = (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      view.x = drag.vx + dx;
      view.y = drag.vy + dy;
      pane.style.cursor = "grabbing";
      apply();
    }
  };
  const onUp = () => {
    pane.style.cursor = "grab";
    setTimeout(() => (drag = null), 0);
  };
  window.addEventListener("pointermove", onMove);
  window.addEventListener("pointerup", onUp);
  fitButton.addEventListener("click", fit);
  pane.addEventListener("click", (e) => {
    if (drag && drag.moved) return;
    const folded = e.target.closest("g.node.jmcollapsed");
    const cluster = folded ? null : e.target.closest("g.cluster");
    const title = (folded || cluster)?.querySelector("title")?.textContent;
    if (!title) return;
    const id = folded ? title : title.replace(/^cluster_/, "");
    const now = model.get("collapsed").filter((c) => c !== id);
    model.set("collapsed", folded ? now : [...now, id]);
    model.save_changes();
  });
  model.on("change:dot", draw);
  draw();
  return () => {
    model.off("change:dot", draw);
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
  };
}

export default { render };
