// LTI Client Side postMessages: keep the login's state and nonce in the platform's storage
// frame (org.imsglobal.lti.put_data) and read the state back at launch (get_data), so a launch
// works where the browser blocks the tool's cookies inside the course page.
(function () {
  "use strict";
  var CAPABILITIES_WAIT = 1000;  // ms; platforms that do not answer capabilities still store
  var STORAGE_WAIT = 3000;       // ms for a put_data or get_data answer

  function platformWindow() {
    if (window.opener) { return window.opener; }
    return window.parent !== window ? window.parent : null;
  }

  // Send one message and resolve with its ".response"; `origin` null accepts any sender
  // (capabilities only: it carries nothing secret and the page may be on another origin).
  function ask(target, origin, message, wait) {
    return new Promise(function (resolve, reject) {
      var id = "lti-" + Date.now() + "-" + Math.random().toString(36).slice(2);
      message.message_id = id;
      var timer = setTimeout(function () { done(null, new Error("no answer")); }, wait);
      function listen(event) {
        if (origin !== null && event.origin !== origin) { return; }
        var data = event.data;
        if (!data || typeof data !== "object" || data.message_id !== id ||
            data.subject !== message.subject + ".response") { return; }
        done(data, data.error ? new Error(String(data.error.code || data.error)) : null);
      }
      function done(data, error) {
        clearTimeout(timer);
        window.removeEventListener("message", listen);
        if (error) { reject(error); } else { resolve(data); }
      }
      window.addEventListener("message", listen);
      try {
        target.postMessage(message, origin === null ? "*" : origin);
      } catch (error) {
        done(null, error);
      }
    });
  }

  // The frame to talk to: the one named by capabilities when offered, else lti_storage_target.
  function storageFrame(origin, targetName) {
    var base = platformWindow();
    if (!base) { return Promise.reject(new Error("no platform window")); }
    function frameNamed(name) {
      if (!name || name === "_parent") { return base; }
      try { return base.frames[name] || null; } catch (error) { return null; }
    }
    return ask(base, null, {subject: "org.imsglobal.lti.capabilities"}, CAPABILITIES_WAIT)
      .then(function (answer) {
        var offered = Array.isArray(answer.supported_messages) ? answer.supported_messages : [];
        var put = offered.filter(function (m) { return m && m.subject === "org.imsglobal.lti.put_data"; })[0];
        if (!put) { throw new Error("platform does not offer storage"); }
        return frameNamed(put.frame || targetName);
      }, function () { return frameNamed(targetName); })
      .then(function (frame) {
        if (!frame) { throw new Error("no storage frame"); }
        return frame;
      });
  }

  function login(box) {
    var origin = box.getAttribute("data-origin");
    var state = box.getAttribute("data-state");
    var nonce = box.getAttribute("data-nonce");
    var next = box.getAttribute("data-next");
    function put(frame, key, value) {
      return ask(frame, origin, {subject: "org.imsglobal.lti.put_data", key: key, value: value},
                 STORAGE_WAIT);
    }
    storageFrame(origin, box.getAttribute("data-target"))
      .then(function (frame) {
        return put(frame, "state_" + state, state).then(function () {
          return put(frame, "nonce_" + nonce, nonce);
        });
      })
      // Without storage the launch can still succeed where the browser keeps the cookie.
      .catch(function () { return null; })
      .then(function () { window.location.replace(next); });
  }

  function launch(box) {
    var origin = box.getAttribute("data-origin");
    var state = box.getAttribute("data-state");
    storageFrame(origin, box.getAttribute("data-target"))
      .then(function (frame) {
        return ask(frame, origin, {subject: "org.imsglobal.lti.get_data", key: "state_" + state},
                   STORAGE_WAIT);
      })
      .then(function (answer) {
        // The platform keeps what this browser's login stored: a state from elsewhere is refused.
        if (answer.value !== state) { throw new Error("state differs"); }
        document.getElementById("storage-checked").submit();
      })
      .catch(function () {
        box.hidden = true;
        document.getElementById("storage-refused").hidden = false;
      });
  }

  function init() {
    var box = document.querySelector("[data-lti-storage]");
    if (!box) { return; }
    if (box.getAttribute("data-lti-storage") === "login") { login(box); } else { launch(box); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
