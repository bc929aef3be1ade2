/* Sign in with the session cookie (HttpOnly), then go where the user was heading. */
(function () {
  "use strict";
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const text = window.fieldcrm.messages("login-messages");

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const username = String(data.get("username") || "").trim();
    const password = String(data.get("password") || "");
    if (!username || !password) {
      error.textContent = text["login.missing"];
      error.hidden = false;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await window.fieldcrm.api("POST", "/api/v1/auth/login", { username: username, password: password, session: true });
      window.location.assign(form.dataset.next || "/");
    } catch (exc) {
      error.textContent = exc.status === 429 ? text["login.rate_limited"] : exc.status === 401 ? text["login.failed"] : exc.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
})();
