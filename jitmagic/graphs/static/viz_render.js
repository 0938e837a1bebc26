// jitmagic: render the widget's `dot` trait to an inline SVG with Viz.js (appended to viz.js).
// The SVG text goes back to the kernel (`svg` trait), which swaps this output for a plain
// image/svg+xml one: widget state is not saved with a notebook, a plain SVG is.
let vizPromise;

async function render({ model, el }) {
  vizPromise ??= instance();
  const viz = await vizPromise;
  const draw = () => {
    try {
      const text = viz.renderString(model.get("dot"), { format: "svg" });
      const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
      svg.classList.add("jitmagic-graph");
      svg.style.maxWidth = "100%";
      svg.style.height = "auto";
      el.replaceChildren(svg);
      if (model.get("svg") !== text) {
        model.set("svg", text);
        model.save_changes();
      }
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
