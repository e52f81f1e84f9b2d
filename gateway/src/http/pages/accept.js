"use strict";
// The accept page's script. The token is read from the address once and then
// goes only into the body of one POST: it is removed from the address bar and
// the history at once, never written into the page, never sent anywhere else.
(function () {
  var token = new URLSearchParams(window.location.search).get("token");
  window.history.replaceState(null, "", window.location.pathname);
  var button = document.getElementById("accept");
  var outcome = document.getElementById("outcome");
  var detail = document.getElementById("detail");

  function say(text, more, kind) {
    outcome.textContent = text;
    detail.textContent = more || "";
    outcome.className = kind;
  }

  var leads = {
    "invitation-expired": "This invitation has expired. Ask the team's admin to send it again.",
    "invitation-used": "This invitation was already accepted.",
    "invitation-canceled": "This invitation was withdrawn.",
    "invitation-superseded": "A newer invitation was sent to you: use the link in the newest message.",
    "invalid-token": "This link is not a valid invitation. Copy the whole link from the message.",
    "not-found": "This invitation no longer exists.",
    "unavailable": "The service is busy right now. Try again in a moment."
  };

  function explain(problem) {
    var slug = String(problem.type || "").split("/").pop();
    return leads[slug] || "The invitation could not be accepted.";
  }

  if (!token) {
    button.disabled = true;
    say("This link holds no invitation. Open the link from your invitation message as it is.", "", "error");
    return;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say("Accepting…", "", "");
    fetch(new URL("v1/invitations/accept", window.location.href), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token }),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.ok) {
          say("Your invitation is accepted: you are now a member of the team. You may close this page.", "", "ok");
        } else {
          say(explain(answer), answer.detail, "error");
          button.disabled = response.status < 500;
        }
      });
    }, function () {
      say("The service could not be reached. Check your connection and try again.", "", "error");
      button.disabled = false;
    });
  });
})();
