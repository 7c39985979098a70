// The start form's periods: when a number, a unit or a date changes, ask the server (GET /console/new/periods,
// no side effect) when each period would end and show it. Without JavaScript the "check the dates" button does it.
(function () {
  var box = document.getElementById("periods");
  if (!box || !window.fetch) { return; }
  var timer = null;
  function refresh() {
    var query = new URLSearchParams({ procedure: box.getAttribute("data-procedure") });
    box.querySelectorAll("input, select").forEach(function (field) {
      if (field.name) { query.append(field.name, field.value); }
    });
    var lang = new URLSearchParams(window.location.search).get("lang");
    if (lang) { query.append("lang", lang); }
    fetch("/console/new/periods?" + query.toString(), { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (lines) {
        if (!lines) { return; }
        Object.keys(lines).forEach(function (name) {
          var ends = document.getElementById("period_" + name + "_ends");
          var warning = document.getElementById("period_" + name + "_warning");
          if (ends) { ends.textContent = lines[name].ends; }
          if (warning) { warning.textContent = lines[name].warning; warning.hidden = !lines[name].warning; }
        });
      })
      .catch(function () { /* the check button still works */ });
  }
  box.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  box.addEventListener("change", refresh);
})();
