// Refresh each workspace status block that is not settled yet (it carries data-refresh)
// every few seconds, so a person sees "Provisioning" become "Running" without reloading.
(function () {
  "use strict";
  var INTERVAL_MS = 5000;

  function refresh(block) {
    var url = block.getAttribute("data-refresh");
    if (!url) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) {
          schedule(block);
          return;
        }
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (fresh) {
          block.replaceWith(fresh);
          schedule(fresh);
        }
      })
      .catch(function () {
        schedule(block);
      });
  }

  function schedule(block) {
    if (block.hasAttribute("data-refresh")) {
      window.setTimeout(function () { refresh(block); }, INTERVAL_MS);
    }
  }

  document.querySelectorAll("[data-refresh]").forEach(schedule);
})();
