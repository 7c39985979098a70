// A page that reloads itself while work runs in the background (templates/_auto_reload.html): reload it every
// data-reload-every seconds, with a button to pause (and resume) the reloading (WCAG 2.2.1). Without JavaScript
// the page shows a plain "refresh" link instead, which this script hides.
(function () {
  var box = document.querySelector("[data-reload-every]");
  if (!box) { return; }
  var every = Math.max(1, parseInt(box.getAttribute("data-reload-every"), 10) || 3) * 1000;
  var link = box.querySelector("[data-reload-link]");
  var toggle = box.querySelector("[data-reload-toggle]");
  var timer = null;
  function start() { timer = window.setTimeout(function () { window.location.reload(); }, every); }
  if (link) { link.hidden = true; }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      if (timer !== null) {
        window.clearTimeout(timer);
        timer = null;
        toggle.textContent = toggle.getAttribute("data-resume-label");
      } else {
        window.location.reload();
      }
    });
  }
  start();
})();
