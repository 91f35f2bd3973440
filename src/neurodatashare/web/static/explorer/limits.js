// The server's caps and the explorer's page sizes (src/neurodatashare/nwb/limits.py), read
// once from the JSON the page embeds (<script id="nds-limits"> in web/templates/asset.html),
// so the scripts never ask for more than the server serves.

function read() {
  const node = document.getElementById("nds-limits");
  if (!node) throw new Error("This page does not say the explorer's limits (#nds-limits is missing).");
  return Object.freeze(JSON.parse(node.textContent));
}

export const LIMITS = read();
