"use strict";
// Rollcall's console: Settings → Team and the auditor's view, over the public
// HTTP API only (it is also the reference client for frontends). Every rule it
// shows is the server's: a control is disabled only with a reason the server
// gave (the check API, or a refused command's problem detail), and every error
// is the problem's `detail` in plain words.
//
// Safety: the page is built with DOM calls and textContent only (no markup
// parsing), the Content-Security-Policy runs this file alone, and the member
// token lives in sessionStorage (gone when the tab closes). The invitation token
// of /accept?token=… is read once, removed from the address bar and sent only in
// the body of the accept POST.
(function () {
  var KEY = "rollcall.console.session";
  var main = document.getElementById("main");
  var nav = document.getElementById("nav");
  var who = document.getElementById("who");
  var signoutButton = document.getElementById("signout");
  var toastBox = document.getElementById("toast");
  var session = null; // {token, tenant, user, operator, mfa}
  var cache = {}; // per sign-in: catalog, me, team-permission verdict
  var toastTimer = null;

  // ---------- small helpers ----------

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "class") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else if (v === true) node.setAttribute(k, "");
        else node.setAttribute(k, v);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  // Appends every argument after the first: nodes, text, arrays of them; skips
  // null, undefined and false.
  function append(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
      else if (typeof child === "string" || typeof child === "number") node.appendChild(document.createTextNode(String(child)));
      else node.appendChild(child);
    }
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function toast(text) {
    toastBox.textContent = text;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastBox.textContent = ""; }, 5000);
  }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
  }

  function enc(s) { return encodeURIComponent(s); }

  function decodeJwt(token) {
    var parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      var b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      while (b64.length % 4) b64 += "=";
      return JSON.parse(atob(b64));
    } catch (e) { return null; }
  }

  function problemText(status, body) {
    if (body && body.detail) return body.detail;
    if (body && body.title) return body.title;
    return "The server answered " + status + ".";
  }

  // One request to the API, relative to the page (a public URL with a path prefix
  // works). Resolves with the parsed answer; rejects with an Error whose message
  // is the problem's detail.
  function api(method, path, body, options) {
    options = options || {};
    var headers = { "Accept": options.accept || "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (session && !options.anonymous) headers["Authorization"] = "Bearer " + session.token;
    return fetch(new URL("v1" + path, window.location.href), {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).then(function (response) {
      if (options.text && response.ok) return response.text();
      return response.text().then(function (raw) {
        var answer = null;
        try { answer = raw ? JSON.parse(raw) : null; } catch (e) { answer = null; }
        if (!response.ok) {
          var error = new Error(problemText(response.status, answer));
          error.status = response.status;
          error.slug = answer && answer.type ? String(answer.type).split("/").pop() : "";
          if (response.status === 401 && !options.anonymous) {
            signOut("Your token was refused (" + error.message + "). Sign in again.");
          }
          throw error;
        }
        return answer;
      });
    }, function () {
      throw new Error("The service could not be reached. Check your connection and try again.");
    });
  }

  function t() { return "/tenants/" + enc(session.tenant); }

  function errorBox(error) { return el("p", { class: "error", role: "alert", text: error.message || String(error) }); }

  function page(title, lead) {
    clear(main);
    document.title = title + " · Rollcall console";
    append(main, el("h1", { id: "page-title", text: title }));
    if (lead) append(main, el("p", { class: "lead", text: lead }));
    main.focus({ preventScroll: true });
  }

  function loading() { return el("p", { class: "muted", text: "Loading…" }); }

  // ---------- the catalog's vocabulary ----------

  function matches(pattern, permission) {
    if (pattern === "*") return true;
    if (pattern.slice(-2) === ".*") return permission.split(".")[0] === pattern.slice(0, -2);
    return pattern === permission;
  }

  function roleGrants(catalog, roleKeys) {
    var granted = {};
    var roles = catalog.tenant_roles || [];
    var keys = roleKeys && roleKeys.length ? roleKeys : (catalog.default_role ? [catalog.default_role] : []);
    allPermissions(catalog).forEach(function (p) {
      keys.forEach(function (k) {
        var role = roles.filter(function (r) { return r.key === k; })[0];
        if (!role) return;
        var hit = role.grants.some(function (g) { return matches(g, p); });
        var cut = (role.except || []).some(function (g) { return matches(g, p); });
        if (hit && !cut) granted[p] = true;
      });
    });
    return granted;
  }

  function allPermissions(catalog) {
    var out = [];
    (catalog.areas || []).forEach(function (a) {
      (a.actions || []).forEach(function (x) { out.push(a.key + "." + x.key); });
    });
    return out;
  }

  function currentPlan(catalog) {
    return (catalog.plans || []).filter(function (p) { return p.key === catalog.plan; })[0] || {};
  }

  function permissionLabel(catalog, permission) {
    var parts = permission.split(".");
    var area = (catalog.areas || []).filter(function (a) { return a.key === parts[0]; })[0];
    if (!area) return permission;
    var action = (area.actions || []).filter(function (x) { return x.key === parts[1]; })[0];
    return area.label + ": " + (action ? action.label : parts[1]);
  }

  function roleLabel(catalog, key) {
    var role = (catalog.tenant_roles || []).filter(function (r) { return r.key === key; })[0];
    return role ? role.label : key;
  }

  // Words each product uses on its own Team page.
  function vocabulary(catalog) {
    var words = {
      roles: catalog.multi_role ? "Roles" : "Role",
      noRole: catalog.default_role ? "No role ticked (" + roleLabel(catalog, catalog.default_role) + ")" : "No role: permissions set one by one",
      networks: "Allowed networks",
      offices: "Offices",
      assigned: "Only Assigned"
    };
    if (catalog.key === "jobtracker") {
      words.roles = "Administrator and security roles";
      words.networks = "Login locations";
    }
    if (catalog.key === "jetbuilt") words.offices = "Office locations";
    return words;
  }

  function needsReassignment(catalog) {
    var scoped = (catalog.areas || []).some(function (a) {
      return a.scope && (a.scope.options || []).indexOf("assigned") >= 0;
    });
    return scoped || (catalog.profile_links || []).length > 0;
  }

  // ---------- the session ----------

  function saveSession() { sessionStorage.setItem(KEY, JSON.stringify(session)); }

  function loadSession() {
    try { session = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { session = null; }
  }

  function signOut(message) {
    session = null;
    cache = {};
    sessionStorage.removeItem(KEY);
    nav.hidden = true;
    signoutButton.hidden = true;
    who.textContent = "";
    renderSignIn(message);
  }

  signoutButton.addEventListener("click", function () { signOut(""); });

  // The signed-in member's catalog, own view and team-permission verdict.
  function context() {
    if (cache.context) return cache.context;
    cache.context = api("GET", t() + "/catalog").then(function (catalog) {
      (catalog.tenant_roles || []).forEach(function (r) { vocab.roles[r.key] = r.label; });
      (catalog.plans || []).forEach(function (p) { vocab.plans[p.key] = p.label; });
      // Names for sources and the timeline; a member without the team
      // permission sees ids instead.
      return api("GET", t() + "/users").then(function (a) {
        a.users.forEach(function (u) { names[u.user_id] = u.display_name; });
      }, function () {}).then(function () { return catalog; });
    }).then(function (catalog) {
      if (session.operator) return { catalog: catalog, me: null, manage: { allowed: true }, billing: { allowed: true } };
      return Promise.all([
        api("GET", t() + "/users/" + enc(session.user)),
        verdict(catalog.team_permission),
        catalog.billing_permission ? verdict(catalog.billing_permission) : Promise.resolve({ allowed: false, reason: "" })
      ]).then(function (r) { return { catalog: catalog, me: r[0], manage: r[1], billing: r[2] }; });
    });
    cache.context.catch(function () { cache.context = null; });
    return cache.context;
  }

  // The server's verdict on the signed-in member holding `permission`.
  function verdict(permission) {
    if (session.operator) return Promise.resolve({ allowed: true, reason: "the operator" });
    return api("POST", t() + "/check", { user_id: session.user, permission: permission, resource: {} })
      .then(function (a) { return { allowed: a.allowed, reason: a.reason }; },
        function (e) { return { allowed: false, reason: e.message }; });
  }

  function refused(verdictAnswer, what) {
    return "You may not " + what + ": the server says " + verdictAnswer.reason + ".";
  }

  function renderSignIn(message) {
    page("Sign in", "Paste a member token (from your identity provider, or `rollcall token --tenant T --user U` to try things). The console uses only the public API, with your rights.");
    var error = el("div", { id: "signin-error" });
    if (message) append(error, el("p", { class: "note", text: message }));
    var token = el("textarea", { id: "token", autocomplete: "off", spellcheck: "false", "aria-describedby": "token-help" });
    var tenant = el("input", { id: "tenant", type: "text", autocomplete: "off", placeholder: "only for the operator token" });
    var form = el("form", { class: "card", novalidate: true },
      el("label", { for: "token", text: "Member token" }), token,
      el("p", { id: "token-help", class: "muted", text: "Kept in this tab only (sessionStorage) and sent only to this server." }),
      el("label", { for: "tenant", text: "Tenant id (only with the operator token)" }), tenant,
      el("p", {}, el("button", { id: "signin", type: "submit", text: "Sign in" })),
      error);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var raw = token.value.trim();
      var claims = decodeJwt(raw);
      clear(error);
      if (!raw) { append(error, errorBox(new Error("Paste a token first."))); return; }
      if (claims && claims.tid && claims.sub) {
        session = { token: raw, tenant: claims.tid, user: claims.sub, operator: false,
          mfa: Array.isArray(claims.amr) && claims.amr.indexOf("mfa") >= 0 };
      } else if (tenant.value.trim()) {
        session = { token: raw, tenant: tenant.value.trim(), user: null, operator: true, mfa: true };
      } else {
        append(error, errorBox(new Error("That is not a member token (a JWT naming its tenant and member). With the operator token, also give the tenant id.")));
        return;
      }
      cache = {};
      context().then(function () {
        saveSession();
        signedIn();
        location.hash = "#/team";
        route();
      }, function (e) {
        session = null;
        append(error, errorBox(e));
      });
    });
    append(main, form);
    token.focus();
  }

  function signedIn() {
    nav.hidden = false;
    signoutButton.hidden = false;
    who.textContent = session.operator ? "Operator · tenant " + session.tenant : "Signed in · " + session.user;
    context().then(function (c) {
      if (c.me) who.textContent = c.me.display_name + " <" + c.me.email + "> · " + c.catalog.label;
      else who.textContent = "Operator · " + c.catalog.label;
    }, function () {});
  }

  // ---------- Team ----------

  function renderTeam(params) {
    page("Team", "Everyone on the account: status, roles, and when they were invited, accepted and last logged in.");
    var status = params.status || "";
    var filter = el("select", { id: "status-filter" },
      [["", "Everyone"], ["active", "Active"], ["invited", "Invited (pending)"], ["deactivated", "Deactivated"], ["canceled", "Canceled invitations"]]
        .map(function (o) { return el("option", { value: o[0], selected: o[0] === status, text: o[1] }); }));
    filter.addEventListener("change", function () { location.hash = "#/team" + (filter.value ? "?status=" + filter.value : ""); });
    var search = el("input", { id: "team-search", type: "search", placeholder: "name or email" });
    var area = el("div", {}, loading());
    append(main, el("div", { class: "row" },
      el("label", { for: "status-filter" }, "Status", filter),
      el("label", { for: "team-search" }, "Find", search),
      el("a", { href: "#/invite", class: "button-link", id: "invite-link", text: "Invite someone" })));
    append(main, area);
    Promise.all([context(), api("GET", t() + "/users" + (status ? "?status=" + enc(status) : ""))]).then(function (r) {
      var c = r[0], users = r[1].users;
      clear(area);
      if (!c.manage.allowed) append(area, el("p", { class: "note", id: "manage-reason", text: refused(c.manage, "manage the team") }));
      var table = el("table", { id: "members" },
        el("thead", {}, el("tr", {}, ["Name", "Email", "Status", vocabulary(c.catalog).roles, "Invited", "Accepted", "Last login", "Actions"].map(function (h) { return el("th", { scope: "col", text: h }); }))));
      var body = el("tbody");
      users.forEach(function (u) { append(body, memberRow(c, u)); });
      append(table, body);
      append(area, el("div", { class: "table-wrap" }, table));
      if (!users.length) append(area, el("p", { class: "muted", text: "Nobody with that status." }));
      search.addEventListener("input", function () {
        var q = search.value.trim().toLowerCase();
        Array.prototype.forEach.call(body.rows, function (row) {
          row.hidden = q && row.getAttribute("data-search").indexOf(q) < 0;
        });
      });
      var pending = users.filter(function (u) { return u.status === "invited"; });
      if (!status && pending.length) {
        append(area, el("h2", { text: "Pending invitations" }));
        append(area, el("ul", { id: "pending" }, pending.map(function (u) {
          return el("li", {}, u.display_name + " <" + u.email + ">, sent " + when(u.invited_at) + ", expires " + when(u.invitation_expires_at));
        })));
      }
    }, function (e) { clear(area); append(area, errorBox(e)); });
  }

  function memberRow(c, u) {
    var actions = el("td", { class: "actions" });
    var reasonFor = c.manage.allowed ? null : refused(c.manage, "manage the team");
    function button(label, cls, handler) {
      return el("button", { type: "button", class: cls, text: label, disabled: !!reasonFor, title: reasonFor,
        "aria-label": label + " " + u.display_name, onclick: handler });
    }
    if (u.status === "invited" && u.invitation_id) {
      append(actions, button("Resend", "quiet resend", function () {
        command("POST", t() + "/invitations/" + enc(u.invitation_id) + "/resend", {}, "Invitation sent again to " + u.email);
      }));
      append(actions, button("Cancel", "danger cancel", function () {
        command("POST", t() + "/invitations/" + enc(u.invitation_id) + "/cancel", {}, "Invitation to " + u.email + " canceled");
      }));
    }
    if (u.status === "active") append(actions, button("Deactivate", "danger deactivate", function () { deactivateDialog(c, u, actions); }));
    if (u.status === "deactivated") append(actions, button("Reactivate", "quiet reactivate", function () {
      command("POST", t() + "/users/" + enc(u.user_id) + "/reactivate", {}, u.display_name + " is active again");
    }));
    return el("tr", { "data-user": u.user_id, "data-email": u.email, "data-status": u.status,
      "data-search": (u.display_name + " " + u.email).toLowerCase() },
      el("td", {}, el("a", { href: "#/member/" + u.user_id, text: u.display_name })),
      el("td", { text: u.email }),
      el("td", {}, el("span", { class: "badge " + u.status, text: u.status }), u.kind === "external" ? el("span", { class: "badge", text: "external" }) : null),
      el("td", {}, u.roles.length ? u.roles.map(function (r) { return el("span", { class: "badge", text: roleLabel(c.catalog, r) }); })
        : el("span", { class: "muted", text: c.catalog.default_role ? roleLabel(c.catalog, c.catalog.default_role) + " (default)" : "none" })),
      el("td", { text: when(u.invited_at) }),
      el("td", { text: when(u.accepted_at) }),
      el("td", { text: when(u.last_login_at) }),
      actions);
  }

  // Sends a command, says the outcome, and re-reads the page at the command's
  // position (read your writes).
  function command(method, path, body, done) {
    return api(method, path, body).then(function (answer) {
      toast(answer && answer.unchanged ? "Nothing to change." : done);
      cache.minPosition = answer && answer.position;
      cache.context = null;
      route();
      return answer;
    }, function (e) { toast(e.message); throw e; });
  }

  function deactivateDialog(c, u, anchor) {
    var old = document.getElementById("deactivate-panel");
    if (old) old.parentNode.removeChild(old);
    var reason = el("input", { id: "deactivate-reason", type: "text", placeholder: "why (kept in the audit trail)" });
    var reassign = null;
    var parts = [el("label", { for: "deactivate-reason" }, "Reason", reason)];
    var outcome = el("div");
    if (needsReassignment(c.catalog)) {
      reassign = el("select", { id: "reassign" }, el("option", { value: "", text: "Nobody" }));
      parts.push(el("label", { for: "reassign" }, "Reassign their records to", reassign));
      api("GET", t() + "/users?status=active").then(function (a) {
        a.users.filter(function (x) { return x.user_id !== u.user_id; }).forEach(function (x) {
          append(reassign, el("option", { value: x.user_id, text: x.display_name + " <" + x.email + ">" }));
        });
      }, function () {});
    }
    var panel = el("div", { id: "deactivate-panel", class: "card", role: "group", "aria-label": "Deactivate " + u.display_name },
      el("p", {}, "Deactivate ", el("strong", { text: u.display_name }), ": they lose every permission at once; their history stays."),
      el("div", { class: "row" }, parts,
        el("button", { id: "deactivate-confirm", type: "button", class: "danger", text: "Deactivate", onclick: function () {
          var body = { reason: reason.value.trim() || null };
          if (reassign && reassign.value) body.reassign_to = reassign.value;
          clear(outcome);
          command("POST", t() + "/users/" + enc(u.user_id) + "/deactivate", body, u.display_name + " is deactivated")
            .catch(function (e) { append(outcome, errorBox(e)); });
        } }),
        el("button", { type: "button", class: "quiet", text: "Keep", onclick: function () { panel.parentNode.removeChild(panel); } })),
      outcome);
    var table = document.getElementById("members");
    table.parentNode.parentNode.insertBefore(panel, table.parentNode);
    reason.focus();
    return anchor;
  }

  // ---------- the permission editor (invite and member page) ----------

  // One fieldset per area, a checkbox per action. `state(p)` says what the box
  // shows and whether (and why) it is locked; `change(p, checked)` is called on a
  // click.
  function permissionGrid(c, state, change) {
    var requires = c.catalog.requires || {};
    var grid = el("div", { class: "grid", id: "permissions" });
    (c.catalog.areas || []).forEach(function (area) {
      var set = el("fieldset", { "data-area": area.key }, el("legend", { text: area.label }));
      if (area.description) append(set, el("p", { class: "muted", text: area.description }));
      area.actions.forEach(function (action) {
        var p = area.key + "." + action.key;
        var s = state(p);
        var id = "perm-" + p.replace(/[^a-z0-9_]/gi, "-");
        var box = el("input", { type: "checkbox", id: id, "data-perm": p, checked: s.checked, disabled: !!s.locked,
          title: s.locked || null, "aria-describedby": id + "-why" });
        box.addEventListener("change", function () { change(p, box.checked, box); });
        var why = [];
        if (requires[p]) why.push("Needs " + requires[p].map(function (r) { return permissionLabel(c.catalog, r); }).join(", "));
        if (s.note) why.push(s.note);
        // A lock the page already explains once (no team permission) is not
        // repeated under every box; the box's title still says it.
        if (s.locked && !s.quiet) why.push(s.locked);
        append(set, el("div", { class: "perm" + (s.overridden ? " overridden" : "") },
          box,
          el("label", { for: id, title: action.description || "" }, action.label,
            el("span", { id: id + "-why", class: "why" + (s.locked ? " locked" : ""), text: why.join(" · ") })),
          s.extra || null));
      });
      if (area.scope && (area.scope.options || []).length > 1 && state.scope) append(set, state.scope(area));
      append(grid, set);
    });
    return grid;
  }

  // Why the signed-in member may not grant `p`, from the server's check, or null.
  function grantVerdicts(c) {
    if (cache.grants) return cache.grants;
    var lacking = allPermissions(c.catalog).filter(function (p) {
      return !session.operator && !(c.me.effective || []).some(function (e) { return e.permission === p; });
    });
    cache.grants = Promise.all(lacking.map(function (p) {
      return verdict(p).then(function (v) { return [p, v]; });
    })).then(function (pairs) {
      var out = {};
      pairs.forEach(function (pair) {
        if (!pair[1].allowed) out[pair[0]] = "You cannot grant what you do not hold (" + pair[1].reason + ")";
      });
      return out;
    });
    return cache.grants;
  }

  function planLock(c, p) {
    var plan = currentPlan(c.catalog);
    if ((plan.always_on || []).indexOf(p) >= 0) return "Always on for " + plan.label;
    if ((plan.unavailable || []).indexOf(p) >= 0) return "Not available on " + plan.label;
    return null;
  }

  function rolePicker(c, selected, name) {
    var words = vocabulary(c.catalog);
    var roles = c.catalog.tenant_roles || [];
    var set = el("fieldset", { id: name + "-roles" }, el("legend", { text: words.roles }));
    if (!c.catalog.multi_role) {
      append(set, el("div", { class: "perm" },
        el("input", { type: "radio", name: name, id: name + "-none", value: "", checked: selected.length === 0 }),
        el("label", { for: name + "-none", text: words.noRole })));
    }
    roles.forEach(function (r) {
      var id = name + "-" + r.key;
      append(set, el("div", { class: "perm" },
        el("input", { type: c.catalog.multi_role ? "checkbox" : "radio", name: name, id: id, value: r.key, checked: selected.indexOf(r.key) >= 0 }),
        el("label", { for: id }, r.label + (r.builtin ? "" : " (security role)"),
          el("span", { class: "why", text: r.description || "" }))));
    });
    if (c.catalog.key === "jethub") {
      append(set, el("p", { class: "muted", text: "Roles combine. An Account Admin is not a Billing User: tick both for someone who manages invoices too." }));
    }
    if (c.catalog.key === "jobtracker") {
      append(set, el("p", { class: "muted", text: "Every user needs to be an Administrator or hold at least one security role, otherwise they cannot log in." }));
    }
    return set;
  }

  function pickedRoles(name) {
    return Array.prototype.filter.call(document.querySelectorAll("input[name='" + name + "']"), function (i) {
      return i.checked && i.value;
    }).map(function (i) { return i.value; });
  }

  // ---------- Invite ----------

  function renderInvite() {
    page("Invite someone", "They get an email with a link; they become a member when they accept it.");
    var area = el("div", {}, loading());
    append(main, area);
    context().then(function (c) {
      return grantVerdicts(c).then(function (cannot) { draw(c, cannot); });
    }).catch(function (e) { clear(area); append(area, errorBox(e)); });

    function draw(c, cannot) {
      clear(area);
      if (!c.manage.allowed) append(area, el("p", { class: "note", id: "manage-reason", text: refused(c.manage, "invite") }));
      if (c.catalog.invite_requires_mfa) {
        append(area, el("p", { class: session.mfa ? "okay" : "note", id: "mfa-note",
          text: session.mfa ? c.catalog.label + " asks for an MFA authorisation to invite: your sign-in carries one."
            : c.catalog.label + " asks for an MFA authorisation to invite. Sign in again with a token that carries the step-up (amr: mfa; `rollcall token --mfa`)." }));
      }
      var email = el("input", { id: "invite-email", type: "email", required: true, autocomplete: "off" });
      var name = el("input", { id: "invite-name", type: "text", required: true, autocomplete: "off" });
      var kind = el("select", { id: "invite-kind" }, el("option", { value: "member", text: "Team member" }),
        el("option", { value: "external", text: "External user (view only)" }));
      var overrides = {};
      var roles = rolePicker(c, [], "invite-role");
      var grid = el("div");
      function redraw() {
        var granted = roleGrants(c.catalog, pickedRoles("invite-role"));
        clear(grid);
        append(grid, permissionGrid(c, function (p) {
          var lock = planLock(c, p);
          var on = overrides[p] ? overrides[p] === "allow" : !!granted[p];
          return { checked: lock && lock.indexOf("Always") === 0 ? true : on,
            locked: lock || (!on && cannot[p]) || null,
            overridden: !!overrides[p], note: overrides[p] ? "set for this person" : (granted[p] ? "from the role" : null) };
        }, function (p, checked) {
          var fromRole = !!granted[p];
          if (checked === fromRole) delete overrides[p]; else overrides[p] = checked ? "allow" : "deny";
          redraw();
        }));
      }
      roles.addEventListener("change", redraw);
      redraw();
      var outcome = el("div", { id: "invite-result" });
      var form = el("form", { class: "card", novalidate: true },
        el("div", { class: "row" },
          el("label", { for: "invite-email" }, "Email", email),
          el("label", { for: "invite-name" }, "Name", name),
          el("label", { for: "invite-kind" }, "Kind", kind)),
        roles,
        el("h2", { text: "Permissions" }),
        el("p", { class: "muted", text: "Ticked: what they will be able to do. Changing a box sets it for this person over their role." }),
        grid,
        el("p", {}, el("button", { id: "invite-submit", type: "submit", text: "Send the invitation",
          disabled: !c.manage.allowed, title: c.manage.allowed ? null : refused(c.manage, "invite") })),
        outcome);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        clear(outcome);
        var body = { email: email.value.trim(), display_name: name.value.trim(), roles: pickedRoles("invite-role"),
          permissions: overrides, kind: kind.value };
        api("POST", t() + "/invitations", body).then(function (a) {
          cache.minPosition = a.position;
          append(outcome, el("p", { class: "okay", text: "Invitation sent to " + body.email + "; it expires " + when(a.expires_at) + "." }),
            el("p", {}, el("a", { href: "#/member/" + a.user_id, text: "Open " + body.display_name + "'s page" })));
          toast("Invitation sent to " + body.email);
        }, function (e) { append(outcome, errorBox(e)); });
      });
      append(area, form);
      email.focus();
    }
  }

  // ---------- Member ----------

  function renderMember(id) {
    page("Member", null);
    var area = el("div", {}, loading());
    append(main, area);
    var minPosition = cache.minPosition ? "?min_position=" + cache.minPosition : "";
    Promise.all([context(), api("GET", t() + "/users/" + enc(id) + minPosition)]).then(function (r) {
      var c = r[0], m = r[1];
      return (c.manage.allowed ? grantVerdicts(c) : Promise.resolve({})).then(function (cannot) { draw(c, m, cannot); });
    }).catch(function (e) { clear(area); append(area, errorBox(e)); });

    function draw(c, m, cannot) {
      clear(area);
      var words = vocabulary(c.catalog);
      document.getElementById("page-title").textContent = m.display_name;
      document.getElementById("page-title").id = "member-title";
      var manageReason = c.manage.allowed ? null : refused(c.manage, "change this member");
      var effective = {};
      m.effective.forEach(function (e) { effective[e.permission] = e.sources; });
      var granted = roleGrants(c.catalog, m.roles);
      append(area, el("p", { class: "lead" }, m.email + " · ", el("span", { class: "badge " + m.status, text: m.status }),
        m.kind === "external" ? el("span", { class: "badge", text: "external" }) : null,
        " · invited " + when(m.invited_at) + " · accepted " + when(m.accepted_at) + " · last login " + when(m.last_login_at)));
      if (manageReason) append(area, el("p", { class: "note", id: "manage-reason", text: manageReason }));
      if (c.catalog.edit_active_members_only && m.status !== "active") {
        append(area, el("p", { class: "note", text: c.catalog.label + " changes permissions only once the invitation is accepted." }));
      }
      var outcome = el("div", { id: "member-outcome" });
      append(area, outcome);
      function fail(e) { clear(outcome); append(outcome, errorBox(e)); }

      // Roles
      var roles = rolePicker(c, m.roles, "member-role");
      append(area, el("h2", { text: "Access" }), roles,
        el("p", {}, el("button", { id: "save-roles", type: "button", text: "Save " + words.roles.toLowerCase(), disabled: !!manageReason, title: manageReason,
          onclick: function () {
            command("PUT", t() + "/users/" + enc(m.user_id) + "/roles", { roles: pickedRoles("member-role") }, "Roles of " + m.display_name + " saved").catch(fail);
          } })));

      // Permissions
      append(area, el("h2", { text: "Permissions" }),
        el("p", { class: "muted", text: "Ticked: effective now. A box set for this person (over the role) is in italics and can be reset to the role's default." }));
      var scopeOf = function (areaDoc) {
        var current = m.scopes[areaDoc.key] || (areaDoc.scope && areaDoc.scope.default) || "all";
        var options = areaDoc.scope.options;
        if (options.length === 2 && options.indexOf("assigned") >= 0 && options.indexOf("all") >= 0) {
          var box = el("input", { type: "checkbox", id: "scope-" + areaDoc.key, "data-scope-area": areaDoc.key,
            checked: current === "assigned", disabled: !!manageReason });
          box.addEventListener("change", function () {
            command("PUT", t() + "/users/" + enc(m.user_id) + "/scopes/" + enc(areaDoc.key), { scope: box.checked ? "assigned" : "all" },
              areaDoc.label + ": " + (box.checked ? words.assigned : "all records")).catch(fail);
          });
          return el("div", { class: "perm" }, box, el("label", { for: "scope-" + areaDoc.key, text: words.assigned }));
        }
        var select = el("select", { id: "scope-" + areaDoc.key, "data-scope-area": areaDoc.key, disabled: !!manageReason },
          options.map(function (o) { return el("option", { value: o, selected: o === current, text: o }); }));
        select.addEventListener("change", function () {
          command("PUT", t() + "/users/" + enc(m.user_id) + "/scopes/" + enc(areaDoc.key), { scope: select.value }, areaDoc.label + ": " + select.value).catch(fail);
        });
        return el("label", { for: "scope-" + areaDoc.key }, "Records", select);
      };
      var state = function (p) {
        var lock = planLock(c, p);
        var on = !!effective[p];
        var override = m.overrides[p];
        var extra = null;
        if (override && !manageReason) {
          extra = el("button", { type: "button", class: "quiet", "data-reset": p, "aria-label": "Reset " + p + " to the role's default", text: "↺",
            title: "Reset to the role's default", onclick: function () {
              command("PUT", t() + "/users/" + enc(m.user_id) + "/permissions/" + enc(p), { state: "inherit" }, p + " follows the role again").catch(fail);
            } });
        }
        return { checked: on, overridden: !!override, extra: extra,
          locked: lock || manageReason || (!on && cannot[p]) || null, quiet: !lock && !!manageReason,
          note: override ? (override === "allow" ? "allowed for this person" : "denied for this person") : null };
      };
      state.scope = scopeOf;
      append(area, permissionGrid(c, state, function (p, checked, box) {
        var override = m.overrides[p];
        var fromRole = !!granted[p];
        var next;
        if (checked) next = override === "deny" && fromRole ? "inherit" : "allow";
        else next = override === "allow" && !fromRole ? "inherit" : "deny";
        box.disabled = true;
        command("PUT", t() + "/users/" + enc(m.user_id) + "/permissions/" + enc(p), { state: next },
          permissionLabel(c.catalog, p) + (checked ? " on" : " off") + " for " + m.display_name).catch(function (e) {
          box.checked = !checked;
          box.disabled = false;
          fail(e);
        });
      }));

      // Offices and networks
      var offices = el("input", { id: "offices", type: "text", value: m.offices.join(", "), disabled: !!manageReason });
      var networks = el("input", { id: "networks", type: "text", value: m.networks.join(", "), placeholder: "anywhere", disabled: !!manageReason });
      append(area, el("h2", { text: words.offices + " and " + words.networks.toLowerCase() }),
        el("div", { class: "row" },
          el("label", { for: "offices" }, words.offices + " (comma-separated)", offices),
          el("button", { type: "button", class: "quiet", text: "Save " + words.offices.toLowerCase(), disabled: !!manageReason, onclick: function () {
            command("PUT", t() + "/users/" + enc(m.user_id) + "/offices", { offices: split(offices.value) }, words.offices + " saved").catch(fail);
          } }),
          el("label", { for: "networks" }, words.networks + " (CIDR, comma-separated; empty: anywhere)", networks),
          el("button", { type: "button", class: "quiet", text: "Save " + words.networks.toLowerCase(), disabled: !!manageReason, onclick: function () {
            command("PUT", t() + "/users/" + enc(m.user_id) + "/networks", { cidrs: split(networks.value) }, words.networks + " saved").catch(fail);
          } })));

      // Status
      var statusRow = el("p");
      if (m.status === "active") append(statusRow, el("button", { type: "button", class: "danger", id: "member-deactivate", text: "Deactivate", disabled: !!manageReason, onclick: function () {
        command("POST", t() + "/users/" + enc(m.user_id) + "/deactivate", { reason: "deactivated from the member page" }, m.display_name + " is deactivated").catch(fail);
      } }));
      if (m.status === "deactivated") append(statusRow, el("button", { type: "button", class: "quiet", id: "member-reactivate", text: "Reactivate", disabled: !!manageReason, onclick: function () {
        command("POST", t() + "/users/" + enc(m.user_id) + "/reactivate", {}, m.display_name + " is active again").catch(fail);
      } }));
      append(area, statusRow);

      // The check
      append(area, el("h2", { text: "Check" }), checkPanel(c, m));

      // Effective permissions with sources
      append(area, el("h2", { text: "Effective permissions" }));
      var rows = m.effective.map(function (e) {
        var parts = e.permission.split(".");
        return el("tr", { "data-permission": e.permission },
          el("td", { text: permissionLabel(c.catalog, e.permission) }),
          el("td", {}, el("code", { text: e.permission })),
          el("td", { text: m.scopes[parts[0]] || "all" }),
          el("td", { text: e.sources.map(sourceText).join("; ") }));
      });
      append(area, rows.length ? el("div", { class: "table-wrap" }, el("table", { id: "effective" },
        el("thead", {}, el("tr", {}, ["Permission", "Key", "Scope", "Why"].map(function (h) { return el("th", { scope: "col", text: h }); }))),
        el("tbody", {}, rows))) : el("p", { class: "muted", id: "effective", text: m.status === "active" ? "No permissions." : "None: the member is " + m.status + "." }));

      // Own audit history
      append(area, el("h2", { text: "History" }));
      var history = el("ol", { class: "timeline", id: "member-history" });
      append(area, history);
      if (manageReason) { append(history, el("li", { class: "muted", text: manageReason })); return; }
      api("GET", t() + "/audit?user=" + enc(m.user_id) + "&limit=100").then(function (page) {
        page.entries.slice().reverse().forEach(function (e) { append(history, auditItem(c, e)); });
      }, function (e) { append(history, el("li", {}, errorBox(e))); });
    }
  }

  function split(text) { return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean); }

  // Names of the tenant's members and labels of its roles and plans, for
  // sources and deltas (filled by `context`).
  var names = {};
  var vocab = { roles: {}, plans: {} };

  function nameOf(actor) {
    if (actor === "operator") return "the operator";
    return names[actor] || actor;
  }

  function sourceText(s) {
    if (s.kind === "role") return "role " + (vocab.roles[s.role] || s.role);
    if (s.kind === "default_role") return "default role " + (vocab.roles[s.role] || s.role);
    if (s.kind === "plan") return "plan " + (vocab.plans[s.plan] || s.plan);
    if (s.kind === "override") return "set by " + nameOf(s.by) + " at position " + s.position + " (" + when(s.at) + ")";
    return JSON.stringify(s);
  }

  function checkPanel(c, m) {
    var select = el("select", { id: "check-permission" }, allPermissions(c.catalog).map(function (p) {
      return el("option", { value: p, text: permissionLabel(c.catalog, p) + " (" + p + ")" });
    }));
    var owner = el("input", { id: "check-owner", type: "text", placeholder: "owner user id (optional)" });
    var office = el("input", { id: "check-office", type: "text", placeholder: "office (optional)" });
    var result = el("p", { id: "check-result", role: "status" });
    var run = el("button", { id: "check-run", type: "button", text: "Check", onclick: function () {
      var resource = {};
      if (owner.value.trim()) resource.owner_id = owner.value.trim();
      if (office.value.trim()) resource.office_id = office.value.trim();
      result.textContent = "…";
      result.removeAttribute("data-allowed");
      api("POST", t() + "/check" + (cache.minPosition ? "?min_position=" + cache.minPosition : ""),
        { user_id: m.user_id, permission: select.value, resource: resource }).then(function (a) {
        result.className = a.allowed ? "okay" : "error";
        result.setAttribute("data-allowed", String(a.allowed));
        result.textContent = (a.allowed ? "Allowed: " : "Denied: ") + a.reason + " (position " + a.position + ")";
      }, function (e) { result.className = "error"; result.textContent = e.message; });
    } });
    return el("div", { class: "card" },
      el("p", { class: "muted", text: "May " + m.display_name + " do this? Asked of the server, as an application would." }),
      el("div", { class: "row" }, el("label", { for: "check-permission" }, "Permission", select),
        el("label", { for: "check-owner" }, "Assigned to", owner), el("label", { for: "check-office" }, "Office", office), run),
      result);
  }

  // ---------- Audit ----------

  var typeLabels = {
    "tenant.created": "Account created", "catalog.defined": "Catalog defined", "tenant.plan_changed": "Plan changed",
    "role.created": "Role created", "role.updated": "Role updated", "role.deleted": "Role deleted",
    "user.invited": "Invited", "invitation.resent": "Invitation resent", "invitation.canceled": "Invitation canceled",
    "invitation.accepted": "Invitation accepted", "user.roles_changed": "Roles changed",
    "user.permission_toggled": "Permission changed", "user.scope_changed": "Scope changed",
    "user.offices_changed": "Offices changed", "user.networks_changed": "Networks changed",
    "user.deactivated": "Deactivated", "user.reactivated": "Reactivated", "user.logged_in": "Logged in",
    "user.profile_updated": "Profile updated", "command.unchanged": "Retried command (nothing changed)"
  };

  function label(type) { return typeLabels[type] || type; }

  function auditItem(c, e) {
    var delta = (e.access_delta || []).map(function (d) {
      return el("div", { class: "delta" }, el("strong", { text: d.display_name + ": " }),
        d.gained.length ? el("span", { class: "gained", text: "+ " + d.gained.join(", ") + " " }) : null,
        d.lost.length ? el("span", { class: "lost", text: "− " + d.lost.join(", ") }) : null);
    });
    var actor = e.actor === "operator" ? "the operator" : (e.actor_name || e.actor);
    return el("li", { id: "pos-" + e.position, "data-type": e.type, "data-position": String(e.position), "data-target": e.target || "" },
      el("div", { class: "head" },
        el("a", { href: "#/audit?position=" + e.position, class: "muted", text: "#" + e.position }),
        el("span", { class: "type", text: label(e.type) }),
        e.target_name ? el("span", { text: "· " + e.target_name }) : null,
        el("span", { class: "muted", text: "by " + actor + " · " + when(e.occurred_at) }),
        el("a", { href: "#/asof?at=" + enc(e.occurred_at), class: "muted", text: "access then" })),
      e.reason ? el("div", { class: "muted", text: "Reason: " + e.reason }) : null,
      (e.before !== null || e.after !== null) ? el("div", { class: "change" },
        el("div", {}, el("div", { class: "muted", text: "Before" }), el("pre", { class: "json", text: e.before === null ? "—" : JSON.stringify(e.before, null, 1) })),
        el("div", {}, el("div", { class: "muted", text: "After" }), el("pre", { class: "json", text: e.after === null ? "—" : JSON.stringify(e.after, null, 1) }))) : null,
      delta);
  }

  function renderAudit(params) {
    page("Audit", "Every change to the team, newest first: who did it, why, what it was before and after, and whose access it changed.");
    var area = el("div", {}, loading());
    append(main, area);
    Promise.all([context(), api("GET", t() + "/users")]).then(function (r) {
      var c = r[0], users = r[1].users;
      clear(area);
      function options(selected) {
        return [el("option", { value: "", text: "Anyone" })].concat(users.map(function (u) {
          return el("option", { value: u.user_id, selected: u.user_id === selected, text: u.display_name });
        }));
      }
      var type = el("select", { id: "audit-type" }, el("option", { value: "", text: "Any change" }),
        Object.keys(typeLabels).map(function (k) { return el("option", { value: k, selected: k === params.type, text: typeLabels[k] }); }));
      var actor = el("select", { id: "audit-actor" }, options(params.actor),
        el("option", { value: "operator", selected: params.actor === "operator", text: "The operator" }));
      var target = el("select", { id: "audit-user" }, options(params.user));
      var from = el("input", { id: "audit-from", type: "datetime-local", value: params.from ? params.from.slice(0, 16) : "" });
      var to = el("input", { id: "audit-to", type: "datetime-local", value: params.to ? params.to.slice(0, 16) : "" });
      var go = el("button", { type: "button", id: "audit-filter", text: "Filter", onclick: function () {
        var q = [];
        if (type.value) q.push("type=" + enc(type.value));
        if (actor.value) q.push("actor=" + enc(actor.value));
        if (target.value) q.push("user=" + enc(target.value));
        if (from.value) q.push("from=" + enc(new Date(from.value).toISOString()));
        if (to.value) q.push("to=" + enc(new Date(to.value).toISOString()));
        location.hash = "#/audit" + (q.length ? "?" + q.join("&") : "");
      } });
      append(area, el("div", { class: "row card" },
        el("label", { for: "audit-type" }, "Change", type), el("label", { for: "audit-actor" }, "Done by", actor),
        el("label", { for: "audit-user" }, "About", target), el("label", { for: "audit-from" }, "From (your time)", from),
        el("label", { for: "audit-to" }, "To (your time)", to), go));
      var list = el("ol", { class: "timeline", id: "audit-list", reversed: true });
      append(area, list);
      var query = ["limit=200"];
      ["type", "actor", "user", "from", "to"].forEach(function (k) { if (params[k]) query.push(k + "=" + enc(params[k])); });
      if (cache.minPosition) query.push("min_position=" + cache.minPosition);
      var pages = 0;
      function more(cursor) {
        api("GET", t() + "/audit?" + query.join("&") + (cursor ? "&cursor=" + enc(cursor) : "")).then(function (page) {
          pages += 1;
          // The API pages oldest first; the timeline reads newest first.
          page.entries.forEach(function (e) { list.insertBefore(auditItem(c, e), list.firstChild); });
          if (page.next_cursor && pages < 25) more(page.next_cursor);
          else {
            if (!list.firstChild) append(list, el("li", { class: "muted", text: "No change matches." }));
            if (params.position) {
              var target = document.getElementById("pos-" + params.position);
              if (target) { target.scrollIntoView(); target.setAttribute("tabindex", "-1"); target.focus(); }
            }
          }
        }, function (e) { append(area, errorBox(e)); });
      }
      more(null);
    }, function (e) { clear(area); append(area, errorBox(e)); });
  }

  // ---------- As of ----------

  // Every event of the tenant, oldest first (bounded: 25 pages of 500).
  function history() {
    var entries = [];
    function next(cursor, pages) {
      return api("GET", t() + "/audit?limit=500" + (cursor ? "&cursor=" + enc(cursor) : "") + (cache.minPosition ? "&min_position=" + cache.minPosition : ""))
        .then(function (page) {
          entries = entries.concat(page.entries);
          if (page.next_cursor && pages < 25) return next(page.next_cursor, pages + 1);
          return entries;
        });
    }
    return next(null, 1);
  }

  function renderAsOf(params) {
    page("As of", "Who could do what at a past instant, with the reason, from the log itself. Move the slider through the account's history.");
    var area = el("div", {}, loading());
    append(main, area);
    Promise.all([context(), history()]).then(function (r) {
      var c = r[0], entries = r[1];
      clear(area);
      if (!entries.length) { append(area, el("p", { class: "muted", text: "No history yet." })); return; }
      var start = entries.length - 1;
      if (params.at) {
        entries.forEach(function (e, i) { if (e.occurred_at <= params.at) start = i; });
      }
      var slider = el("input", { id: "asof-slider", type: "range", min: "0", max: String(entries.length - 1), step: "1", value: String(start),
        "aria-describedby": "asof-label" });
      var label1 = el("p", { id: "asof-label", class: "slider-label", "aria-live": "polite" });
      var review = el("div", { id: "asof-review" });
      var csv = el("button", { id: "review-csv", type: "button", class: "quiet", text: "Download the access review (CSV)" });
      var csvLink = el("span", { id: "review-csv-link" });
      append(area, el("div", { class: "card" },
        el("label", { for: "asof-slider", text: "Instant (one step per change; arrow keys move it)" }), slider, label1,
        el("div", { class: "row" }, csv, csvLink)), review);
      var timer = null;
      var shown = -1;
      function instant() { return entries[Number(slider.value)].occurred_at; }
      function show() {
        var i = Number(slider.value);
        var e = entries[i];
        label1.textContent = when(e.occurred_at) + " — after #" + e.position + " " + label(e.type) + (e.target_name ? " · " + e.target_name : "");
        if (i === shown) return;
        shown = i;
        review.setAttribute("aria-busy", "true");
        api("GET", t() + "/access-review?at=" + enc(e.occurred_at)).then(function (rev) {
          if (Number(slider.value) !== i) return;
          clear(review);
          review.setAttribute("data-at", e.occurred_at);
          review.setAttribute("data-seq", String(rev.tenant_seq));
          review.removeAttribute("aria-busy");
          append(review, reviewTable(c, rev));
        }, function (err) { clear(review); append(review, errorBox(err)); });
      }
      slider.addEventListener("input", function () {
        if (timer) clearTimeout(timer);
        timer = setTimeout(show, 120);
        label1.textContent = when(entries[Number(slider.value)].occurred_at);
      });
      csv.addEventListener("click", function () {
        var at = instant();
        clear(csvLink);
        api("GET", t() + "/access-review?at=" + enc(at), undefined, { accept: "text/csv", text: true }).then(function (text) {
          var url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
          var name = "access-review-" + at.replace(/[:.]/g, "-") + ".csv";
          var link = el("a", { href: url, download: name, id: "review-csv-file", text: "Save " + name });
          append(csvLink, link);
          link.click();
        }, function (err) { append(csvLink, errorBox(err)); });
      });
      show();

      // The diff between two instants.
      function picker(id, selected) {
        return el("select", { id: id }, entries.map(function (e, i) {
          return el("option", { value: e.occurred_at, selected: i === selected, text: "#" + e.position + " " + label(e.type) + " · " + when(e.occurred_at) });
        }));
      }
      var from = picker("diff-from", 0), to = picker("diff-to", entries.length - 1);
      var diff = el("div", { id: "diff-result" });
      append(area, el("h2", { text: "What changed between two instants" }),
        el("div", { class: "row card" }, el("label", { for: "diff-from" }, "From", from), el("label", { for: "diff-to" }, "To", to),
          el("button", { id: "diff-run", type: "button", text: "Compare", onclick: function () {
            clear(diff);
            api("GET", t() + "/access-diff?from=" + enc(from.value) + "&to=" + enc(to.value)).then(function (d) {
              append(diff, diffView(c, d));
            }, function (err) { append(diff, errorBox(err)); });
          } })), diff);
    }, function (e) { clear(area); append(area, errorBox(e)); });
  }

  function scopeText(scope) {
    if (!scope) return "";
    return typeof scope === "string" ? scope : JSON.stringify(scope);
  }

  function reviewTable(c, rev) {
    var rows = [];
    rev.members.forEach(function (m) {
      var perms = m.permissions.map(function (p) {
        return el("li", { "data-permission": p.permission }, el("code", { text: p.permission }),
          el("span", { class: "muted", text: " — " + p.sources.map(sourceText).join("; ") + (p.scope && p.scope !== "all" ? " · " + scopeText(p.scope) : "") }));
      });
      rows.push(el("tr", { "data-member": m.email, "data-count": String(m.permissions.length) },
        el("td", {}, el("strong", { text: m.display_name }), el("div", { class: "muted", text: m.email })),
        el("td", {}, el("span", { class: "badge " + m.status, text: m.status })),
        el("td", { text: m.roles.map(function (r) { return roleLabel(c.catalog, r); }).join(", ") || "—" }),
        el("td", {}, perms.length ? el("ul", {}, perms) : el("span", { class: "muted", text: "nothing" }))));
    });
    return el("div", {},
      el("p", { class: "muted", text: "At " + when(rev.at) + ": event " + rev.tenant_seq + " of the account, head hash " + rev.head_hash.slice(0, 16) + "…" }),
      el("div", { class: "table-wrap" }, el("table", { id: "asof-table" },
        el("thead", {}, el("tr", {}, ["Member", "Status", "Roles", "Could (and why)"].map(function (h) { return el("th", { scope: "col", text: h }); }))),
        el("tbody", {}, rows))));
  }

  function diffView(c, d) {
    if (!d.members.length) return el("p", { class: "muted", text: "Nobody's access changed between event " + d.from_seq + " and event " + d.to_seq + "." });
    return el("div", {},
      el("p", { class: "muted", text: "From event " + d.from_seq + " to event " + d.to_seq + ":" }),
      el("ul", {}, d.members.map(function (m) {
        function change(cls, sign, x) {
          return el("li", { class: cls }, sign + " " + x.permission,
            x.cause ? el("span", { class: "muted", text: " (#" + x.cause.position + " " + label(x.cause.type) + (x.cause.reason ? ": " + x.cause.reason : "") + ")" }) : null);
        }
        return el("li", { "data-user": m.user_id }, el("strong", { text: m.display_name }),
          (m.status_from !== m.status_to) ? " — " + (m.status_from || "not a member") + " → " + (m.status_to || "not a member") : "",
          el("ul", {}, m.granted.map(function (x) { return change("gained", "+", x); }), m.revoked.map(function (x) { return change("lost", "−", x); })));
      })));
  }

  // ---------- Integrity ----------

  function renderIntegrity() {
    page("Integrity", "Every change is chained by SHA-256 to the one before it, and the chain's head is signed regularly. This walks the account's chain now.");
    var area = el("div", { id: "integrity" }, loading());
    append(main, area);
    api("GET", t() + "/verify").then(function (v) {
      clear(area);
      append(area, el("p", { id: "chain-status", "data-intact": String(v.intact), class: v.intact ? "okay" : "error",
        text: v.intact ? "The chain is intact: " + v.events + " events verified through event " + v.verified_through.tenant_seq + " (log position " + v.verified_through.position + ")."
          : "The chain is broken: " + v.problem }));
      append(area, el("div", { class: "card" }, el("h2", { text: "Chain" }), el("dl", { class: "kv" },
        el("dt", { text: "Verified through" }), el("dd", { id: "verified-through", text: "event " + v.verified_through.tenant_seq + " at position " + v.verified_through.position }),
        el("dt", { text: "Its hash" }), el("dd", {}, el("code", { text: v.verified_through.hash })),
        el("dt", { text: "Head" }), el("dd", { text: "event " + v.head.tenant_seq + " at position " + v.head.position }),
        el("dt", { text: "Walked at" }), el("dd", { text: when(v.verified_at) }))));
      var cp = v.checkpoint;
      append(area, el("div", { class: "card", id: "checkpoint" }, el("h2", { text: "Last signed checkpoint" }),
        cp ? el("dl", { class: "kv" },
          el("dt", { text: "Signs" }), el("dd", { text: "event " + cp.tenant_seq }),
          el("dt", { text: "Hash" }), el("dd", {}, el("code", { text: cp.hash })),
          el("dt", { text: "Signed at" }), el("dd", { text: when(cp.signed_at) }),
          el("dt", { text: "Key (Ed25519)" }), el("dd", {}, el("code", { id: "checkpoint-key", text: cp.public_key })),
          el("dt", { text: "Signature" }), el("dd", {}, el("span", { class: "badge " + (cp.signature_valid ? "ok" : "bad"), text: cp.signature_valid ? "valid" : "does not verify" })),
          el("dt", { text: "Chain still holds it" }), el("dd", {}, el("span", { class: "badge " + (cp.confirmed ? "ok" : "bad"), text: cp.confirmed ? "yes" : "no" })),
          el("dt", { text: "This installation's key" }), el("dd", { id: "installation-key", text: cp.installation_key === null ? "unknown here (compare with `rollcall replay pubkey`)" : (cp.installation_key ? "yes" : "no: another key signed it") }))
          : el("p", { class: "muted", text: "None yet: the server signs the heads that moved every checkpoint interval (30 s by default)." })));
      append(area, el("p", { class: "muted", text: "To check it yourself, offline: `rollcall replay verify --tenant " + v.tenant_id + "`, or scripts/check_chain.py over an export." }));
    }, function (e) { clear(area); append(area, errorBox(e)); });
  }

  // ---------- Accept (the invitation link) ----------

  var leads = {
    "invitation-expired": "This invitation has expired. Ask the team's admin to send it again.",
    "invitation-used": "This invitation was already accepted.",
    "invitation-canceled": "This invitation was withdrawn.",
    "invitation-superseded": "A newer invitation was sent to you: use the link in the newest message.",
    "invalid-token": "This link is not a valid invitation. Copy the whole link from the message.",
    "not-found": "This invitation no longer exists.",
    "unavailable": "The service is busy right now. Try again in a moment."
  };

  function renderAccept() {
    var token = new URLSearchParams(window.location.search).get("token");
    window.history.replaceState(null, "", window.location.pathname);
    page("Accept your invitation", "You were invited to join a team. Accept to become a member.");
    var button = el("button", { id: "accept", type: "button", text: "Accept the invitation" });
    var outcome = el("p", { id: "outcome", role: "status" });
    var detail = el("p", { id: "detail", class: "muted" });
    append(main, el("div", { class: "card" }, el("p", {}, button), outcome, detail));
    function say(text, more, kind) { outcome.textContent = text; detail.textContent = more || ""; outcome.className = kind || ""; }
    if (!token) {
      button.disabled = true;
      say("This link holds no invitation. Open the link from your invitation message as it is.", "", "error");
      return;
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      say("Accepting…");
      api("POST", "/invitations/accept", { token: token }, { anonymous: true }).then(function () {
        token = null;
        say("Your invitation is accepted: you are now a member of the team. You may close this page.", "", "okay");
        append(main, el("p", {}, "Admins sign in to the ", el("a", { href: "console", text: "console" }), " with their member token."));
      }, function (e) {
        say(leads[e.slug] || "The invitation could not be accepted.", e.message, "error");
        button.disabled = !(e.status >= 500 || !e.status);
      });
    });
    button.focus();
  }

  // ---------- routing ----------

  function parseHash() {
    var hash = location.hash.replace(/^#\/?/, "");
    var q = hash.indexOf("?");
    var path = q >= 0 ? hash.slice(0, q) : hash;
    var params = {};
    if (q >= 0) new URLSearchParams(hash.slice(q + 1)).forEach(function (v, k) { params[k] = v; });
    return { parts: path.split("/").filter(Boolean), params: params };
  }

  function route() {
    if (!session) { renderSignIn(""); return; }
    var h = parseHash();
    var name = h.parts[0] || "team";
    Array.prototype.forEach.call(nav.querySelectorAll("a"), function (a) {
      if (a.getAttribute("data-page") === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    if (name === "invite") renderInvite();
    else if (name === "member" && h.parts[1]) renderMember(h.parts[1]);
    else if (name === "audit") renderAudit(h.params);
    else if (name === "asof") renderAsOf(h.params);
    else if (name === "integrity") renderIntegrity();
    else renderTeam(h.params);
  }

  if (/\/accept$/.test(window.location.pathname)) {
    renderAccept();
    return;
  }
  loadSession();
  if (session) signedIn();
  // Each page reads the catalog and the signed-in member afresh: the plan, the
  // catalog or one's own rights may have changed elsewhere.
  window.addEventListener("hashchange", function () {
    toastBox.textContent = "";
    cache.context = null;
    cache.grants = null;
    route();
  });
  route();
})();
