// The inbox: the filter form's URL keeps only the filters set, so it stays short to share.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.verb !== "get" || event.detail.elt.id !== "filtres") return;
    const parameters = event.detail.parameters;
    for (const name of Array.from(parameters.keys())) {
      if (parameters.get(name) === "") parameters.delete(name);
    }
  });
});
