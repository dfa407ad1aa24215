// Progressive enhancement only: every form works without this file.
// A live word and character count under reflection boxes, so limits are seen before they bite.
(function () {
  "use strict";
  var WORD = /[^\s]+/g;
  function update(box, out) {
    var text = box.value;
    var words = (text.match(WORD) || []).length;
    var min = parseInt(box.getAttribute("data-min-words") || "0", 10);
    var max = parseInt(box.getAttribute("maxlength") || "0", 10);
    var parts = [words + (words === 1 ? " word" : " words")];
    if (min && words < min) { parts.push((min - words) + " more needed"); }
    if (max) { parts.push(text.length.toLocaleString("en-GB") + " of " + max.toLocaleString("en-GB") + " characters"); }
    out.textContent = parts.join(", ") + ".";
  }
  function init() {
    var boxes = document.querySelectorAll("textarea[data-min-words]");
    Array.prototype.forEach.call(boxes, function (box) {
      var out = document.getElementById(box.id.replace(/-text$/, "") + "-count");
      if (!out) { return; }
      var timer = null;
      box.addEventListener("input", function () {
        // Announced politely and not on every keystroke: screen readers would chatter.
        clearTimeout(timer);
        timer = setTimeout(function () { update(box, out); }, 400);
      });
      if (!out.textContent.trim()) { update(box, out); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());

// Feedback after an answer: the server redirects to #feedback; move focus there so screen
// readers announce the headline at once (without this file the browser still scrolls to it).
(function () {
  "use strict";
  function focusTarget() {
    var id = decodeURIComponent((window.location.hash || "").slice(1));
    if (!id) { return; }
    var target = document.getElementById(id);
    if (target && target.getAttribute("tabindex") === "-1") { target.focus(); }
  }
  // Buttons that print the page (the evidence record): no inline handlers under a strict CSP.
  function printButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
  // The picker's button says how many modules it adds ("Add 2 modules").
  function countButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-count-label]"), function (button) {
      var form = button.form;
      var forms = button.getAttribute("data-count-label").split("|");
      function update() {
        var n = form.querySelectorAll("input[name=module]:checked").length;
        if (n) { button.textContent = forms[n === 1 ? 0 : 1].replace("{n}", n); }
      }
      form.addEventListener("change", update);
      update();
    });
  }
  function init() { focusTarget(); printButtons(); countButtons(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());

// Behaviour that used to be inline script: the Content-Security-Policy allows scripts from
// this file only (lti_tool/security.py), so pages mark elements with data attributes instead.
(function () {
  "use strict";
  function init() {
    // Forms that carry a signed message on to the next site (deep linking return, sandbox).
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosubmit]"), function (form) {
      form.submit();
    });
    // Inside the VLE's iframe: a cookie set and read back proves the browser keeps this site's
    // cookies in the frame; otherwise offer a new window instead of a launch that would fail.
    var check = document.querySelector("[data-cookie-check]");
    if (check) {
      // Partitioned like the tool's own cookies, which browsers blocking third-party cookies keep.
      var secure = location.protocol === "https:" ? "; SameSite=None; Secure; Partitioned" : "";
      document.cookie = "lti_cookie_check=1; path=/; max-age=60" + secure;
      if (document.cookie.indexOf("lti_cookie_check=1") !== -1) {
        window.location.replace(check.getAttribute("data-auth-url"));
      } else {
        check.hidden = true;
        document.getElementById("blocked").hidden = false;
      }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
