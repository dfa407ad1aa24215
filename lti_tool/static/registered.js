// After Dynamic Registration: the "Done" button tells the platform to close its registration
// panel (LTI Dynamic Registration, org.imsglobal.lti.close). Not sent on load, so the admin can
// read what was registered and what to do next.
(function () {
  "use strict";
  var button = document.getElementById("finish");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var target = window.opener || (window.parent !== window ? window.parent : null);
    // The message carries nothing secret, and the platform's page may be on another origin
    // than its issuer, hence "*".
    if (target) { target.postMessage({subject: "org.imsglobal.lti.close"}, "*"); }
  });
}());
