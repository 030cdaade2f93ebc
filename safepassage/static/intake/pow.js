// Solves the form's proof of work before sending, when the site asks for one (under attack).
// Without JavaScript the form still works: the server accepts it after a short wait instead.
(function () {
  "use strict";
  var form = document.querySelector("form[data-pow-bits]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) { return; }
  var bits = parseInt(form.getAttribute("data-pow-bits"), 10);
  var challenge = form.querySelector("input[name=challenge]");
  var proof = form.querySelector("input[name=proof]");
  var status = document.getElementById("pow-status");
  var solving = false;
  function zeroBits(bytes) {
    var n = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { n += 8; continue; }
      for (var b = 7; b >= 0 && !(bytes[i] & (1 << b)); b--) { n++; }
      break;
    }
    return n;
  }
  form.addEventListener("submit", function (event) {
    if (proof.value || !challenge.value) { return; }
    event.preventDefault();
    if (solving) { return; }
    solving = true;
    if (status) { status.hidden = false; }
    var encoder = new TextEncoder();
    var nonce = 0;
    function step() {
      var batch = [];
      for (var i = 0; i < 256; i++, nonce++) {
        batch.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge.value + ":" + nonce)));
      }
      Promise.all(batch).then(function (digests) {
        for (var j = 0; j < digests.length; j++) {
          if (zeroBits(new Uint8Array(digests[j])) >= bits) {
            proof.value = String(nonce - digests.length + j);
            form.submit();
            return;
          }
        }
        step();
      });
    }
    step();
  });
})();
