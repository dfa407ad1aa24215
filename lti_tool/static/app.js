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
