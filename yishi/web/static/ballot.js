// A ballot lost to the network keeps her choice (issue 21, item 5). Without this script the page still works.
// On submit the choice and the form's keys are kept in this tab; when the ballot page opens again they are put
// back and a note says that pressing again never counts twice: the same keys make the same idempotency key, so a
// ballot that did arrive answers with its first receipt and is never recorded twice. The receipt clears them.
(function () {
  "use strict";
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) { return; }
  var prefix = "yishi-ballot:" + location.pathname + ":";
  if (document.querySelector("[data-ballot-done]")) {
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(prefix) === 0) { store.removeItem(key); }
    }
    return;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form.ballot"), function (form) {
    var f = form.elements;
    var id = prefix + (f.question ? f.question.value : "") + ":" + (f.for_owner ? f.for_owner.value : "");
    var fresh = { nonce: f.nonce.value, csrf: f.csrf.value };
    var saved = null;
    try { saved = JSON.parse(store.getItem(id) || "null"); } catch (e) { saved = null; }
    if (saved && saved.choice) {
      var radio = form.querySelector('input[name="choice"][value="' + saved.choice + '"]');
      if (radio) {
        radio.checked = true;
        f.nonce.value = saved.nonce;
        f.csrf.value = saved.csrf;
        var note = form.querySelector(".retry-note");
        if (note) { note.hidden = false; }
      }
    }
    form.addEventListener("submit", function () {
      var chosen = form.querySelector('input[name="choice"]:checked');
      if (!chosen) { return; }
      if (!saved || saved.choice !== chosen.value) {  // another choice is another ballot: this page's own keys
        f.nonce.value = fresh.nonce;
        f.csrf.value = fresh.csrf;
      }
      store.setItem(id, JSON.stringify({ choice: chosen.value, nonce: f.nonce.value, csrf: f.csrf.value }));
    });
  });
}());
