// Sluice dashboard: confirmation before destructive actions, and account switching on change.
// Everything also works without JavaScript (the server checks every action itself).
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});
document.addEventListener("focusin", function (event) {
  var el = event.target;
  if (el.classList && el.classList.contains("secret")) {
    el.select();
  }
});
