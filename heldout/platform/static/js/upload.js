// The submit form, sent by XHR so a large file shows its upload progress, and the "check my file" dry run
// answered in place. Without JavaScript (or on any surprise) the form posts as a plain HTML form.
(function () {
  "use strict";
  const form = document.getElementById("submit-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const progress = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const buttons = form.querySelectorAll("button[type=submit]");
  // Code challenges: the check runs the code, and what it printed is shown under the form.
  const checkLogs = document.getElementById("check-logs");

  function showLogs(text) {
    if (!checkLogs) return;
    checkLogs.hidden = typeof text !== "string";
    checkLogs.querySelector("pre").textContent = text || "(it printed nothing)";
  }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("flash", Boolean(text));
    status.classList.toggle("error", Boolean(isError));
    status.setAttribute("role", isError ? "alert" : "status");
  }

  function busy(on) {
    buttons.forEach(function (b) { b.disabled = on; b.setAttribute("aria-busy", on ? "true" : "false"); });
  }

  form.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    const checking = Boolean(submitter && submitter.hasAttribute("formaction"));
    const url = checking ? submitter.formAction : form.action;
    if (!form.file.files.length) return; // the browser's own "required" message does the talking
    event.preventDefault();

    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      progress.hidden = false;
      progress.value = Math.round((100 * e.loaded) / e.total);
      say((checking ? "Sending for a check: " : "Uploading: ") + progress.value + "%", false);
    });
    xhr.upload.addEventListener("load", function () {
      progress.value = 100;
      say(checking ? (checkLogs ? "Running your code on the public example data (at most 30 s)…" : "Checking your file…")
                   : "Uploaded; creating the submission…", false);
    });
    xhr.addEventListener("load", function () {
      busy(false);
      progress.hidden = true;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      if (xhr.status === 413) return say("The file is larger than the server accepts.", true);
      if (!body) return say("The server answered unexpectedly (HTTP " + xhr.status + "). Reload the page and try again.", true);
      if (checking) showLogs(body.logs !== undefined ? body.logs : (body.details || {}).logs);
      // The message already names the column and rows where there are any.
      if (xhr.status >= 400) return say(body.message, true);
      if (checking) return say("✓ " + body.message + " Nothing was scored and your quota is unchanged.", false);
      window.location.assign(body.url);
    });
    xhr.addEventListener("error", function () {
      busy(false);
      progress.hidden = true;
      say("The upload did not reach the server. Check your connection and try again.", true);
    });
    busy(true);
    showLogs(undefined);
    progress.value = 0;
    progress.hidden = false;
    xhr.send(new FormData(form));
  });
})();
