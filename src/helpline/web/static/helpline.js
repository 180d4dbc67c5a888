"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.cookie.match(/(?:^|; )helpline_csrf=([^;]*)/) || [])[1] || "";
  async function showHome() {
    const r = await fetch("/api/v1/auth/me", { credentials: "same-origin" });
    if (!r.ok) { $("login").hidden = false; $("home").hidden = true; return; }
    const me = await r.json();
    $("who").textContent = `${me.username}@${me.tenant}`;
    $("role").textContent = me.role;
    $("login").hidden = true; $("home").hidden = false;
  }
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { tenant: $("tenant").value || null, username: $("username").value, password: $("password").value };
    const r = await fetch("/api/v1/auth/login", { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const err = $("error");
    if (r.ok) { err.textContent = ""; $("password").value = ""; await showHome(); return; }
    err.textContent = r.status === 429 ? err.dataset.limited : err.dataset.failed;
  });
  $("logout").addEventListener("click", async () => {
    await fetch("/api/v1/auth/logout", { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": decodeURIComponent(csrf()) } });
    await showHome();
  });
  showHome();
})();
