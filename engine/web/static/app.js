// zhike serve: progressive enhancement only; every page works without this file.
// A choice tapped twice quickly submits once (a phone's double tap must not answer two questions).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  form.dataset.sent = "1";
  window.setTimeout(function () { form.dataset.sent = ""; }, 4000);
});
