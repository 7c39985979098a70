// The intake throttle's proof of effort (yishi/services/intake_limit.py): find a nonce whose SHA-256 with the
// challenge ("challenge:nonce") starts with the asked number of zero bits, then let the resident send the form.
(async function () {
  if (!(window.crypto && crypto.subtle)) {  // WebCrypto needs HTTPS (or localhost)
    document.getElementById("effort").hidden = true;
    document.getElementById("effort-failed").hidden = false;
    return;
  }
  const form = document.getElementById("raise");
  const challenge = form.querySelector('input[name="challenge"]');
  const proof = form.querySelector('input[name="proof"]');
  const bits = parseInt(challenge.dataset.bits, 10);
  const enc = new TextEncoder();
  function zeros(bytes) {
    let n = 0;
    for (const b of bytes) {
      if (b === 0) { n += 8; continue; }
      return n + Math.clz32(b) - 24;
    }
    return n;
  }
  for (let nonce = 0; ; nonce++) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(challenge.value + ":" + nonce)));
    if (zeros(digest) >= bits) { proof.value = String(nonce); break; }
  }
  document.getElementById("send").disabled = false;
  document.getElementById("effort").hidden = true;
})();
