// Submits a form marked data-autosubmit once the page has loaded (the SAML answer re-posted from our own
// origin, so the browser sends our SameSite=Lax session cookie). Without JavaScript the button does it.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});
