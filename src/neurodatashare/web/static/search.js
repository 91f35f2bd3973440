// The search page (templates/search.html) works as a plain GET form; this only makes it
// quicker: a ticked facet or a new sort order searches at once, and empty range boxes stay
// out of the URL.
const form = document.getElementById("search-form");
if (form) {
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("input[type=checkbox], select")) form.requestSubmit();
  });
  form.addEventListener("submit", () => {
    for (const input of form.elements) {
      if (input.name && input.type === "number" && input.value.trim() === "") input.disabled = true;
    }
  });
  // back/forward may show the page from the cache with the boxes still disabled
  window.addEventListener("pageshow", () => {
    for (const input of form.elements) input.disabled = false;
  });
}
