// The case page: the agent select follows the service select, and the alert that answers an
// action gets the focus (the form that was used has been replaced).
"use strict";

(() => {
  // Offer only the members of the chosen service; an agent no longer offered is unselected.
  function followService(serviceSelect) {
    const form = serviceSelect.form;
    const agentSelect = form && form.querySelector("[data-qp-agent-select]");
    if (!agentSelect) return;
    agentSelect.querySelectorAll("optgroup[data-qp-service]").forEach((group) => {
      const offered = group.getAttribute("data-qp-service") === serviceSelect.value;
      group.hidden = !offered;
      group.disabled = !offered;
    });
    const chosen = agentSelect.selectedOptions[0];
    if (chosen && chosen.parentElement.disabled) agentSelect.value = "";
  }

  function setUp(root) {
    root.querySelectorAll("[data-qp-service-select]").forEach(followService);
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUp(document);
    document.body.addEventListener("change", (event) => {
      if (event.target.matches("[data-qp-service-select]")) followService(event.target);
    });
    // Alerts already there when the page loaded are read with it; a new one answers an action.
    document.querySelectorAll("#annonces .fr-alert").forEach((alert) => {
      alert.setAttribute("data-qp-seen", "");
    });
    document.body.addEventListener("htmx:afterSettle", () => {
      setUp(document);
      const alert = document.querySelector("#annonces .fr-alert:not([data-qp-seen])");
      if (!alert) return;
      alert.setAttribute("data-qp-seen", "");
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    });
  });
})();
