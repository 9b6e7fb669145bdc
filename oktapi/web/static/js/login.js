// The login form: OAuth2 password flow against POST /auth/token.

import * as api from "./api.js";
import { h, message, replace } from "./dom.js";

export function renderLogin(main, { reason, onLoggedIn }) {
  const feedback = h("div", { id: "login-feedback" }, reason ? message("info", reason) : null);
  const username = h("input", {
    id: "username",
    name: "username",
    autocomplete: "username",
    required: true,
    autocapitalize: "none",
    spellcheck: "false",
  });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "card login", method: "post", "aria-describedby": "login-feedback", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    feedback,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!username.value || !password.value) {
      replace(feedback, message("error", "Enter your username and password."));
      (username.value ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    form.setAttribute("aria-busy", "true");
    try {
      await api.login(username.value, password.value);
      onLoggedIn();
    } catch (error) {
      const text =
        error.status === 401 ? "Wrong username or password." : error.message || "Login failed.";
      replace(feedback, message("error", text));
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
      form.removeAttribute("aria-busy");
    }
  });
  replace(
    main,
    h(
      "section",
      { class: "login-page" },
      h("h1", { tabindex: "-1" }, "Log in to Oktopus"),
      h("p", { class: "muted" }, "The same users as the API; you see the clients you may see."),
      form,
    ),
  );
  username.focus();
}
