"use strict";
// The sign-in page: signs in, then opens the page of the user's role (or ?next=).
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.cookie.match(/(?:^|; )helpline_csrf=([^;]*)/) || [])[1] || "";
  const RANK = { "agent": 1, "supervisor": 2, "tenant-admin": 3, "platform-admin": 4 };
  const HOME = { "agent": "/desktop", "supervisor": "/wallboard", "tenant-admin": "/admin", "platform-admin": "/admin" };
  const next = () => {
    const wanted = new URLSearchParams(location.search).get("next");
    return wanted && wanted.startsWith("/") && !wanted.startsWith("//") ? wanted : null;
  };
  async function showHome(redirect, known) {
    let me = known;
    if (me === undefined) {
      const r = await fetch("/api/v1/auth/me", { credentials: "same-origin" });
      me = r.ok ? await r.json() : null;
    }
    if (!me) { $("login").hidden = false; $("home").hidden = true; $("username").focus(); return; }
    if (redirect || next()) { location.href = next() || HOME[me.role] || "/desktop"; return; }
    $("who").textContent = `${me.username}@${me.tenant}`;
    const labels = JSON.parse($("role").dataset.labels || "{}");
    $("role").textContent = labels[me.role] || me.role;
    for (const li of document.querySelectorAll("#home [data-role]")) li.hidden = (RANK[me.role] || 0) < RANK[li.dataset.role];
    $("login").hidden = true; $("home").hidden = false;
  }
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { tenant: $("tenant").value || null, username: $("username").value, password: $("password").value };
    const r = await fetch("/api/v1/auth/login", { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const err = $("error");
    if (r.ok) { err.textContent = ""; $("password").value = ""; await showHome(true, await r.json()); return; }
    err.textContent = r.status === 429 ? err.dataset.limited : err.dataset.failed;
  });
  $("logout").addEventListener("click", async () => {
    await fetch("/api/v1/auth/logout", { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": decodeURIComponent(csrf()) } });
    await showHome(false, null);
  });
  showHome(false, JSON.parse($("me").textContent));
})();
