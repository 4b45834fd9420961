/* Uploads with progress; big photos are shrunk in the browser first (progressive enhancement).
   form[data-upload] holds one input[type=file], progress.upload-progress[hidden] and an
   aria-live [data-upload-status]; its texts come from data-msg-shrinking, data-msg-sending
   ("{percent}" is replaced, else the number is appended) and data-msg-failed.
   Without FormData or XHR upload events nothing is bound and the form submits as usual. */
(() => {
  "use strict";
  const MAX_SIDE = 2000, MAX_BYTES = 1 << 20, PHOTO = /^image\/(jpeg|png)$/;
  const canShrink = !!(window.HTMLCanvasElement && HTMLCanvasElement.prototype.toBlob);

  const viaImg = (file) => new Promise((resolve, reject) => {
    const img = new Image(), url = URL.createObjectURL(file);
    img.onload = () => resolve({src: img, w: img.naturalWidth, h: img.naturalHeight, done: () => URL.revokeObjectURL(url)});
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("decode")); };
    img.src = url;
  });

  const decode = async (file) => {
    try {
      const b = await createImageBitmap(file, {imageOrientation: "from-image"});
      return {src: b, w: b.width, h: b.height, done: () => b.close()};
    } catch (e) {
      return viaImg(file); // no createImageBitmap, or one that does not know EXIF orientation
    }
  };

  // [blob, name] to send instead of the file, or null to send the file as it is.
  const shrink = async (file) => {
    if (!canShrink || !PHOTO.test(file.type)) return null;
    try {
      const pic = await decode(file);
      const scale = Math.min(1, MAX_SIDE / Math.max(pic.w, pic.h));
      if (scale === 1 && file.size <= MAX_BYTES) { pic.done(); return null; }
      const canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
      canvas.width = Math.round(pic.w * scale);
      canvas.height = Math.round(pic.h * scale);
      ctx.fillStyle = "#fff"; // transparent PNG areas become paper, not black
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(pic.src, 0, 0, canvas.width, canvas.height);
      pic.done();
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      canvas.width = canvas.height = 0;
      return blob && blob.size < file.size ? [blob, file.name.replace(/\.[^.]*$/, "") + ".jpg"] : null;
    } catch (e) {
      return null; // e.g. a HEIC photo this browser cannot read: the server converts it
    }
  };

  const bind = (form) => {
    if (form.uploadBound) return;
    form.uploadBound = true;
    const $ = (selector) => form.querySelector(selector);
    const input = $("input[type=file]"), bar = $("progress.upload-progress"), status = $("[data-upload-status]");
    let busy = false;
    const say = (key, percent) => {
      let text = form.getAttribute("data-msg-" + key) || "";
      if (percent != null) text = text.includes("{percent}") ? text.replace("{percent}", percent) : `${text} ${percent} %`;
      if (status) status.textContent = text;
    };
    const show = (value) => { // a number, null for "busy" (indeterminate) or false to hide
      if (!bar) return;
      bar.hidden = value === false;
      if (typeof value === "number") { bar.max = 100; bar.value = value; } else bar.removeAttribute("value");
    };
    const failed = () => { busy = false; show(false); say("failed"); };

    form.addEventListener("submit", async (event) => {
      const file = input && input.files.length === 1 ? input.files[0] : null;
      if (!file || event.defaultPrevented) return; // nothing chosen: the server says so
      event.preventDefault();
      if (busy) return;
      busy = true;
      const data = new FormData(form, event.submitter);
      const action = new URL(form.getAttribute("action") || location.href, location.href).href.split("#")[0];
      show(null);
      if (canShrink && PHOTO.test(file.type)) say("shrinking");
      const smaller = await shrink(file);
      if (smaller) data.set(input.name, smaller[0], smaller[1]);

      const xhr = new XMLHttpRequest();
      xhr.open("POST", action);
      xhr.setRequestHeader("Accept", "text/html");
      xhr.setRequestHeader("X-Eopen-Upload", "1"); // the server answers a success with where to go next
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const percent = Math.floor(e.loaded / e.total * 100);
        show(percent);
        say("sending", percent);
      };
      xhr.onload = () => {
        const next = xhr.getResponseHeader("X-Eopen-Location");
        if (next) { // go there (loaded once, so its flash messages are shown)
          const target = new URL(next, location.href);
          if (target.href.split("#")[0] !== location.href.split("#")[0]) return location.assign(target.href);
          location.hash = target.hash; // the same page: a new hash alone would not reload it
          return location.reload();
        }
        const url = xhr.responseURL || action;
        if (url !== action || (xhr.status >= 200 && xhr.status < 300)) {
          return window.location.assign(url); // success ends in a redirect (303): go there
        }
        const html = /text\/html/.test(xhr.getResponseHeader("Content-Type") || "");
        const doc = html ? new DOMParser().parseFromString(xhr.responseText, "text/html") : null;
        const fresh = doc && doc.querySelector("main"), main = document.querySelector("main");
        if (!fresh || !main) return failed();
        main.replaceWith(fresh); // the same page again, with the error summary and messages
        if (doc.title) document.title = doc.title;
        init(fresh);
        if (window.htmx) window.htmx.process(fresh);
        const summary = fresh.querySelector(".error-summary");
        if (summary) {
          if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
          summary.focus();
        }
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = failed; // the form is untouched: just send again
      show(0);
      say("sending", 0);
      xhr.send(data);
    });
  };

  const init = (root) => root.querySelectorAll("form[data-upload]").forEach(bind);

  if (!(window.FormData && FormData.prototype.set && window.Promise && "upload" in new XMLHttpRequest())) return;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init(document));
  else init(document);
})();
