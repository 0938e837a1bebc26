// jitmagic: render the widget's `dot` trait to an inline SVG with Viz.js (appended to viz.js).
let vizPromise;

async function render({ model, el }) {
  vizPromise ??= instance();
  const viz = await vizPromise;
  const draw = () => {
    try {
      const svg = viz.renderSVGElement(model.get("dot"));
      svg.classList.add("jitmagic-graph");
      svg.style.maxWidth = "100%";
      svg.style.height = "auto";
      el.replaceChildren(svg);
    } catch (err) {
      const pre = document.createElement("pre");
      pre.textContent = "jitmagic: in-browser Graphviz failed: " + err;
      el.replaceChildren(pre);
    }
  };
  model.on("change:dot", draw);
  draw();
  return () => model.off("change:dot", draw);
}

export default { render };
